// The dialog list: filter and paging, the summaries it shows, unread marks, filter options. Each
// row shows its dialog's routing state too (routing.js).
import { state, local, READ_KEY, myId, operatorById } from './state.js';
import { $, el, button, byId, relTime, fullTime, oneLine, fillAvatar, fillSelect } from './util.js';
import { send } from './net.js';
import { markMailed } from './feed.js';
import { updateRowRouting, renderRoutingHeader } from './routing.js';

export function subscribe(cursor) {
  const { status, assignee, tag, segment } = state.filter;
  const frame = { type: 'subscribe', status };
  if (assignee) frame.assignee = assignee;
  if (tag) frame.tag = tag;
  if (segment) frame.segment = segment;
  if (cursor) frame.cursor = cursor;
  state.pagingMore = !!cursor;
  send(frame);
}

export function setFilter(change) {
  Object.assign(state.filter, change);
  $('tab-open').setAttribute('aria-pressed', String(state.filter.status === 'open'));
  $('tab-closed').setAttribute('aria-pressed', String(state.filter.status === 'closed'));
  state.list.clear();
  state.cursor = null;
  renderList();
  subscribe();
}

export function matches(d) {
  const { status, assignee, tag, segment } = state.filter;
  if ((d.status || 'open') !== status) return false;
  const who = d.assignee && d.assignee.operator_id;
  if (assignee === 'me' ? who !== myId() : assignee === 'none' ? !!who : assignee && who !== assignee) return false;
  if (tag && !(d.tags || []).includes(tag)) return false;
  if (!segment) return true;
  // Membership as last known (summary, live visitor, card); unknown: keep what the server listed.
  const ids = segmentsOf(d);
  return ids ? ids.includes(segment) : state.list.has(d.dialog_id);
}

// The segment ids a dialog's visitor is in, or null when this console does not know.
export function segmentsOf(d) {
  const card = state.cards.get(d.visitor_id);
  const live = state.live.get(d.visitor_id);
  const list = Array.isArray(d.segments) ? d.segments : live && Array.isArray(live.segments) ? live.segments
    : card && Array.isArray(card.segments) ? card.segments : null;
  return list && list.map(s => (s && typeof s === 'object' ? s.segment_id : s));
}

// A page of the list; false when it answers a subscribe the filter has moved on from.
export function onDialogs(f) {
  const { status, assignee, tag, segment } = state.filter;
  // Each filter is compared both ways: a late page for "all tags" must not fill a tag's list.
  if ((f.status && f.status !== status) || ('tag' in f && (f.tag || '') !== (tag || '')) ||
    ('assignee' in f && (f.assignee || '') !== (assignee || '')) ||
    ('segment' in f && (f.segment || '') !== (segment || ''))) return false;
  if (!state.pagingMore) state.list.clear(); // a fresh subscribe replaces the list
  state.pagingMore = false;
  for (const d of Array.isArray(f.dialogs) ? f.dialogs : []) {
    if (!d || !d.dialog_id) continue;
    remember(d);
    state.list.add(d.dialog_id);
  }
  state.cursor = f.cursor || null;
  $('more').hidden = !state.cursor;
  renderList();
  return true;
}

// Keeps the newest summary; returns false for a stale one.
export function remember(d) {
  const old = state.summaries.get(d.dialog_id);
  if (old && (old.last_seq || 0) > (d.last_seq || 0)) return false;
  if (old && (old.version || 0) > (d.version || 0)) return false; // pushed by a handler that read it earlier
  state.summaries.set(d.dialog_id, d);
  state.queueOrder = null;
  if (old && old.mailed_seq !== d.mailed_seq) markMailed(d.dialog_id); // answers went out by email
  for (const t of d.tags || []) {
    if (!state.tags.has(t)) { state.tags.add(t); state.tagsDirty = true; }
  }
  return true;
}

function isUnread(d) {
  return !!d && (d.status || 'open') === 'open' && !!d.last_author && d.last_author.kind === 'visitor' &&
    (d.last_seq || 0) > (state.reads[d.dialog_id] || 0);
}

export function markRead(d) {
  if (!d || (state.reads[d.dialog_id] || 0) >= (d.last_seq || 0)) return;
  state.reads[d.dialog_id] = d.last_seq || 0;
  const ids = Object.keys(state.reads);
  if (ids.length > 3000) for (const id of ids) if (!state.summaries.has(id)) delete state.reads[id]; // keep it small
  local.set(READ_KEY + myId(), state.reads);
}

export function listed() {
  return [...state.list].map(id => state.summaries.get(id)).filter(Boolean)
    .sort((a, b) => (b.last_activity || 0) - (a.last_activity || 0));
}

