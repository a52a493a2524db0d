// The visitor card beside the dialog: facts, editable name/email/phone and their errors.
import { state, openVisitor, visitorBlock, myName } from './state.js';
import { $, el, button, confirmButton, dayTime, fillAvatar, link, toMs } from './util.js';
import { act, request } from './net.js';

export const CARD_FIELDS = ['name', 'email', 'phone'];

// The card's facts as a <dl> (the full card view shows them too).
export function facts(dl, card) {
  const rows = [];
  const add = (label, value, testid) => {
    if (value == null || value === '') return;
    const dt = el('dt', null, label);
    const dd = el('dd');
    if (testid) dd.dataset.testid = testid;
    if (value instanceof Node) dd.append(value); else dd.textContent = value;
    rows.push(dt, dd);
  };
  const page = card.current_page;
  if (page && page.url) {
    const a = link(page.url, page.title || page.url);
    a.dataset.testid = 'card-page';
    add('Current page', a);
  }
  if (card.first_referrer) add('First referrer', link(card.first_referrer), 'card-referrer');
  if (Array.isArray(card.segments) && card.segments.length) {
    const chips = el('span', 'chips');
    chips.dataset.testid = 'card-segments';
    chips.append(...card.segments.map(s => {
      const chip = el('span', 'chip seg', typeof s === 'string' ? s : (s && (s.name || s.segment_id)) || '');
      chip.dataset.testid = 'card-segment';
      return chip;
    }));
    add('Segments', chips);
  }
  if (card.external_id != null && card.external_id !== '') {
    const id = el('span', null, String(card.external_id));
    if (card.verified) {
      const mark = el('span', 'verified', '✓ verified');
      mark.dataset.testid = 'card-verified';
      mark.title = 'The shop signed this user id';
      id.append(' ', mark);
    }
    add('Shop user id', id, 'card-external-id');
  }
  add('Session started', card.session_started ? dayTime(toMs(card.session_started)) : '', 'card-session');
  const utm = card.utm && typeof card.utm === 'object'
    ? Object.entries(card.utm).filter(([, v]) => v != null && v !== '').map(([k, v]) => `${k}: ${v}`).join(' · ') : '';
  add('UTM', utm, 'card-utm');
  add('Search query', card.search_query, 'card-search');
  add('Country', card.country, 'card-country');
  add('Language', card.language, 'card-language');
  add('Device', card.device ? card.device[0].toUpperCase() + card.device.slice(1) : '');
  add('Browser / OS', [card.browser, card.os].filter(Boolean).join(' · '));
  add('Visits', card.visits != null ? String(card.visits) : '');
  add('Last seen', card.last_seen ? dayTime(card.last_seen) : '');
  const events = card.events && typeof card.events === 'object' ? Object.entries(card.events) : [];
  if (events.length) {
    const ul = el('ul', 'plain events');
    ul.dataset.testid = 'card-events';
    ul.append(...events.sort((a, b) => ((b[1] || {}).at || 0) - ((a[1] || {}).at || 0)).map(([name, e]) => {
      e = e || {};
      const li = el('li', null);
      li.dataset.testid = 'card-event';
      li.append(el('strong', null, name), ` ×${e.count ?? '?'}`);
      if (e.at) li.append(el('span', 'muted', ' · ' + dayTime(toMs(e.at))));
      const props = e.props && typeof e.props === 'object' ? Object.entries(e.props) : [];
      if (props.length) li.append(el('div', 'muted small', props.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')));
      return li;
    }));
    add('Events', ul);
  }
  dl.replaceChildren(...rows);
}

// Block / unblock under the card: what it shows follows the site's blocks.
function renderBlock(vid, card) {
  const slot = $('card-block-slot');
  const block = visitorBlock(vid);
  const key = vid + '|' + (block ? block.block_id : '') + '|' + !!state.proactive;
  if (slot.dataset.key === key) return;
  slot.dataset.key = key;
  $('card-block-status').textContent = '';
  const fail = text => { $('card-block-status').textContent = text; };
  if (!vid || !state.proactive) { slot.replaceChildren(); return; }
  if (block) {
    const b = el('span', 'muted small', 'Blocked.');
    b.dataset.testid = 'card-blocked';
    slot.replaceChildren(b, ' ', button('Unblock', 'small', 'card-unblock', () => request({ type: 'block_remove', block_id: block.block_id }, fail)));
  } else {
    slot.replaceChildren(confirmButton('Block visitor', 'card-block', 'Block them? They can no longer chat or be greeted.', 'Block', () => {
      const name = (card && card.display_name) || 'Visitor';
      request({ type: 'block_add', block: { kind: 'visitor', value: vid, note: `${name}, blocked by ${myName()}`.slice(0, 200) } }, fail);
    }, 'small danger'));
  }
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
  // Email copies: the visitor gets operators' unseen answers by email unless they unsubscribed.
  const mail = $('card-mail');
  mail.hidden = !(card && card.email && typeof card.mail_opt_out === 'boolean');
  mail.textContent = card && card.mail_opt_out ? 'Email copies: off (unsubscribed)' : 'Email copies: on';
  mail.classList.toggle('off', !!(card && card.mail_opt_out));
  facts($('facts'), card || {});
  renderBlock(vid, card);
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
