// Live visitors (#visitors): who is on the site now, kept current by pushed `live` (upsert) and
// `left` (remove) frames. Per visitor: their page and times (ticking), where they came from, their
// dialog, an invitation to chat, and blocking. Rows keep their place; new visitors come on top.
import { state, segmentName, myName } from './state.js';
import { $, el, button, confirmButton, labelled, link, avatar, duration, toMs, byId, oneLine } from './util.js';
import { send, request } from './net.js';
import { openDialog } from './dialog.js';

const COLS = ['Visitor', 'Current page', 'On site', 'On page', 'Source', 'Country', 'Device', 'Segments', 'Dialog', 'Actions'];
let ticker = 0;

export function requestMonitor() {
  state.livePending = []; // what is pushed meanwhile is applied over the snapshot
  send({ type: 'monitor' });
}

export function onMonitor(f) {
  const pending = state.livePending || [];
  state.livePending = null;
  state.live.clear();
  for (const v of Array.isArray(f.visitors) ? f.visitors : []) if (v && v.visitor_id) state.live.set(v.visitor_id, v);
  const table = $('mon-table');
  for (const tb of [...table.tBodies]) if (!state.live.has(tb.dataset.visitorId)) gone(tb);
  for (const v of state.live.values()) table.append(upsert(v)); // the snapshot's order
  for (const g of pending) (g.type === 'left' ? onLeft : onLive)(g);
  counts();
}

export function onLive(f) {
  const v = f.visitor;
  if (!v || !v.visitor_id) return;
  if (state.livePending) { state.livePending.push(f); return; }
  const isNew = !rowOf(v.visitor_id);
  state.live.set(v.visitor_id, v);
  const tb = upsert(v);
  if (isNew) $('mon-table').tBodies.length ? $('mon-table').tBodies[0].before(tb) : $('mon-table').append(tb);
  counts();
}

export function onLeft(f) {
  if (!f.visitor_id) return;
  if (state.livePending) { state.livePending.push(f); return; }
  state.live.delete(f.visitor_id);
  state.greeted.delete(f.visitor_id);
  const tb = rowOf(f.visitor_id);
  if (tb) gone(tb);
  counts();
}

export function onInvited(f) {
  if (state.lastAction && state.lastAction.type === 'invite') state.lastAction = null;
  const tb = rowOf(f.visitor_id);
  if (!tb || !tb._form) return;
  tb._form.status.textContent = f.delivered ? 'Sent.' : 'Not delivered: the visitor left.';
  if (f.delivered) tb._form.text.value = '';
}

export function onGreeted(f) {
  if (!f.visitor_id) return;
  state.greeted.set(f.visitor_id, f);
  const v = state.live.get(f.visitor_id);
  if (v) upsert(v);
}

// Segment names changed (a `proactive` frame): the chips follow.
export function refreshMonitor() {
  for (const v of state.live.values()) upsert(v);
}

export function showMonitor(on) {
  $('monitor').hidden = !on;
  clearInterval(ticker);
  ticker = 0;
  if (!on) return;
  if (state.ready) requestMonitor();
  tick();
  ticker = setInterval(tick, 1000);
}

function tick() {
  const now = Date.now();
  for (const td of $('mon-table').querySelectorAll('[data-since]')) td.textContent = duration(now - +td.dataset.since);
}

const rowOf = vid => byId($('mon-table'), 'visitor-id', vid);

function counts() {
  const n = state.live.size;
  $('mon-count').textContent = n === 1 ? '1 visitor now' : `${n} visitors now`;
  $('nav-live').textContent = n ? String(n) : '';
  $('mon-empty').hidden = $('mon-table').tBodies.length > 0;
}

// The visitor left: the row goes, unless an invitation is being written there.
function gone(tb) {
  if (!tb._form) tb.remove();
  else if (!tb.dataset.left) {
    tb.classList.add('left');
    tb.dataset.left = 'true';
    tb.rows[0].cells[0].firstChild.append(el('span', 'muted small', '(left)'));
  }
}

