// Reply templates: the shared list, "/" suggestions in the reply box, placeholders, the manager.
import { state, myName, openVisitor } from './state.js';
import { $, el, button, dayTime, oneLine } from './util.js';
import { act } from './net.js';

export function onTemplates(list) {
  if (!Array.isArray(list)) return;
  state.templates = list;
  if (state.tplSaving) {
    state.tplSaving = false;
    $('tpl-save-form').hidden = true;
    $('template-shortcut').value = '';
    $('tpl-save-error').textContent = '';
  }
  if (state.tplEdit && state.tplEdit.saving) state.tplEdit = null;
  $('tpl-error').textContent = '';
  renderTemplates();
  if (!$('suggest').hidden) updateSuggest();
}

function fillTemplate(text) {
  const card = state.cards.get(openVisitor()) || {};
  const values = {
    'visitor.name': card.name, 'visitor.email': card.email, 'visitor.phone': card.phone,
    'operator.name': myName(), 'site.name': state.site.name,
  };
  return String(text).replace(/\{(visitor\.name|visitor\.email|visitor\.phone|operator\.name|site\.name)\}/g,
    (_, k) => values[k] || '');
}

// ---------- suggestions ----------

export function updateSuggest() {
  const input = $('reply-input');
  const m = /^\/(\S*)$/.exec(input.value);
  if (!m || !state.templates.length) { closeSuggest(); return; }
  const q = m[1].toLowerCase();
  const scored = state.templates
    .map(t => ({ t, s: t.shortcut.toLowerCase().startsWith(q) ? 0 : t.shortcut.toLowerCase().includes(q) ? 1 : t.text.toLowerCase().includes(q) ? 2 : 3 }))
    .filter(x => x.s < 3).sort((a, b) => a.s - b.s || a.t.shortcut.localeCompare(b.t.shortcut));
  const items = scored.slice(0, 8).map(x => x.t);
  if (!items.length) { closeSuggest(); return; }
  state.suggest = { items, active: 0 };
  renderSuggest();
}

function renderSuggest() {
  const ul = $('suggest');
  const { items, active } = state.suggest;
  ul.replaceChildren(...items.map((t, i) => {
    const li = el('li', 'opt');
    li.id = 'sug-' + i;
    li.dataset.testid = 'template-option';
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === active));
    li.append(el('strong', null, '/' + t.shortcut), el('span', 'muted', ' ' + oneLine(t.text)));
    li.addEventListener('mousedown', e => { e.preventDefault(); pickSuggest(i); });
    return li;
  }));
  ul.hidden = false;
  $('reply-input').setAttribute('aria-expanded', 'true');
  $('reply-input').setAttribute('aria-activedescendant', 'sug-' + active);
}

export function closeSuggest() {
  $('suggest').hidden = true;
  $('suggest').replaceChildren();
  state.suggest = { items: [], active: 0 };
  $('reply-input').setAttribute('aria-expanded', 'false');
  $('reply-input').removeAttribute('aria-activedescendant');
}

function pickSuggest(i) {
  const t = state.suggest.items[i];
  closeSuggest();
  if (!t) return;
  const input = $('reply-input');
  input.value = fillTemplate(t.text);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

// Keys for the open suggestion list; true when the key was used.
export function onSuggestKey(e) {
  if ($('suggest').hidden) return false;
  const s = state.suggest;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    s.active = (s.active + (e.key === 'ArrowDown' ? 1 : -1) + s.items.length) % s.items.length;
    renderSuggest();
  } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') pickSuggest(s.active);
  else if (e.key === 'Escape') closeSuggest();
  else return false;
  e.preventDefault();
  e.stopPropagation();
  return true;
}

// ---------- saving and the manager ----------

