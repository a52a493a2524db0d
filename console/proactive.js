// Proactive chat (#proactive): triggers with their statistics and editor, segments, blocks (the
// site's settings on the same page are settings.js). Every pushed `proactive` frame re-renders the
// lists; an open editor keeps what the operator typed.
import { state, operatorById, segmentName } from './state.js';
import { $, el, button, confirmButton, labelled, input, select, fillSelect } from './util.js';
import { send, request } from './net.js';
import { conditionEditor, describe } from './rules.js';
import { renderSettings, settingsSaved, resetSettings, wireSettings } from './settings.js';

const LOW_ACCEPTANCE = 3.5; // per cent (docs/proactive.md "Statistics")
const editors = { trigger: null, segment: null }; // the open one of each: {node, saving, refresh}
let blockSaving = false;
let statsAsked = 0;
let statsTimer = 0;

export function onProactive(f) {
  state.proactive = {
    triggers: Array.isArray(f.triggers) ? f.triggers : [], segments: Array.isArray(f.segments) ? f.segments : [],
    blocks: Array.isArray(f.blocks) ? f.blocks : [], settings: f.settings || {}, stats: f.stats || {},
  };
  // A save is answered with this frame (its refusal with an `error`, which reopens the editor).
  for (const kind of ['trigger', 'segment']) if (editors[kind] && editors[kind].saving) closeEditor(kind);
  settingsSaved();
  if (blockSaving) { blockSaving = false; $('block-value').value = ''; $('block-note').value = ''; }
  renderProactive();
}

// Statistics change without a pushed frame: asked for again after a `greeted`, at most every 10 s.
export function refreshStats() {
  if (state.view !== 'proactive' || statsTimer) return;
  statsTimer = setTimeout(() => {
    statsTimer = 0;
    statsAsked = Date.now();
    if (state.view === 'proactive') send({ type: 'proactive' });
  }, Math.max(0, statsAsked + 10000 - Date.now()));
}

export function showProactive(on) {
  $('proactive').hidden = !on;
  if (!on) return;
  wire();
  renderProactive();
  if (state.ready) { statsAsked = Date.now(); send({ type: 'proactive' }); }
}

export function resetProactive() {
  closeEditor('trigger');
  closeEditor('segment');
  blockSaving = false;
  resetSettings();
}

export function renderProactive() {
  const p = state.proactive;
  $('pro-loading').hidden = !!p;
  $('pro-body').hidden = !p;
  if (!p || $('proactive').hidden) return;
  renderTriggers(p);
  renderSegments(p);
  renderBlocks(p);
  renderSettings(p.settings);
  for (const e of Object.values(editors)) if (e) e.refresh();
}

// ---------- triggers ----------

const pct = (n, d) => (d > 0 ? (100 * n / d).toFixed(1) + ' %' : 'n/a');

// Shows `items` ([signature, make]) in `ul`, keeping the row of an unchanged item in place: a
// pushed frame does not undo an open "Delete?" question, nor move the focus.
function reconcile(ul, items, empty) {
  const old = new Map([...ul.children].map(li => [li._sig, li]));
  const rows = items.map(([sig, make]) => {
    let li = old.get(sig);
    old.delete(sig);
    if (!li) { li = make(); li._sig = sig; }
    return li;
  });
  if (!rows.length) rows.push(old.get('') || Object.assign(el('li', 'muted', empty), { _sig: '' }));
  for (const li of old.values()) if (!rows.includes(li)) li.remove();
  rows.forEach((li, i) => { if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null); });
}

function renderTriggers(p) {
  const goal = p.settings.goal_event;
  reconcile($('trigger-list'), p.triggers.map(t => [
    JSON.stringify([t, p.stats[t.trigger_id], goal, describe(t.match, segmentName), actionSummary(t.action)]),
    () => triggerRow(p, t),
  ]), 'No triggers yet.');
}

