// The console's shared state, its storage in session/localStorage, and lookups derived from it.

export const AUTH_KEY = 'parley:console:auth';
export const OUTBOX_KEY = 'parley:console:outbox';
export const NOTIFY_KEY = 'parley:console:notify';
export const READ_KEY = 'parley:console:read:';

const store = area => ({
  get(key) { try { return JSON.parse(area.getItem(key)); } catch { return null; } },
  set(key, value) {
    try { value == null ? area.removeItem(key) : area.setItem(key, JSON.stringify(value)); } catch { /* ignore */ }
  },
});
export const session = store(sessionStorage);
export const local = store(localStorage);

export const state = {
  auth: null,            // login response: {token, expires_at, ws_url, operator}
  ws: null,
  ready: false,          // the first `dialogs` page after (re)connecting has arrived
  tries: 0,
  retryTimer: 0,
  pongTimer: 0,
  me: {}, site: {}, operators: [], templates: [], tags: new Set(),
  filter: { status: 'open', assignee: '', tag: '', segment: '' },
  list: new Set(),       // dialog ids in the list (they match the filter)
  summaries: new Map(),  // dialog_id -> latest summary seen, listed or not
  cursor: null,
  pagingMore: false,
  reads: {},             // dialog_id -> highest seq this operator has seen
  feeds: new Map(),      // dialog_id -> Map(seq -> message)
  openId: null,
  allHistory: false,     // feed shows every dialog of the visitor
  mode: 'reply',
  outbox: new Map(),     // client_id -> {client_id, dialog_id, text, note, file, sentAt, error}
  uploads: new Map(),    // client_id -> {file, dialog_id, note}
  typing: new Map(),     // dialog_id -> {text, timer}
  drafts: new Map(),     // dialog_id -> unsent textarea text
  cards: new Map(),      // visitor_id -> card
  visitorDialogs: new Map(), // visitor_id -> [summary] oldest first
  pendingEdits: [],      // [{visitor_id, field, value}] awaiting the server's `visitor` (or an error)
  lastAction: null,      // what an error frame without client_id refers to
  tplEdit: null,         // {id, shortcut, text, saving} being edited in the manager
  tplSaving: false,      // the "Save as template" form waits for `templates`
  suggest: { items: [], active: 0 },
  full: null,            // {visitor_id, events: [], cursor}
  notify: local.get(NOTIFY_KEY) !== false,
  view: 'dialogs',       // dialogs | visitor (full card) | visitors (monitor) | proactive
  live: new Map(),       // visitor_id -> live visitor (docs/protocol.md "Tracking and proactive frames")
  livePending: null,     // live/left frames that arrive while a `monitor` snapshot is awaited
  greeted: new Map(),    // visitor_id -> the last `greeted` frame about them
  proactive: null,       // the last `proactive` frame: triggers, segments, blocks, settings, stats
  team: null,            // the last `team` frame: operators (presence, load, cap), queue, routing settings
  queueOrder: null,      // [dialog_id…] of the queued dialogs known here, oldest first; null: to compute again
  segAsked: new Set(),   // visitors whose card was asked for to learn their segments
};

// Calls upwards, set by console.js: the routing views open a dialog without importing dialog.js
// (which imports them).
export const hooks = { openDialog() {} };

export const operatorById = id => state.operators.find(o => o.operator_id === id);
export const myId = () => state.me.operator_id || (state.auth && state.auth.operator && state.auth.operator.operator_id);
export const myName = () => state.me.name || (state.auth && state.auth.operator && state.auth.operator.name) || '';
export const visitorName = id => (state.summaries.get(id) || {}).visitor_name || 'Visitor';
export const isClosed = () => (state.summaries.get(state.openId) || {}).status === 'closed';
export const openVisitor = () => (state.summaries.get(state.openId) || {}).visitor_id;
export const segmentName = id => ((state.proactive && state.proactive.segments || []).find(s => s.segment_id === id) || {}).name || id;
// The block of a visitor, if they are blocked.
export const visitorBlock = vid => (state.proactive && state.proactive.blocks || []).find(b => b.kind === 'visitor' && b.value === vid);
// A site setting: the proactive frame has the whole settings document, the team frame the
// routing part of it.
export function siteSetting(key, fallback) {
  const p = state.proactive && state.proactive.settings;
  if (p && p[key] != null) return p[key];
  const t = state.team && state.team.settings;
  if (t && t[key] != null) return t[key];
  return fallback;
}
