// The dialog list: filter and paging, the summaries it shows, unread marks, filter options; and
// routing (docs/protocol.md "Routing: presence, capacity, queue, …"): my presence, the team panel
// above the list (each operator's presence, load and cap; the queue) from pushed `team` frames,
// a dialog's routing state (late, queued, offered, rated, bot, continues) in its row and in the
// open dialog's header, transfers, and a toast when a dialog becomes mine. Everything shown is the
// server's word: a change is asked for, and the view follows the frames that answer it.
import { state, local, READ_KEY, myId, operatorById, visitorName, siteSetting } from './state.js';
import { $, el, button, byId, relTime, fullTime, oneLine, fillAvatar, fillSelect, toMs } from './util.js';
import { send, request } from './net.js';
import { markMailed } from './feed.js';
import { toast } from './alerts.js';
import { openDialog } from './dialog.js';
import { refreshRoutingSettings } from './settings.js';

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
  queueOrder = null;
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

// =========================== routing ===========================

const PRESENCE = ['online', 'away', 'offline'];
const PRESENCE_TEXT = { online: 'online', away: 'away', offline: 'offline', reconnecting: 'reconnecting…' };
const MAX_CAP = 20;
const TICK_MS = 3000;
const RECENT_MS = 15000;
const NOTE_WAIT_MS = 700;
const TEAM_OPEN_KEY = 'parley:console:team-open';

const recentBy = new Map();     // dialog_id -> {name, at}: another operator who just wrote there (a transfer's note)
const selfAssigned = new Map(); // dialog_id -> when I took it (no "assigned to you" toast for that)
let presenceAsked = null;       // the status asked for, until a `team` frame or an error answers
let presenceTimer = 0;
let pendingTransfer = null;     // {dialog_id, operator_id, from}: asked, not yet seen done
let transferKey = '';

// ---------- the team frame ----------

export function requestTeam() {
  send({ type: 'team' });
}

export function onTeam(f) {
  state.team = {
    operators: (Array.isArray(f.operators) ? f.operators : []).filter(o => o && typeof o.operator_id === 'string'),
    queue: f.queue && typeof f.queue === 'object' ? f.queue : { length: 0, oldest_at: null },
    settings: f.settings && typeof f.settings === 'object' ? f.settings : {},
    grace_seconds: typeof f.grace_seconds === 'number' ? f.grace_seconds : 45,
  };
  queueOrder = null;
  clearTimeout(presenceTimer);
  presenceAsked = null;
  renderPresence();
  renderTeam();
  renderTransfer();
  refreshWaiting();
  refreshRoutingSettings();
}

function answerSeconds() {
  const s = Number(siteSetting('answer_seconds', 30));
  return s > 0 ? s : 30;
}

// What the team sees of an operator: online, away, offline, or reconnecting (its consoles are
// gone, but within the grace period: still available). Past the grace it is offline here,
// whether or not a frame said so yet.
export function presenceOf(o, now = Date.now()) {
  if (!o) return 'offline';
  if (o.connected === false) {
    const grace = ((state.team && state.team.grace_seconds) || 45) * 1000;
    const gone = toMs(o.gone_at);
    return o.available && (!gone || now - gone < grace) ? 'reconnecting' : 'offline';
  }
  return PRESENCE.includes(o.presence) ? o.presence : 'offline';
}

const teamMember = id => state.team && state.team.operators.find(o => o.operator_id === id);
const hasRoom = o => typeof o.load !== 'number' || typeof o.cap !== 'number' || o.load < o.cap;
const loadText = o => (typeof o.load === 'number' && typeof o.cap === 'number' ? `${o.load} / ${o.cap}` : '');

// 45 s, 2 min, 1 h 5 min
export function waitText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  return Math.floor(s / 3600) + ' h ' + (Math.floor(s / 60) % 60) + ' min';
}

function queueText(now = Date.now()) {
  const q = (state.team && state.team.queue) || {};
  const n = Number(q.length) || 0;
  if (!n) return 'no one waiting';
  const oldest = toMs(q.oldest_at);
  return `${n} waiting` + (oldest ? ` · oldest ${waitText(now - oldest)}` : '');
}