function triggerRow(p, t) {
  const s = p.stats[t.trigger_id] || {};
  const n = k => (typeof s[k] === 'number' ? s[k] : 0);
  const li = el('li', 'item');
  li.dataset.testid = 'trigger-row';
  li.dataset.triggerId = t.trigger_id;
  const on = input('trigger-enabled', { type: 'checkbox', checked: !!t.enabled });
  on.addEventListener('change', () => {
    $('trigger-list-error').textContent = '';
    request({ type: 'trigger_save', trigger: { ...pickTrigger(t), enabled: on.checked } }, text => {
      on.checked = !!t.enabled;
      $('trigger-list-error').textContent = text;
    });
  });
  const head = el('div', 'item-head');
  const name = el('strong', null, t.name || '(no name)');
  name.dataset.testid = 'trigger-name';
  head.append(name, labelled('Enabled', on, 'check small'), el('span', 'spacer'),
    button('Edit', 'small', 'trigger-edit', () => openTrigger(t)),
    confirmButton('Delete', 'trigger-delete', `Delete “${t.name}”?`, 'Delete',
      () => request({ type: 'trigger_delete', trigger_id: t.trigger_id }, text => { $('trigger-list-error').textContent = text; }), 'small danger'));
  const cond = el('p', 'small', 'When ' + describe(t.match, segmentName));
  const act = el('p', 'small muted', actionSummary(t.action) + (t.holdout_percent ? ` · ${t.holdout_percent} % held out` : ''));
  act.dataset.testid = 'trigger-action';
  const shown = n('shown');
  const stats = el('p', 'stats small');
  stats.dataset.testid = 'trigger-stats';
  const acc = el('span', null, 'acceptance ' + pct(n('accepted'), shown));
  acc.dataset.testid = 'trigger-acceptance';
  stats.append(`shown ${shown} · held out ${n('held_out')} · accepted ${n('accepted')} · `, acc);
  const goal = (p.settings && p.settings.goal_event) || 'purchase';
  const uplift = el('p', 'small', `Reached “${goal}”: shown ${pct(n('goal_shown'), shown)} (${n('goal_shown')} of ${shown}) · ` +
    `held out ${pct(n('goal_held'), n('held_out'))} (${n('goal_held')} of ${n('held_out')})`);
  uplift.dataset.testid = 'trigger-uplift';
  li.append(head, cond, act, stats, uplift);
  if (shown > 0 && 100 * n('accepted') / shown < LOW_ACCEPTANCE) {
    const w = el('p', 'warn small', `Acceptance is below ${LOW_ACCEPTANCE} %: this greeting interrupts many visitors and helps few. Consider other conditions or text, or turning it off.`);
    w.dataset.testid = 'trigger-warning';
    li.append(w);
  }
  if (!t.enabled) li.classList.add('off');
  return li;
}

function actionSummary(a) {
  if (!a || typeof a !== 'object') return '';
  if (a.kind === 'email') return `Email after ${a.delay_minutes ?? '?'} min: “${a.subject || ''}”`;
  const s = a.sender || {};
  const who = s.kind === 'operator' ? ((operatorById(s.operator_id) || {}).name || 'an operator') : 'the site';
  const open = [a.open_desktop && 'desktop', a.open_mobile && 'mobile'].filter(Boolean).join(' and ');
  return `Message from ${who}: “${a.text || ''}” · ${open ? 'opens the chat on ' + open : 'badge only'}`;
}

// Only the document's own keys go back (the server keeps its bookkeeping).
function pickTrigger(t) {
  const out = { name: t.name, enabled: !!t.enabled, match: t.match, action: t.action, holdout_percent: t.holdout_percent ?? 0 };
  if (t.trigger_id) out.trigger_id = t.trigger_id;
  return out;
}

const NEW_TRIGGER = () => ({
  name: '', enabled: true, match: { all: [] }, holdout_percent: 0,
  action: { kind: 'message', text: '', sender: { kind: 'site' }, open_desktop: true, open_mobile: false },
});