// Creates or updates a visitor's rows (a <tbody>: the facts, then the invitation form if open).
function upsert(v) {
  let tb = rowOf(v.visitor_id);
  if (!tb) tb = makeRow(v.visitor_id);
  delete tb.dataset.left;
  tb.classList.remove('left');
  tb._v = v;
  const tr = tb.rows[0];
  const c = i => tr.cells[i];
  const name = v.display_name || 'Visitor';
  const who = el('a', 'vname', name);
  who.href = '#visitor/' + encodeURIComponent(v.visitor_id);
  who.dataset.testid = 'monitor-name';
  const sub = [v.email, v.visits > 1 ? `${v.visits} visits` : v.visits === 1 ? 'first visit' : ''].filter(Boolean).join(' · ');
  const box = el('div', 'vcell');
  box.append(avatar(name, v.avatar), who, el('span', 'muted small', sub));
  c(0).replaceChildren(box);
  const page = v.current_page || {};
  const url = page.url ? link(page.url, page.url) : el('span', null, '');
  url.classList.add('url');
  url.title = page.url || '';
  const pg = el('div');
  pg.append(el('span', 'ptitle', page.title || (page.url ? '' : 'unknown')), url);
  c(1).replaceChildren(pg);
  since(c(2), v.session_started);
  since(c(3), v.page_started);
  c(4).textContent = v.source || 'direct';
  c(5).textContent = [v.country, v.language].filter(Boolean).join(' · ');
  c(6).textContent = [v.device, [v.browser, v.os].filter(Boolean).join(', ')].filter(Boolean).join(' · ');
  const segs = Array.isArray(v.segments) ? v.segments : [];
  const chips = el('span', 'chips');
  chips.append(...segs.map(id => el('span', 'chip seg', segmentName(id))));
  c(7).replaceChildren(...(segs.length ? [chips] : []));
  const g = state.greeted.get(v.visitor_id);
  if (v.in_dialog && v.dialog_id) {
    c(8).replaceChildren(button('Open dialog', 'small', 'monitor-dialog', () => goDialog(tb._v)));
  } else {
    const s = el('span', 'muted small', g ? (g.held_out ? 'held out' : 'greeted') : '—');
    if (g) s.title = oneLine(g.text);
    c(8).replaceChildren(s);
  }
  return tb;
}

function since(td, t) {
  const ms = toMs(t);
  if (typeof ms === 'number' && ms > 0) {
    td.dataset.since = ms;
    td.textContent = duration(Date.now() - ms);
  } else {
    delete td.dataset.since;
    td.textContent = '';
  }
}

function makeRow(vid) {
  const tb = el('tbody');
  tb.dataset.testid = 'monitor-row';
  tb.dataset.visitorId = vid;
  const tr = el('tr');
  const ids = ['monitor-visitor', 'monitor-page', 'monitor-time-site', 'monitor-time-page', 'monitor-source', 'monitor-country', 'monitor-device', 'monitor-segments', 'monitor-in-dialog', 'monitor-actions'];
  COLS.forEach((label, i) => {
    const td = el('td');
    td.dataset.label = label;
    td.dataset.testid = ids[i];
    tr.append(td);
  });
  const status = el('span', 'small');
  status.setAttribute('role', 'status');
  status.dataset.testid = 'monitor-status';
  const name = () => (tb._v && tb._v.display_name) || 'this visitor';
  tr.cells[9].append(
    button('Invite', 'small', 'monitor-invite', () => openInvite(tb)),
    confirmButton('Block', 'monitor-block', 'Block them? They can no longer chat or be greeted.', 'Block', () => {
      status.textContent = '';
      request({ type: 'block_add', block: { kind: 'visitor', value: vid, note: `${name()}, blocked by ${myName()}`.slice(0, 200) } }, text => { status.textContent = text; });
    }, 'small danger'),
    status);
  tb.append(tr);
  return tb;
}

function openInvite(tb) {
  if (tb._form) { tb._form.text.focus(); return; }
  const vid = tb.dataset.visitorId;
  const tr = el('tr', 'sub');
  const td = el('td');
  td.colSpan = COLS.length;
  const form = el('form', 'inline-form invite');
  form.dataset.testid = 'invite-form';
  const text = el('textarea');
  text.rows = 2;
  text.maxLength = 500;
  text.dataset.testid = 'invite-text';
  text.placeholder = 'Hi! Can I help you find something?';
  const status = el('span', 'small');
  status.setAttribute('role', 'status');
  status.dataset.testid = 'invite-status';
  const send = el('button', 'primary small', 'Send invitation');
  send.type = 'submit';
  send.dataset.testid = 'invite-send';
  form.append(labelled(`Invite ${(tb._v && tb._v.display_name) || 'the visitor'} to chat`, text), send,
    button('Close', 'small', 'invite-close', () => {
      tb._form = null;
      tr.remove();
      if (tb.dataset.left) tb.remove();
      counts();
    }), status);
  form.addEventListener('submit', e => {
    e.preventDefault();
    const t = text.value.trim();
    const n = [...t].length;
    if (!n || n > 500) { status.textContent = n ? 'An invitation is 500 characters at most.' : 'Write the invitation first.'; return; }
    status.textContent = 'Sending…';
    request({ type: 'invite', visitor_id: vid, text: t }, msg => { status.textContent = msg; });
  });
  text.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  td.append(form);
  tr.append(td);
  tb.append(tr);
  tb._form = { text, status };
  text.focus();
}

function goDialog(v) {
  // Known from the monitor only: a stub summary until the visitor's card brings the real one.
  if (!state.summaries.has(v.dialog_id)) {
    state.summaries.set(v.dialog_id, { dialog_id: v.dialog_id, visitor_id: v.visitor_id, visitor_name: v.display_name, last_seq: 0 });
  }
  location.hash = '';
  openDialog(v.dialog_id);
}