// ---------- my presence ----------

export function renderPresence() {
  const me = teamMember(myId());
  const shown = me ? presenceOf(me) : '';
  const dot = $('my-presence');
  dot.dataset.presence = shown;
  dot.title = shown ? 'You are ' + PRESENCE_TEXT[shown] : '';
  const sel = $('presence');
  if (me && presenceAsked == null) sel.value = PRESENCE.includes(me.presence) ? me.presence : 'offline';
  sel.dataset.presence = shown;
}

function onPresenceChange() {
  const status = $('presence').value;
  presenceAsked = status;
  clearTimeout(presenceTimer);
  // No answer (an old server): the select goes back to what the server last said.
  presenceTimer = setTimeout(() => { presenceAsked = null; renderPresence(); }, 8000);
  request({ type: 'presence', status }, text => {
    clearTimeout(presenceTimer);
    presenceAsked = null;
    renderPresence();
    toast('Your status was not changed: ' + text, { error: true, testid: 'toast-error' });
  });
}

// ---------- the team panel ----------

const RANK = { online: 0, reconnecting: 1, away: 2, offline: 3 };

export function renderTeam(now = Date.now()) {
  const t = state.team;
  $('team').hidden = !t;
  if (!t) return;
  const ops = [...t.operators].sort((a, b) => RANK[presenceOf(a, now)] - RANK[presenceOf(b, now)] ||
    String(a.name || '').localeCompare(String(b.name || '')));
  const online = ops.filter(o => ['online', 'reconnecting'].includes(presenceOf(o, now))).length;
  const queue = queueText(now);
  $('team-summary').textContent = `${online} online · ${queue}`;
  $('team-queue').textContent = queue[0].toUpperCase() + queue.slice(1);
  $('team-queue').classList.toggle('waiting', !!(t.queue && t.queue.length));
  const ul = $('team-list');
  const old = new Map([...ul.children].map(li => [li.dataset.operatorId, li]));
  ops.forEach((o, i) => {
    let li = old.get(o.operator_id);
    old.delete(o.operator_id);
    if (!li) li = memberRow(o.operator_id);
    updateMember(li, o, now);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const li of old.values()) li.remove();
}

function memberRow(id) {
  const li = el('li', 'member');
  li.dataset.testid = 'team-member';
  li.dataset.operatorId = id;
  const dot = el('span', 'pdot');
  dot.dataset.testid = 'team-presence';
  const name = el('span', 'mname');
  name.dataset.testid = 'team-name';
  const status = el('span', 'mstate muted small');
  const load = el('span', 'mload');
  load.dataset.testid = 'team-load';
  const cap = el('select', 'mcap');
  cap.dataset.testid = 'team-cap';
  cap.addEventListener('change', () => {
    const value = cap.value === '' ? null : Number(cap.value);
    $('team-error').textContent = '';
    cap.dataset.asked = cap.value;
    request({ type: 'cap_set', operator_id: id, cap: value }, text => {
      delete cap.dataset.asked;
      $('team-error').textContent = text;
      renderTeam();
    });
  });
  li.append(dot, name, status, load, cap);
  return li;
}

function updateMember(li, o, now) {
  const [dot, name, status, load, cap] = li.children;
  const p = presenceOf(o, now);
  li.dataset.presence = p;
  dot.dataset.presence = p;
  dot.title = PRESENCE_TEXT[p];
  const label = (o.name || 'Operator') + (o.operator_id === myId() ? ' (you)' : '');
  name.textContent = label;
  status.textContent = PRESENCE_TEXT[p];
  load.textContent = loadText(o);
  load.title = typeof o.load === 'number' ? `${o.load} open dialogs, at most ${o.cap} at once` : '';
  load.classList.toggle('at-cap', !hasRoom(o));
  const def = siteSetting('default_cap', null);
  const options = [['', def != null ? `default (${def})` : 'default'], ...Array.from({ length: MAX_CAP }, (_, i) => [String(i + 1), String(i + 1)])];
  const value = o.cap_override == null ? '' : String(o.cap_override);
  if (cap.options.length !== options.length || cap.options[0].text !== options[0][1]) fillSelect(cap, options, cap.value || value);
  cap.setAttribute('aria-label', 'Chats at once for ' + label);
  // The server's value, unless the operator is choosing or a change is on its way.
  if (cap.dataset.asked != null && cap.dataset.asked === value) delete cap.dataset.asked;
  if (cap.dataset.asked == null) cap.value = value;
}

// ---------- a dialog's routing state ----------

// How long the dialog has waited, when that is late (ms; 0: the server says late, no time known),
// else null.
export function lateWait(d, now = Date.now()) {
  if (!d || (d.status || 'open') !== 'open') return null;
  const since = toMs(d.waiting_since);
  if (since) {
    const w = Math.max(0, now - since);
    return d.late || w > answerSeconds() * 1000 ? w : null;
  }
  return d.late ? 0 : null;
}

function chip(text, cls, testid, title) {
  const c = el('span', 'chip ' + cls, text);
  c.dataset.testid = testid;
  if (title) c.title = title;
  return c;
}

// Badges (no controls: in the list they sit inside the row's button).
export function routingChips(d, inHeader) {
  const out = [];
  const now = Date.now();
  const wait = lateWait(d, now);
  if (wait != null) {
    const c = chip(wait ? 'late ' + waitText(wait) : 'late', 'late', 'late-flag',
      `Waiting for an answer${wait ? ' for ' + waitText(wait) : ''}; answer within ${answerSeconds()} s`);
    out.push(c);
  }
  if (isQueued(d)) {
    const pos = queuePosition(d);
    out.push(chip(typeof pos === 'number' && pos > 0 ? `#${pos} in queue` : 'in queue', 'queued', 'queue-badge',
      d.queued_at ? 'Queued ' + waitText(now - toMs(d.queued_at)) + ' ago' : ''));
  }
  const offer = d.offered_to && d.offered_to.operator_id;
  if (offer && (d.status || 'open') === 'open') {
    const mine = offer === myId();
    const c = chip(mine ? 'offered to you' : 'offered to ' + (d.offered_to.name || 'another operator'), 'offered' + (mine ? ' mine' : ''), 'offered-badge');
    c.dataset.mine = String(mine);
    out.push(c);
  }
  if (d.bot === 'active') out.push(chip('bot', 'bot', 'bot-badge', (siteSetting('bot_name', 'The bot') || 'The bot') + ' is answering'));
  else if (d.bot === 'handed_off' && inHeader) out.push(chip('handed over by the bot', 'bot off', 'bot-handoff'));
  const r = d.rating;
  if (r && (r.score === 'good' || r.score === 'bad')) {
    const comment = typeof r.comment === 'string' ? r.comment : '';
    const c = chip(r.score === 'good' ? '👍' : '👎', 'rating ' + r.score, 'rating-badge',
      (r.score === 'good' ? 'Rated good' : 'Rated bad') + (comment ? ': ' + comment : ''));
    c.dataset.score = r.score;
    c.setAttribute('aria-label', c.title);
    if (inHeader && comment) {
      const text = el('span', 'rcomment', comment);
      text.dataset.testid = 'rating-comment';
      c.append(' ', text);
    }
    out.push(c);
  }
  return out;
}

// Waiting in the queue: a position, or (a summary sent without one) queued and nobody's.
function isQueued(d) {
  if ((d.status || 'open') !== 'open' || (d.assignee && d.assignee.operator_id)) return false;
  return (typeof d.queue_position === 'number' && d.queue_position > 0) || !!d.queued_at;
}

// A queued dialog's place. The server's number is only sent with some summaries and goes stale
// as the queue moves; when this console knows every queued dialog (as many as the team's queue
// length), their order by queued_at (the queue is first in, first out) is the place.
let queueOrder = null; // [dialog_id…] of the queued dialogs known here, oldest first
function queuePosition(d) {
  if (!queueOrder) {
    queueOrder = [...state.summaries.values()].filter(isQueued)
      .sort((a, b) => (toMs(a.queued_at) || 0) - (toMs(b.queued_at) || 0)).map(x => x.dialog_id);
  }
  const length = state.team && state.team.queue ? Number(state.team.queue.length) : NaN;
  const i = queueOrder.indexOf(d.dialog_id);
  if (i >= 0 && queueOrder.length === length) return i + 1;
  return typeof d.queue_position === 'number' && d.queue_position > 0 ? d.queue_position : null;
}

function canTake(d) {
  if ((d.status || 'open') !== 'open') return false;
  const who = d.assignee && d.assignee.operator_id;
  if (who === myId()) return false;
  return (d.offered_to && d.offered_to.operator_id === myId()) || isQueued(d);
}

export function take(id) {
  selfAssigned.set(id, Date.now());
  request({ type: 'assign', dialog_id: id, operator_id: myId() }, text => {
    selfAssigned.delete(id);
    toast(text, { error: true, testid: 'toast-error' });
  });
}

// Controls beside the badges: Take, and the link to the dialog this one continues.
export function routingActions(d) {
  const out = [];
  if (canTake(d)) {
    const b = button('Take', 'small primary', 'take-dialog', () => take(d.dialog_id));
    b.title = 'Assign this dialog to yourself';
    out.push(b);
  }
  const prev = d.previous_dialog_id;
  if (typeof prev === 'string' && prev) {
    const a = el('a', 'continues', 'continues ' + (prev.length > 14 ? prev.slice(0, 13) + '…' : prev));
    a.href = '#';
    a.title = 'Open the dialog this one continues (' + prev + ')';
    a.dataset.testid = 'continues-link';
    a.dataset.previous = prev;
    a.addEventListener('click', e => {
      e.preventDefault();
      if (state.view !== 'dialogs') location.hash = '';
      openDialog(prev, d.visitor_id);
    });
    out.push(a);
  }
  return out;
}

const actionsKey = d => [canTake(d), d.previous_dialog_id || ''].join('|');

// The list row's routing line: the badges (inside the button) and the controls (after it).
export function updateRowRouting(li, flags, d) {
  flags.replaceChildren(...routingChips(d, false));
  let extra = li.querySelector(':scope > .rextra');
  const key = actionsKey(d);
  if (extra && extra.dataset.key === key) return;
  const actions = routingActions(d);
  if (!actions.length) { if (extra) extra.remove(); return; }
  if (!extra) { extra = el('div', 'rextra'); li.append(extra); }
  extra.dataset.key = key;
  extra.replaceChildren(...actions);
}

// The open dialog's header: badges, Take, continues, and the Transfer button.
export function renderRoutingHeader(d) {
  const box = $('dflags');
  let chips = box.querySelector('.hchips');
  let acts = box.querySelector('.hactions');
  if (!chips) {
    chips = el('span', 'chips hchips');
    acts = el('span', 'hactions');
    box.append(chips, acts);
  }
  chips.replaceChildren(...routingChips(d, true));
  const key = d.dialog_id + '|' + actionsKey(d);
  if (acts.dataset.key !== key) { acts.dataset.key = key; acts.replaceChildren(...routingActions(d)); }
  box.hidden = !chips.children.length && !acts.children.length;
  const closed = d.status === 'closed';
  $('transfer-open').hidden = closed;
  if (closed) closeTransfer();
  renderTransfer();
}

// The live timer: late flags appear and count up, the queue's oldest wait and the team's
// reconnecting operators follow the clock.
function refreshWaiting() {
  for (const id of state.list) {
    const d = state.summaries.get(id);
    if (d && (d.waiting_since || d.late || d.queued_at)) refreshRow(id);
  }
  const d = state.summaries.get(state.openId);
  if (d && !$('pane').hidden) renderRoutingHeader(d);
}

export function tick() {
  if (!state.auth) return;
  refreshWaiting();
  if (state.team) {
    renderTeam();
    renderPresence();
  }
}

// ---------- dialogs that become mine ----------

// Called with each pushed summary (`dialog`, `message` frames) once it is kept.
export function onRouted(old, d, m) {
  const me = myId();
  const id = d.dialog_id;
  const now = Date.now();
  const author = m && m.author;
  if (author && author.kind === 'operator' && author.id !== me) recentBy.set(id, { name: author.name || 'An operator', at: now });
  const was = old && old.assignee && old.assignee.operator_id;
  const who = d.assignee && d.assignee.operator_id;
  if (pendingTransfer && pendingTransfer.dialog_id === id) transferSeen(d, who);
  if (!me || who !== me || was === me || (d.status || 'open') !== 'open') return;
  if (author && author.kind === 'operator' && author.id === me) return; // my own reply assigned it
  const mine = selfAssigned.get(id);
  selfAssigned.delete(id);
  if (mine && now - mine < RECENT_MS) return;
  // A transfer's note may come just before or just after the assignment: wait for it a moment.
  setTimeout(() => assignedToast(id), NOTE_WAIT_MS);
}

function assignedToast(id) {
  const d = state.summaries.get(id);
  if (!d || !d.assignee || d.assignee.operator_id !== myId()) return;
  const by = recentBy.get(id);
  const name = d.visitor_name || visitorName(id);
  const text = by && Date.now() - by.at < RECENT_MS ? `${by.name} transferred ${name} to you` : `New dialog assigned to you: ${name}`;
  toast(text, { testid: 'toast-assigned', dialogId: id, notify: true, action: id === state.openId ? null : ['Open', () => {
    if (state.view !== 'dialogs') location.hash = '';
    openDialog(id);
  }] });
}

// Assigning to myself from the header's select: no toast for it either.
export function assignedByMe(id, operatorId) {
  if (operatorId && operatorId === myId()) selfAssigned.set(id, Date.now());
}

// ---------- transfer ----------

export function toggleTransfer(on) {
  const form = $('transfer-form');
  const show = on == null ? form.hidden : on;
  if (show && !state.openId) return;
  form.hidden = !show;
  $('transfer-open').setAttribute('aria-expanded', String(show));
  $('transfer-error').textContent = '';
  if (!show) {
    pendingTransfer = null;
    $('transfer-comment').value = '';
    form.dataset.dialogId = '';
    return;
  }
  form.dataset.dialogId = state.openId;
  if (!state.team) requestTeam();
  transferKey = '';
  renderTransfer();
  const first = $('transfer-options').querySelector('input:not(:disabled)');
  if (first) first.focus();
}

export function closeTransfer() {
  if (!$('transfer-form').hidden) toggleTransfer(false);
}

// Who the open dialog can go to: available operators with room first (most room first), then
// the full, the away and the offline ones, disabled with the reason.
function transferChoices(d) {
  const assignee = d.assignee && d.assignee.operator_id;
  const ops = state.team ? state.team.operators : state.operators;
  return ops.map(o => {
    const p = state.team ? presenceOf(o) : null;
    let reason = null;
    let rank = 0;
    if (o.operator_id === assignee) { reason = 'assigned now'; rank = 4; }
    else if (p === 'offline') { reason = 'offline'; rank = 3; }
    else if (p === 'away') { reason = 'away'; rank = 2; }
    else if (state.team && !hasRoom(o)) { reason = `full (${loadText(o)})`; rank = 1; }
    const spare = typeof o.cap === 'number' && typeof o.load === 'number' ? o.cap - o.load : 0;
    return { o, reason, rank, spare };
  }).sort((a, b) => a.rank - b.rank || b.spare - a.spare || String(a.o.name || '').localeCompare(String(b.o.name || '')));
}

function renderTransfer() {
  const form = $('transfer-form');
  if (form.hidden) return;
  const d = state.summaries.get(state.openId);
  if (!d || form.dataset.dialogId !== state.openId) { toggleTransfer(false); return; }
  const choices = transferChoices(d);
  const key = JSON.stringify(choices.map(c => [c.o.operator_id, c.o.name, c.reason, loadText(c.o)]));
  if (key === transferKey) return; // nothing changed: keep the controls (and a click on them)
  transferKey = key;
  const box = $('transfer-options');
  const chosen = (box.querySelector('input:checked') || {}).value;
  const rows = choices.map(({ o, reason }) => {
    const label = el('label', 'topt' + (reason ? ' off' : ''));
    label.dataset.testid = 'transfer-option';
    label.dataset.operatorId = o.operator_id;
    const radio = el('input');
    radio.type = 'radio';
    radio.name = 'transfer-to';
    radio.value = o.operator_id;
    radio.disabled = !!reason;
    radio.checked = !reason && chosen === o.operator_id;
    const name = el('span', 'tname', (o.name || 'Operator') + (o.operator_id === myId() ? ' (you)' : ''));
    label.append(radio, name);
    const load = loadText(o);
    if (load && !reason) label.append(el('span', 'muted small', load));
    if (reason) {
      const why = el('span', 'why small', reason);
      why.dataset.testid = 'transfer-reason';
      label.append(why);
    }
    return label;
  });
  const q = el('label', 'topt queue');
  q.dataset.testid = 'transfer-queue';
  const radio = el('input');
  radio.type = 'radio';
  radio.name = 'transfer-to';
  radio.value = '';
  radio.checked = chosen === '';
  q.append(radio, el('span', 'tname', 'Back to the queue'), el('span', 'muted small', 'the next available operator gets it'));
  rows.push(q);
  box.replaceChildren(...rows);
}

function onTransferSubmit(e) {
  e.preventDefault();
  const d = state.summaries.get(state.openId);
  if (!d) return;
  const error = $('transfer-error');
  error.textContent = '';
  const choice = $('transfer-options').querySelector('input[name="transfer-to"]:checked');
  if (!choice) { error.textContent = 'Choose an operator, or the queue.'; return; }
  const comment = $('transfer-comment').value.trim();
  if (comment.length > 1000) { error.textContent = 'The comment is 1000 characters at most.'; return; }
  const operatorId = choice.value || null;
  pendingTransfer = { dialog_id: d.dialog_id, operator_id: operatorId, from: (d.assignee && d.assignee.operator_id) || null, queued: d.queue_position || null };
  if (operatorId) assignedByMe(d.dialog_id, operatorId);
  request({ type: 'transfer', dialog_id: d.dialog_id, operator_id: operatorId, comment }, text => {
    pendingTransfer = null;
    if ($('transfer-form').hidden) toast(text, { error: true, testid: 'toast-error' });
    else error.textContent = text;
  });
}

// A summary after a transfer was asked for: done when it went where it was sent.
function transferSeen(d, who) {
  const p = pendingTransfer;
  const done = p.operator_id ? who === p.operator_id
    : who !== p.from || (typeof d.queue_position === 'number' && d.queue_position !== p.queued);
  if (!done) return;
  pendingTransfer = null;
  const name = d.visitor_name || 'The visitor';
  const to = p.operator_id ? (d.assignee && d.assignee.name) || 'the operator' : 'the queue';
  if (d.dialog_id === state.openId) closeTransfer();
  toast(p.operator_id ? `${name} transferred to ${to}` : `${name} is back in the queue`, { testid: 'toast-transferred', dialogId: d.dialog_id });
}

// ---------- wiring ----------

export function wireTeam() {
  $('presence').addEventListener('change', onPresenceChange);
  $('transfer-open').addEventListener('click', () => toggleTransfer());
  $('transfer-cancel').addEventListener('click', () => { toggleTransfer(false); $('transfer-open').focus(); });
  $('transfer-form').addEventListener('submit', onTransferSubmit);
  $('transfer-form').addEventListener('keydown', e => {
    if (e.key === 'Escape') { e.stopPropagation(); toggleTransfer(false); $('transfer-open').focus(); }
  });
  const details = $('team');
  try { details.open = localStorage.getItem(TEAM_OPEN_KEY) === '1'; } catch { /* ignore */ }
  details.addEventListener('toggle', () => {
    try { localStorage.setItem(TEAM_OPEN_KEY, details.open ? '1' : '0'); } catch { /* ignore */ }
  });
  setInterval(tick, TICK_MS);
}

export function resetTeam() {
  state.team = null;
  queueOrder = null;
  recentBy.clear();
  selfAssigned.clear();
  pendingTransfer = null;
  presenceAsked = null;
  $('team-list').replaceChildren();
  $('team').hidden = true;
  $('my-presence').dataset.presence = '';
  closeTransfer();
}