export function renderList() {
  const ul = $('dialogs');
  const existing = new Map([...ul.children].map(li => [li.dataset.dialogId, li]));
  const rows = listed();
  rows.forEach((d, i) => {
    let li = existing.get(d.dialog_id);
    existing.delete(d.dialog_id);
    if (!li) li = makeRow(d.dialog_id);
    updateRow(li, d);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const li of existing.values()) li.remove();
  $('empty').hidden = rows.length > 0;
  let unread = 0;
  for (const d of state.summaries.values()) if (isUnread(d)) unread++;
  document.title = (unread ? `(${unread}) ` : '') + 'Parley console';
}

// A row's button opens its dialog: console.js listens for clicks on the list.
function makeRow(id) {
  const li = el('li');
  li.dataset.dialogId = id;
  const b = button(null, 'row', 'dialog-row');
  b.dataset.dialogId = id;
  const main = el('span', 'rmain');
  const top = el('span', 'rtop');
  top.append(el('span', 'name'), el('span', 'time'));
  main.append(top, el('span', 'last'), el('span', 'chips rflags'), el('span', 'chips rtags'));
  b.append(el('span', 'av'), main);
  li.append(b);
  return li;
}

function lastAuthor(d) {
  const a = d.last_author || {};
  if (a.kind === 'operator') {
    const op = operatorById(a.id) || {};
    return { name: a.name || op.name || 'Operator', avatar: op.avatar };
  }
  if (a.kind === 'bot') return { name: a.name || 'Assistant', avatar: null };
  return { name: d.visitor_name || 'Visitor', avatar: d.visitor_avatar };
}

function updateRow(li, d) {
  const b = li.firstChild;
  const [av, main] = b.children;
  const [top, last, flags, tags] = main.children;
  const name = top.querySelector('.name');
  const time = top.querySelector('.time');
  const who = lastAuthor(d);
  const key = who.name + '|' + (who.avatar || '');
  if (av.dataset.key !== key) { fillAvatar(av, who.name, who.avatar); av.dataset.key = key; }
  av.title = who.name;
  name.textContent = d.visitor_name || 'Visitor';
  time.textContent = relTime(d.last_activity);
  time.title = fullTime(d.last_activity);
  const typing = state.typing.get(d.dialog_id);
  const prefix = d.last_author && ['operator', 'bot'].includes(d.last_author.kind) ? who.name + ': ' : '';
  last.textContent = typing ? 'typing: ' + oneLine(typing.text) : prefix + oneLine(d.last_text);
  last.classList.toggle('is-typing', !!typing);
  tags.replaceChildren(...(d.tags || []).map(t => el('span', 'chip', t)));
  updateRowRouting(li, flags, d);
  const unread = isUnread(d);
  b.classList.toggle('unread', unread);
  let mark = b.querySelector('.dot');
  if (unread && !mark) {
    mark = el('span', 'dot');
    mark.dataset.testid = 'unread-marker';
    mark.title = 'Unread';
    mark.setAttribute('aria-label', 'unread');
    top.prepend(mark);
  } else if (!unread && mark) mark.remove();
  let chan = top.querySelector('.chan');
  if (d.channel === 'email' && !chan) {
    chan = el('span', 'chan', '✉');
    chan.dataset.testid = 'channel-email';
    chan.title = 'Started by email';
    chan.setAttribute('aria-label', 'started by email');
    top.querySelector('.name').before(chan);
  } else if (d.channel !== 'email' && chan) chan.remove();
  b.setAttribute('aria-current', String(d.dialog_id === state.openId));
}

export function refreshRow(id) {
  const li = byId($('dialogs'), 'dialog-id', id);
  const d = state.summaries.get(id);
  if (li && li.tagName === 'LI' && d) updateRow(li, d);
}

// The filter selects and the dialog's assignee select; callers re-render the open dialog's header.
export function renderFilterOptions() {
  const fill = (select, options) => {
    fillSelect(select, options);
    if (!options.some(([v]) => v === select.value)) select.value = options[0][0];
  };
  const segs = (state.proactive && state.proactive.segments) || [];
  fill($('filter-segment'), [['', 'All segments'], ...segs.map(s => [s.segment_id, s.name || s.segment_id])]);
  $('filter-segment').value = state.filter.segment;
  $('filter-segment').closest('label').hidden = !segs.length && !state.filter.segment;
  // The segment filtered by was deleted: back to all segments.
  if (state.proactive && state.filter.segment && !segs.some(s => s.segment_id === state.filter.segment)) setFilter({ segment: '' });
  const ops = state.operators.filter(o => o.operator_id !== myId()).map(o => [o.operator_id, o.name || o.operator_id]);
  fill($('filter-assignee'), [['', 'All'], ['me', 'Mine'], ['none', 'Unassigned'], ...ops]);
  fill($('filter-tag'), [['', 'All tags'], ...[...state.tags].sort().map(t => [t, t])]);
  fill($('assign'), [['', 'Unassigned'], ...state.operators.map(o => [o.operator_id, o.name || o.operator_id])]);
}

export function renderTagOptions() {
  $('tag-options').replaceChildren(...[...state.tags].sort().map(t => {
    const o = el('option');
    o.value = t;
    return o;
  }));
}

// The live timer's work: late flags appear and count up, queue places follow.
export function refreshWaiting() {
  for (const id of state.list) {
    const d = state.summaries.get(id);
    if (d && (d.waiting_since || d.late || d.queued_at)) refreshRow(id);
  }
  const d = state.summaries.get(state.openId);
  if (d && !$('pane').hidden) renderRoutingHeader(d);
}
