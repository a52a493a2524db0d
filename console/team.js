// The team (docs/protocol.md "Routing: presence, capacity, queue, …"): my presence, and the panel
// above the list (each operator's presence, load and cap; the queue) from pushed `team` frames.
// Everything shown is the server's word: a change is asked for, and the view follows the frames
// that answer it.
import { state, myId, siteSetting } from './state.js';
import { $, el, fillSelect, toMs } from './util.js';
import { send, request } from './net.js';
import { toast } from './alerts.js';

const PRESENCE = ['online', 'away', 'offline'];
const PRESENCE_TEXT = { online: 'online', away: 'away', offline: 'offline', reconnecting: 'reconnecting…' };
const MAX_CAP = 20;
const TEAM_OPEN_KEY = 'parley:console:team-open';

let presenceAsked = null;       // the status asked for, until a `team` frame or an error answers
let presenceTimer = 0;

// ---------- the team frame ----------

export function requestTeam() {
  send({ type: 'team' });
}

// Keeps the frame and shows it here; frames.js has the other views follow.
export function onTeam(f) {
  state.team = {
    operators: (Array.isArray(f.operators) ? f.operators : []).filter(o => o && typeof o.operator_id === 'string'),
    queue: f.queue && typeof f.queue === 'object' ? f.queue : { length: 0, oldest_at: null },
    settings: f.settings && typeof f.settings === 'object' ? f.settings : {},
    grace_seconds: typeof f.grace_seconds === 'number' ? f.grace_seconds : 45,
  };
  state.queueOrder = null;
  clearTimeout(presenceTimer);
  presenceAsked = null;
  renderPresence();
  renderTeam();
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
export const hasRoom = o => typeof o.load !== 'number' || typeof o.cap !== 'number' || o.load < o.cap;
export const loadText = o => (typeof o.load === 'number' && typeof o.cap === 'number' ? `${o.load} / ${o.cap}` : '');

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

// ---------- wiring ----------

export function wireTeam() {
  $('presence').addEventListener('change', onPresenceChange);
  const details = $('team');
  try { details.open = localStorage.getItem(TEAM_OPEN_KEY) === '1'; } catch { /* ignore */ }
  details.addEventListener('toggle', () => {
    try { localStorage.setItem(TEAM_OPEN_KEY, details.open ? '1' : '0'); } catch { /* ignore */ }
  });
}

export function resetTeam() {
  state.team = null;
  state.queueOrder = null;
  presenceAsked = null;
  $('team-list').replaceChildren();
  $('team').hidden = true;
  $('my-presence').dataset.presence = '';
}
