// The full visitor card (#visitor/<id>): facts, the visitor's dialogs, edits, page views.
import { state } from './state.js';
import { $, el, button, dayTime, oneLine, fillAvatar, link } from './util.js';
import { send } from './net.js';
import { CARD_FIELDS, facts } from './card.js';
import { boundaryText } from './feed.js';
import { openDialog } from './dialog.js';

// Shows the full card of `vid`, or hides it (null).
export function showFull(vid) {
  const on = !!vid;
  $('full').hidden = !on;
  if (!on) { state.full = null; return; }
  if (!state.full || state.full.visitor_id !== vid) {
    state.full = { visitor_id: vid, events: [], cursor: null };
    renderFull();
    send({ type: 'visitor', visitor_id: vid });
    requestEvents(true);
  }
  $('full-back').focus();
}

export function requestEvents(fresh) {
  const full = state.full;
  if (!full) return;
  if (fresh) full.reset = true;
  const frame = { type: 'visitor_events', visitor_id: full.visitor_id };
  if (!fresh && full.cursor) frame.cursor = full.cursor;
  send(frame);
}

export function onEvents(f) {
  const full = state.full;
  if (!full || f.visitor_id !== full.visitor_id) return;
  if (full.reset) { full.events = []; full.reset = false; }
  full.events.push(...(Array.isArray(f.events) ? f.events : []));
  full.cursor = f.cursor || null;
  renderFull();
}

export function renderFull() {
  const full = state.full;
  if (!full) return;
  const card = state.cards.get(full.visitor_id) || {};
  const name = card.display_name || 'Visitor';
  $('full-title').textContent = name;
  fillAvatar($('full-avatar'), name, card.avatar);
  facts($('full-facts'), card);
  const extra = [];
  for (const k of CARD_FIELDS) {
    if (card[k]) extra.push(el('dt', null, k[0].toUpperCase() + k.slice(1)), el('dd', null, card[k]));
  }
  $('full-facts').prepend(...extra);
  const dialogs = state.visitorDialogs.get(full.visitor_id) || [];
  $('full-dialogs').replaceChildren(...dialogs.map(d => {
    const li = el('li');
    const b = button(`${boundaryText(d)} — ${oneLine(d.last_text) || 'no messages'}`, 'linkish', 'full-dialog', () => {
      location.hash = '';
      openDialog(d.dialog_id);
    });
    li.append(b);
    return li;
  }));
  if (!dialogs.length) $('full-dialogs').append(el('li', 'muted', 'No dialogs.'));
  renderEvents(full.events);
  $('events-more').hidden = !full.cursor;
}

function renderEvents(events) {
  const edits = [];
  const views = [];
  for (const ev of events) {
    const li = el('li', 'event');
    li.append(el('span', 'when muted', dayTime(ev.at)), ' ');
    if (ev.kind === 'edit') {
      li.dataset.testid = 'edit-event';
      li.append(el('strong', null, ev.field || ''), ': ',
        el('span', 'old', ev.old == null || ev.old === '' ? '(empty)' : String(ev.old)), ' → ',
        el('span', 'new', ev.new == null || ev.new === '' ? '(empty)' : String(ev.new)),
        el('span', 'muted', ev.by ? ' · by ' + ev.by : ''));
    } else if (ev.kind === 'event') { // Parley.track on the site
      li.dataset.testid = 'custom-event';
      const props = ev.props && typeof ev.props === 'object' ? Object.entries(ev.props) : [];
      li.append(el('strong', null, String(ev.name || 'event')),
        el('span', 'muted', props.length ? ' ' + props.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : ''));
    } else if (ev.kind === 'greeting') {
      li.dataset.testid = 'greeting-event';
      li.append(el('span', 'muted', ev.held_out ? 'Held out from a greeting: ' : 'Greeted: '), el('span', null, String(ev.text || '')));
    } else {
      li.dataset.testid = 'page-event';
      li.append(ev.url ? link(ev.url, ev.title || ev.url) : el('span', null, ev.kind || 'event'));
      if (ev.referrer) li.append(el('span', 'muted', ' from '), link(ev.referrer));
    }
    (ev.kind === 'edit' ? edits : views).push(li);
  }
  $('full-edits').replaceChildren(...(edits.length ? edits : [el('li', 'muted', 'No edits loaded.')]));
  $('full-events').replaceChildren(...(views.length ? views : [el('li', 'muted', 'No page views loaded.')]));
}
