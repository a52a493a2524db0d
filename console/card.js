// The visitor card beside the dialog: facts, editable name/email/phone and their errors.
import { state, openVisitor } from './state.js';
import { $, el, dayTime, fillAvatar, link } from './util.js';
import { act } from './net.js';

export const CARD_FIELDS = ['name', 'email', 'phone'];

// The card's facts as a <dl> (the full card view shows them too).
export function facts(dl, card) {
  const rows = [];
  const add = (label, value) => {
    if (value == null || value === '') return;
    const dt = el('dt', null, label);
    const dd = el('dd');
    if (value instanceof Node) dd.append(value); else dd.textContent = value;
    rows.push(dt, dd);
  };
  const page = card.current_page;
  if (page && page.url) {
    const a = link(page.url, page.title || page.url);
    a.dataset.testid = 'card-page';
    add('Current page', a);
  }
  if (card.first_referrer) add('First referrer', link(card.first_referrer));
  add('Device', card.device ? card.device[0].toUpperCase() + card.device.slice(1) : '');
  add('Browser / OS', [card.browser, card.os].filter(Boolean).join(' · '));
  add('Visits', card.visits != null ? String(card.visits) : '');
  add('Last seen', card.last_seen ? dayTime(card.last_seen) : '');
  if (Array.isArray(card.segments) && card.segments.length) {
    const chips = el('span', 'chips');
    chips.dataset.testid = 'card-segments';
    chips.append(...card.segments.map(s => el('span', 'chip seg', typeof s === 'string' ? s : (s && (s.name || s.id)) || '')));
    add('Segments', chips);
  }
  dl.replaceChildren(...rows);
}

export function renderCard() {
  const vid = openVisitor();
  const card = state.cards.get(vid);
  const d = state.summaries.get(state.openId) || {};
  const name = (card && card.display_name) || d.visitor_name || 'Visitor';
  $('card-title').textContent = name;
  fillAvatar($('card-avatar'), name, card ? card.avatar : d.visitor_avatar);
  $('full-card-link').href = '#visitor/' + encodeURIComponent(vid || '');
  for (const field of CARD_FIELDS) {
    const input = $('card-' + field);
    input.disabled = !card;
    const err = $('card-error').dataset.field === field && $('card-error').textContent;
    const saved = card ? card[field] || '' : '';
    if (input.dataset.sent != null && input.dataset.sent.toLowerCase() === saved.toLowerCase()) delete input.dataset.sent;
    // Keep what the operator is typing, what is on its way, and what was refused.
    if (!card) input.value = '';
    else if (document.activeElement !== input && !err && input.dataset.sent == null) input.value = saved;
    input.dataset.saved = saved;
  }
  facts($('facts'), card || {});
}

export function saveField(input) {
  const vid = openVisitor();
  const field = input.dataset.field;
  const value = input.value.trim();
  if (!vid || !state.cards.has(vid) || value === (input.dataset.saved || '')) {
    if ($('card-error').dataset.field === field && value === (input.dataset.saved || '')) clearCardError();
    return;
  }
  if (value === input.dataset.sent) return; // Enter then blur: sent once
  input.dataset.sent = value;
  if ($('card-error').dataset.field === field) clearCardError();
  state.pendingEdits.push({ visitor_id: vid, field, value });
  act({ type: 'visitor_update', visitor_id: vid, [field]: value }, 'card');
}

export function showCardError(field, text) {
  const p = $('card-error');
  p.textContent = text;
  p.dataset.field = field;
  const input = $('card-' + field);
  delete input.dataset.sent;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', 'card-error');
  input.closest('label').after(p);
}

export function clearCardError() {
  const p = $('card-error');
  p.textContent = '';
  delete p.dataset.field;
  for (const f of CARD_FIELDS) {
    $('card-' + f).removeAttribute('aria-invalid');
    $('card-' + f).removeAttribute('aria-describedby');
  }
}

// Another visitor's card: no error or unconfirmed edit carries over.
export function resetCard() {
  clearCardError();
  for (const f of CARD_FIELDS) delete $('card-' + f).dataset.sent;
}

// Shows or hides the card pane where it overlays the dialog (narrow windows).
export function toggleCard(on) {
  const show = on == null ? !$('app').classList.contains('show-card') : on;
  $('app').classList.toggle('show-card', show);
  $('card-toggle').setAttribute('aria-expanded', String(show));
}