export function saveAsTemplate(e) {
  e.preventDefault();
  const shortcut = $('template-shortcut').value.trim().replace(/^\//, '');
  const text = $('reply-input').value.trim();
  if (!shortcut) { $('tpl-save-error').textContent = 'Give the template a shortcut.'; return; }
  if (!text) { $('tpl-save-error').textContent = 'Write the template text in the reply box first.'; return; }
  $('tpl-save-error').textContent = '';
  state.tplSaving = true;
  act({ type: 'template_save', shortcut, text }, 'tpl-save');
}

export function renderTemplates() {
  const ul = $('tpl-list');
  const edit = state.tplEdit;
  const rows = state.templates.map(t => {
    const li = el('li', 'tpl');
    li.dataset.testid = 'template-row';
    li.dataset.templateId = t.template_id;
    if (edit && edit.id === t.template_id) { li.append(templateForm(edit)); return li; }
    const head = el('div', 'tpl-head');
    head.append(el('strong', null, '/' + t.shortcut), el('span', 'spacer'),
      button('Edit', 'small', 'template-edit', () => {
        state.tplEdit = { id: t.template_id, shortcut: t.shortcut, text: t.text, faq: !!t.faq, keywords: typeof t.keywords === 'string' ? t.keywords : '' };
        renderTemplates();
        focusTplForm();
      }),
      button('Delete', 'small danger', 'template-delete', () => act({ type: 'template_delete', template_id: t.template_id }, 'tpl')));
    if (t.faq) {
      const faq = el('span', 'chip faq', 'FAQ');
      faq.dataset.testid = 'template-faq';
      faq.title = 'The bot may answer with it';
      head.firstChild.after(' ', faq);
    }
    const meta = t.updated_by ? `${t.updated_by} · ${dayTime(t.updated_at)}` : '';
    li.append(head, el('p', 'tpl-text', t.text));
    if (typeof t.keywords === 'string' && t.keywords.trim()) {
      const kw = el('p', 'small tpl-keywords', 'Keywords: ' + t.keywords);
      kw.dataset.testid = 'template-keywords';
      li.append(kw);
    }
    li.append(el('p', 'muted small', meta));
    return li;
  });
  if (edit && !edit.id) {
    const li = el('li', 'tpl');
    li.append(templateForm(edit));
    rows.unshift(li);
  }
  if (!rows.length) rows.push(el('li', 'muted', 'No templates yet. Write a reply and use "Save as template".'));
  ul.replaceChildren(...rows);
}

function templateForm(edit) {
  const f = el('form', 'tpl-form');
  const sc = el('input');
  sc.value = edit.shortcut;
  sc.maxLength = 40;
  sc.spellcheck = true;
  sc.dataset.testid = 'template-edit-shortcut';
  sc.addEventListener('input', () => { edit.shortcut = sc.value; });
  const tx = el('textarea');
  tx.value = edit.text;
  tx.rows = 4;
  tx.spellcheck = true;
  tx.dataset.testid = 'template-edit-text';
  tx.addEventListener('input', () => { edit.text = tx.value; });
  const l1 = el('label', null, 'Shortcut ');
  l1.append(sc);
  const l2 = el('label', null, 'Text ');
  l2.append(tx);
  const faq = el('input');
  faq.type = 'checkbox';
  faq.checked = !!edit.faq;
  faq.dataset.testid = 'template-edit-faq';
  faq.addEventListener('change', () => { edit.faq = faq.checked; });
  const l3 = el('label', 'check');
  l3.append(faq, ' FAQ (the bot may answer with it)');
  const kw = el('input');
  kw.value = edit.keywords || '';
  kw.maxLength = 300;
  kw.spellcheck = true;
  kw.placeholder = 'e.g. delivery shipping courier';
  kw.dataset.testid = 'template-edit-keywords';
  kw.addEventListener('input', () => { edit.keywords = kw.value; });
  const l4 = el('label', null, 'Keywords the bot also matches ');
  l4.append(kw);
  const save = el('button', 'primary small', 'Save');
  save.type = 'submit';
  save.dataset.testid = 'template-edit-save';
  const bar = el('div', 'tpl-head');
  bar.append(save, button('Cancel', 'small', null, () => { state.tplEdit = null; renderTemplates(); }));
  f.append(l1, l2, l3, l4, bar);
  f.addEventListener('submit', e => {
    e.preventDefault();
    const shortcut = edit.shortcut.trim().replace(/^\//, '');
    const text = edit.text.trim();
    if (!shortcut || !text) { $('tpl-error').textContent = 'A template needs a shortcut and a text.'; return; }
    const keywords = String(edit.keywords || '').trim();
    if (keywords.length > 300) { $('tpl-error').textContent = 'Keywords are 300 characters at most.'; return; }
    edit.saving = true;
    const frame = { type: 'template_save', shortcut, text, faq: !!edit.faq, keywords };
    if (edit.id) frame.template_id = edit.id;
    act(frame, 'tpl');
  });
  return f;
}

export function focusTplForm() {
  const i = $('tpl-list').querySelector('.tpl-form input');
  if (i) i.focus();
}