function openTrigger(t) {
  const src = t || NEW_TRIGGER();
  const a = src.action && typeof src.action === 'object' ? src.action : NEW_TRIGGER().action;
  const form = el('form', 'editor');
  form.dataset.testid = 'trigger-form';
  form.setAttribute('aria-label', t ? 'Edit trigger' : 'New trigger');
  const name = input('trigger-form-name', { value: src.name || '', maxLength: 80 });
  const enabled = input('trigger-form-enabled', { type: 'checkbox', checked: src.enabled !== false });
  const cond = conditionEditor(src.match, { fresh: !t, segments: () => state.proactive.segments });
  // The action: a message now, or an email later.
  const kind = select('action-kind', [['message', 'Show a message in the widget'], ['email', 'Send an email after the visitor left']], a.kind);
  const text = el('textarea');
  text.dataset.testid = 'action-text';
  text.rows = 3;
  text.maxLength = 500;
  text.value = a.text || '';
  const sender = select('action-sender', []);
  const senders = () => [['site', 'The site'], ...state.operators.map(o => [o.operator_id, o.name || o.operator_id])];
  fillSelect(sender, senders(), a.sender && a.sender.kind === 'operator' ? a.sender.operator_id : 'site');
  const desk = input('action-open-desktop', { type: 'checkbox', checked: a.kind !== 'email' ? a.open_desktop !== false : true });
  const mob = input('action-open-mobile', { type: 'checkbox', checked: !!a.open_mobile });
  const subject = input('action-subject', { value: a.subject || '', maxLength: 200 });
  const delay = input('action-delay', { type: 'number', min: 0, step: 1, value: a.delay_minutes ?? 60 });
  const holdout = input('trigger-holdout', { type: 'number', min: 0, max: 100, step: 1, value: src.holdout_percent ?? 0 });
  const msgPart = el('div', 'row-wrap');
  msgPart.append(labelled('From', sender), labelled('Open the chat on desktop', desk, 'check'), labelled('Open it on phones too', mob, 'check'));
  const mailPart = el('div', 'row-wrap');
  mailPart.append(labelled('Subject', subject), labelled('Delay, minutes', delay));
  const showKind = () => { msgPart.hidden = kind.value !== 'message'; mailPart.hidden = kind.value !== 'email'; };
  kind.addEventListener('change', showKind);
  showKind();
  const action = el('fieldset', 'action');
  action.append(el('legend', null, 'Action'), labelled('Kind', kind), labelled('Text', text), msgPart, mailPart,
    el('p', 'muted small', 'Placeholders: {visitor.name|there} {visitor.email} {page.title} {site.name} {operator.name}'));
  const num = i => (i.value.trim() === '' ? null : Number(i.value));
  const read = () => {
    const out = { name: name.value.trim(), enabled: enabled.checked, match: cond.read(), holdout_percent: num(holdout) };
    out.action = kind.value === 'email'
      ? { kind: 'email', subject: subject.value.trim(), text: text.value.trim(), delay_minutes: num(delay) }
      : {
        kind: 'message', text: text.value.trim(), open_desktop: desk.checked, open_mobile: mob.checked,
        sender: sender.value === 'site' ? { kind: 'site' } : { kind: 'operator', operator_id: sender.value },
      };
    if (t && t.trigger_id) out.trigger_id = t.trigger_id;
    return out;
  };
  const top = el('div', 'row-wrap');
  top.append(labelled('Name', name), labelled('Enabled', enabled, 'check'), labelled('Held out, % of sessions', holdout));
  openEditor('trigger', form, [top, cond.node, action], () => ({ type: 'trigger_save', trigger: read() }), () => {
    fillSelect(sender, senders());
    cond.refresh();
  });
  name.focus();
}

// ---------- segments ----------

function renderSegments(p) {
  reconcile($('segment-list'), p.segments.map(s => [JSON.stringify([s, describe(s.match, segmentName)]), () => segmentRow(s)]), 'No segments yet.');
}

function segmentRow(s) {
  const li = el('li', 'item');
  li.dataset.testid = 'segment-row';
  li.dataset.segmentId = s.segment_id;
  const head = el('div', 'item-head');
  const name = el('strong', null, s.name || s.segment_id);
  name.dataset.testid = 'segment-name';
  head.append(name, el('span', 'spacer'), button('Edit', 'small', 'segment-edit', () => openSegment(s)),
    confirmButton('Delete', 'segment-delete', `Delete “${s.name}”?`, 'Delete',
      () => request({ type: 'segment_delete', segment_id: s.segment_id }, text => { $('segment-list-error').textContent = text; }), 'small danger'));
  li.append(head, el('p', 'small', describe(s.match, segmentName)));
  return li;
}

function openSegment(s) {
  const form = el('form', 'editor');
  form.dataset.testid = 'segment-form';
  form.setAttribute('aria-label', s ? 'Edit segment' : 'New segment');
  const name = input('segment-form-name', { value: (s && s.name) || '', maxLength: 80 });
  const cond = conditionEditor(s ? s.match : { all: [] }, { forSegment: true, fresh: !s, segments: () => state.proactive.segments.filter(x => !s || x.segment_id !== s.segment_id) });
  const read = () => {
    const out = { name: name.value.trim(), match: cond.read() };
    if (s && s.segment_id) out.segment_id = s.segment_id;
    return out;
  };
  openEditor('segment', form, [labelled('Name', name), cond.node], () => ({ type: 'segment_save', segment: read() }), cond.refresh);
  name.focus();
}

// ---------- the editors' frame: save, cancel, the server's refusal ----------

function openEditor(kind, form, parts, frame, refresh) {
  const error = el('p', 'error', '');
  error.setAttribute('role', 'alert');
  error.dataset.testid = kind + '-error';
  const save = el('button', 'primary', 'Save');
  save.type = 'submit';
  save.dataset.testid = kind + '-save';
  const bar = el('div', 'row-wrap');
  bar.append(save, button('Cancel', null, kind + '-cancel', () => closeEditor(kind)));
  form.append(...parts, bar, error);
  const ed = { node: form, saving: false, refresh: refresh || (() => {}) };
  form.addEventListener('submit', e => {
    e.preventDefault();
    error.textContent = '';
    ed.saving = true;
    request(frame(), text => {
      ed.saving = false;
      if (editors[kind] !== ed) mount(kind, ed); // closed by a frame meanwhile: back, with the message
      error.textContent = text;
    });
  });
  mount(kind, ed);
}

function mount(kind, ed) {
  editors[kind] = ed;
  $(kind + '-editor').replaceChildren(ed.node);
  $(kind + '-new').hidden = true;
  ed.node.scrollIntoView({ block: 'nearest' });
}

function closeEditor(kind) {
  editors[kind] = null;
  $(kind + '-editor').replaceChildren();
  $(kind + '-new').hidden = false;
}

// ---------- blocks ----------

const BLOCK_HINT = { visitor: 'a visitor id, v_…', ip: 'e.g. 203.0.113.7 or 203.0.113.0/24', country: 'two letters, e.g. KP' };

function renderBlocks(p) {
  reconcile($('block-list'), p.blocks.map(b => [JSON.stringify([b, describe(b.value, segmentName)]), () => blockRow(b)]), 'No one is blocked.');
}

function blockRow(b) {
  const li = el('li', 'item item-head');
  li.dataset.testid = 'block-row';
  li.dataset.blockId = b.block_id;
  const value = b.kind === 'rule' ? describe(b.value, segmentName) : String(b.value ?? '');
  const v = b.kind === 'visitor' ? el('a', null, value) : el('span', null, value);
  if (b.kind === 'visitor') v.href = '#visitor/' + encodeURIComponent(value);
  v.dataset.testid = 'block-value';
  li.append(el('span', 'chip', b.kind), v, el('span', 'muted small', b.note || ''), el('span', 'spacer'),
    button('Unblock', 'small', 'block-remove', () => request({ type: 'block_remove', block_id: b.block_id }, text => { $('block-error').textContent = text; })));
  return li;
}

function onBlockSubmit(e) {
  e.preventDefault();
  const kind = $('block-kind').value;
  let value = $('block-value').value.trim();
  if (kind === 'country') value = value.toUpperCase();
  const note = $('block-note').value.trim();
  if (!value) { $('block-error').textContent = 'Say what to block.'; return; }
  $('block-error').textContent = '';
  blockSaving = true;
  request({ type: 'block_add', block: note ? { kind, value, note } : { kind, value } }, text => {
    blockSaving = false;
    $('block-error').textContent = text;
  });
}

let wired = false;
function wire() {
  if (wired) return;
  wired = true;
  $('trigger-new').addEventListener('click', () => openTrigger(null));
  $('segment-new').addEventListener('click', () => openSegment(null));
  $('block-form').addEventListener('submit', onBlockSubmit);
  $('block-kind').addEventListener('change', () => { $('block-value').placeholder = BLOCK_HINT[$('block-kind').value]; });
  $('block-value').placeholder = BLOCK_HINT.visitor;
  wireSettings();
}
