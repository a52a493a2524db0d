// Parley operator console: the three-pane workspace. Speaks docs/protocol.md v1.
// Rule: text that came from the network is only ever put on the page with textContent or as an
// attribute; links only for http(s) URLs; images only from URLs the server gave.

const AUTH_KEY = 'parley:console:auth';
const OUTBOX_KEY = 'parley:console:outbox';
const NOTIFY_KEY = 'parley:console:notify';
const READ_KEY = 'parley:console:read:';
const TYPING_SHOW_MS = 6000;
const TYPING_THROTTLE_MS = 300;
const RETRY_AFTER_MS = 10000;
const MAX_FILE = 2097152;
const FILE_TYPES = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  pdf: 'application/pdf', txt: 'text/plain', csv: 'text/csv', zip: 'application/zip',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
const ALLOWED_TYPES = new Set(Object.values(FILE_TYPES));
// This page is <base>/console/index.html; the REST API is <base>/api/ (<base> is empty, or an
// API Gateway stage such as /api). Never an absolute path: it would drop the stage.
const API = new URL('../api/', location.href).href;

const $ = id => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};
const button = (text, cls, testid, onclick) => {
  const b = el('button', cls, text);
  b.type = 'button';
  if (testid) b.dataset.testid = testid;
  if (onclick) b.addEventListener('click', onclick);
  return b;
};
const uid = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join(''));
const store = area => ({
  get(key) { try { return JSON.parse(area.getItem(key)); } catch { return null; } },
  set(key, value) {
    try { value == null ? area.removeItem(key) : area.setItem(key, JSON.stringify(value)); } catch { /* ignore */ }
  },
});
const session = store(sessionStorage);
const local = store(localStorage);
const byId = (parent, attr, id) => parent.querySelector(`[data-${attr}="${CSS.escape(id)}"]`);

const state = {
  auth: null,            // login response: {token, expires_at, ws_url, operator}
  ws: null,
  ready: false,          // the first `dialogs` page after (re)connecting has arrived
  tries: 0,
  retryTimer: 0,
  pongTimer: 0,
  me: {}, site: {}, operators: [], templates: [], tags: new Set(),
  filter: { status: 'open', assignee: '', tag: '' },
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
};

// ---------- formatting ----------

function relTime(ms) {
  if (!ms) return '';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 45) return 'now';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}
const hhmm = d => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
function clockTime(ms) {
  const d = new Date(ms || Date.now());
  return d.toDateString() === new Date().toDateString() ? hhmm(d) : dayTime(ms);
}
function dayTime(ms) {
  const d = new Date(ms || Date.now());
  return `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })} ${hhmm(d)}`;
}
const fullTime = ms => (ms ? new Date(ms).toLocaleString() : '');
const oneLine = text => String(text || '').replace(/\s+/g, ' ').trim();
function fileSize(n) {
  n = +n || 0;
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
  return (n / 1048576).toFixed(1) + ' MB';
}
function initials(name) {
  const words = String(name || '').replace(/[^\p{L}\p{N} ]+/gu, ' ').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  return ((words[0][0] || '') + (words.length > 1 ? words[words.length - 1][0] : '')).toUpperCase();
}
// A URL that may become an href or img src: http(s) only, never javascript:, data: …
function safeUrl(u) {
  if (typeof u !== 'string' || !u) return null;
  try {
    const url = new URL(u); // absolute only: nothing from the network resolves against this page
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch { return null; }
}
function hue(s) {
  let h = 0;
  for (const c of String(s || '')) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}
// Initials in a circle, with the avatar image over them when it loads.
function avatar(name, url, cls) {
  const a = el('span', 'av' + (cls ? ' ' + cls : ''));
  fillAvatar(a, name, url);
  return a;
}
function fillAvatar(a, name, url) {
  a.replaceChildren(el('span', 'ini', initials(name)));
  a.style.backgroundColor = `hsl(${hue(name)} 45% 88%)`;
  a.setAttribute('aria-hidden', 'true');
  const src = safeUrl(url);
  if (src) {
    const img = el('img');
    img.alt = '';
    img.referrerPolicy = 'no-referrer';
    img.addEventListener('error', () => { img.hidden = true; });
    img.src = src;
    a.append(img);
  }
}
function link(url, text) {
  const href = safeUrl(url);
  const a = el(href ? 'a' : 'span', null, text || url || '');
  if (href) { a.href = href; a.target = '_blank'; a.rel = 'noopener noreferrer'; }
  return a;
}
const operatorById = id => state.operators.find(o => o.operator_id === id);
const myId = () => state.me.operator_id || (state.auth && state.auth.operator && state.auth.operator.operator_id);
const myName = () => state.me.name || (state.auth && state.auth.operator && state.auth.operator.name) || '';
const visitorName = id => (state.summaries.get(id) || {}).visitor_name || 'Visitor';

// ---------- sign-in ----------

function isExpired(auth) {
  let t = auth && auth.expires_at;
  if (!t) return false;
  if (typeof t === 'string') t = Date.parse(t);
  else if (t < 1e12) t *= 1000; // seconds
  return Number.isFinite(t) && Date.now() > t;
}

async function login(email, password) {
  const r = await fetch(API + 'operator/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (r.status === 401) throw new Error('Wrong email or password.');
  if (!r.ok) throw new Error(`Sign-in failed (HTTP ${r.status}). Please try again.`);
  return r.json();
}

function showLogin(message) {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-email').focus();
}

function showApp() {
  const op = state.auth.operator || {};
  state.reads = local.get(READ_KEY + op.operator_id) || {};
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = op.name || op.email || '';
  $('site').textContent = op.site_id ? `site ${op.site_id}` : '';
  route();
}

function signOut(message) {
  const ws = state.ws;
  state.ws = null;
  state.ready = false;
  if (ws) { ws.onclose = null; ws.close(); }
  clearTimeout(state.retryTimer);
  clearTimeout(state.pongTimer);
  state.auth = null;
  session.set(AUTH_KEY, null);
  session.set(OUTBOX_KEY, null);
  for (const m of [state.outbox, state.summaries, state.feeds, state.list, state.cards, state.visitorDialogs, state.uploads]) m.clear();
  state.openId = null;
  state.me = {};
  $('dialogs').replaceChildren();
  showPane(false);
  showLogin(message);
}

function onLoginSubmit(event) {
  event.preventDefault();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  if (!email || !password) { $('login-error').textContent = 'Enter your email and password.'; return; }
  const b = $('login-submit');
  b.disabled = true;
  $('login-error').textContent = '';
  login(email, password).then(auth => {
    state.auth = auth;
    session.set(AUTH_KEY, auth);
    $('login-password').value = '';
    showApp();
    connect();
  }, err => {
    $('login-error').textContent = err instanceof TypeError ? 'Cannot reach the server. Check your connection.' : err.message;
    $('login-password').select();
  }).finally(() => { b.disabled = false; });
}

// ---------- connection ----------

function setConn(text, cls) {
  const c = $('conn');
  c.textContent = text;
  c.className = 'conn ' + (cls || '');
}

function send(frame) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(frame));
  return true;
}

// A change the server answers with a pushed frame (or an error without client_id).
function act(frame, where) {
  state.lastAction = { where: where || 'pane', type: frame.type };
  if (!send(frame)) paneError('Not connected. Try again in a moment.');
}

function connect() {
  clearTimeout(state.retryTimer);
  if (state.ws || !state.auth) return;
  if (isExpired(state.auth)) { signOut('Your session has expired. Please sign in again.'); return; }
  setConn(state.tries ? 'Reconnecting…' : 'Connecting…', 'off');
  const url = state.auth.ws_url + (state.auth.ws_url.includes('?') ? '&' : '?') +
    'v=1&token=' + encodeURIComponent(state.auth.token);
  const ws = state.ws = new WebSocket(url);
  let opened = false;
  ws.onopen = () => {
    opened = true;
    send({ type: 'workspace' });
    subscribe();
  };
  ws.onmessage = ev => {
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    if (ws === state.ws && frame && typeof frame === 'object') onFrame(frame);
  };
  ws.onclose = () => dropConnection(ws, !opened);
}

function dropConnection(ws, neverOpened) {
  if (!ws || ws !== state.ws) return;
  state.ws = null;
  state.ready = false;
  ws.onclose = null;
  try { ws.close(); } catch { /* already closed */ }
  clearTimeout(state.pongTimer);
  state.pongTimer = 0;
  // A handshake refused with 401 looks like "closed before open": it is usually an expired token.
  if (neverOpened && isExpired(state.auth)) { signOut('Your session has expired. Please sign in again.'); return; }
  scheduleReconnect();
}

function scheduleReconnect() {
  setConn('Reconnecting…', 'off');
  const cap = Math.min(15000, 500 * 2 ** state.tries++);
  state.retryTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
}

function ping() {
  if (!state.ready || state.pongTimer) return;
  send({ type: 'ping' });
  state.pongTimer = setTimeout(() => { state.pongTimer = 0; dropConnection(state.ws); }, 8000);
}

function onFrame(f) {
  switch (f.type) {
    case 'workspace': return onWorkspace(f);
    case 'dialogs': return onDialogs(f);
    case 'dialog': return onSummary(f.dialog);
    case 'message': if (f.dialog) onSummary(f.dialog, f.message); return onMessage(f.message, true);
    case 'history': return onHistory(f);
    case 'ack': return onAck(f);
    case 'typing': return onTyping(f);
    case 'visitor': return onVisitor(f);
    case 'visitor_events': return onEvents(f);
    case 'templates': return onTemplates(f.templates);
    case 'upload': return onUpload(f);
    case 'error': return onError(f);
    case 'pong': clearTimeout(state.pongTimer); state.pongTimer = 0; return undefined;
    default: return undefined;
  }
}

function onWorkspace(f) {
  state.me = f.me || {};
  state.site = f.site || {};
  state.operators = Array.isArray(f.operators) ? f.operators : [];
  for (const t of f.tags || []) state.tags.add(t);
  $('me').textContent = state.me.name || state.me.email || $('me').textContent;
  $('site').textContent = state.site.name || $('site').textContent;
  renderFilterOptions();
  renderTagOptions();
  onTemplates(f.templates);
  renderList();
  if (state.openId) renderHeader();
}

// ---------- dialog list ----------

function subscribe(cursor) {
  const { status, assignee, tag } = state.filter;
  const frame = { type: 'subscribe', status };
  if (assignee) frame.assignee = assignee;
  if (tag) frame.tag = tag;
  if (cursor) frame.cursor = cursor;
  state.pagingMore = !!cursor;
  send(frame);
}

function setFilter(change) {
  Object.assign(state.filter, change);
  $('tab-open').setAttribute('aria-pressed', String(state.filter.status === 'open'));
  $('tab-closed').setAttribute('aria-pressed', String(state.filter.status === 'closed'));
  state.list.clear();
  state.cursor = null;
  renderList();
  subscribe();
}

function matches(d) {
  const { status, assignee, tag } = state.filter;
  if ((d.status || 'open') !== status) return false;
  const who = d.assignee && d.assignee.operator_id;
  if (assignee === 'me' ? who !== myId() : assignee === 'none' ? !!who : assignee && who !== assignee) return false;
  return !tag || (d.tags || []).includes(tag);
}

function onDialogs(f) {
  // An answer to a subscribe the filter has moved on from is dropped.
  const { status, assignee, tag } = state.filter;
  if ((f.status && f.status !== status) || (f.tag != null && f.tag !== (tag || null)) ||
    ('assignee' in f && (f.assignee || '') !== assignee)) return;
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
  if (!state.ready) {
    state.ready = true;
    state.tries = 0;
    setConn('Connected', 'on');
    if (state.openId) {
      requestHistory(state.openId);
      const d = state.summaries.get(state.openId);
      if (d && d.visitor_id) send({ type: 'visitor', visitor_id: d.visitor_id });
    }
    if (state.full) {
      send({ type: 'visitor', visitor_id: state.full.visitor_id });
      requestEvents(true);
    }
    for (const item of state.outbox.values()) item.sentAt = 0;
    flushOutbox();
  }
}

// Keeps the newest summary; returns false for a stale one.
function remember(d) {
  const old = state.summaries.get(d.dialog_id);
  if (old && (old.last_seq || 0) > (d.last_seq || 0)) return false;
  state.summaries.set(d.dialog_id, d);
  for (const t of d.tags || []) {
    if (!state.tags.has(t)) { state.tags.add(t); state.tagsDirty = true; }
  }
  return true;
}

function onSummary(d, message) {
  if (!d || !d.dialog_id) return;
  const old = state.summaries.get(d.dialog_id);
  if (!remember(d)) return;
  // The visitor's name or avatar changed: the feed's author lines follow.
  if (old && (old.visitor_name !== d.visitor_name || old.visitor_avatar !== d.visitor_avatar) && sectionOf(d.dialog_id)) renderFeed(true);
  if (state.tagsDirty) { state.tagsDirty = false; renderFilterOptions(); renderTagOptions(); }
  if (matches(d)) state.list.add(d.dialog_id); else state.list.delete(d.dialog_id);
  // The visitor's list of dialogs (history toggle, full card) follows too.
  const vd = state.visitorDialogs.get(d.visitor_id);
  if (vd) {
    const i = vd.findIndex(x => x.dialog_id === d.dialog_id);
    if (i >= 0) vd[i] = d; else vd.push(d);
    if (i < 0 && state.allHistory && openVisitor() === d.visitor_id) { feedOf(d.dialog_id); renderFeed(); }
  }
  if (d.dialog_id === state.openId) {
    if (!document.hidden) markRead(d);
    renderHeader();
  }
  const boundary = byId($('feed'), 'boundary', d.dialog_id);
  if (boundary) boundary.textContent = boundaryText(d);
  if (state.full && state.full.visitor_id === d.visitor_id) renderFull();
  if (message && !old && !message.note) state.newDialog = d.dialog_id;
  renderList();
}

function isUnread(d) {
  return !!d && (d.status || 'open') === 'open' && !!d.last_author && d.last_author.kind === 'visitor' &&
    (d.last_seq || 0) > (state.reads[d.dialog_id] || 0);
}

function markRead(d) {
  if (!d || (state.reads[d.dialog_id] || 0) >= (d.last_seq || 0)) return;
  state.reads[d.dialog_id] = d.last_seq || 0;
  const ids = Object.keys(state.reads);
  if (ids.length > 3000) for (const id of ids) if (!state.summaries.has(id)) delete state.reads[id]; // keep it small
  local.set(READ_KEY + myId(), state.reads);
}

function listed() {
  return [...state.list].map(id => state.summaries.get(id)).filter(Boolean)
    .sort((a, b) => (b.last_activity || 0) - (a.last_activity || 0));
}

function renderList() {
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

function makeRow(id) {
  const li = el('li');
  li.dataset.dialogId = id;
  const b = button(null, 'row', 'dialog-row', () => openDialog(id));
  b.dataset.dialogId = id;
  const main = el('span', 'rmain');
  const top = el('span', 'rtop');
  top.append(el('span', 'name'), el('span', 'time'));
  main.append(top, el('span', 'last'), el('span', 'chips rtags'));
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
  return { name: d.visitor_name || 'Visitor', avatar: d.visitor_avatar };
}

function updateRow(li, d) {
  const b = li.firstChild;
  const [av, main] = b.children;
  const [top, last, tags] = main.children;
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
  const prefix = d.last_author && d.last_author.kind === 'operator' ? who.name + ': ' : '';
  last.textContent = typing ? 'typing: ' + oneLine(typing.text) : prefix + oneLine(d.last_text);
  last.classList.toggle('is-typing', !!typing);
  tags.replaceChildren(...(d.tags || []).map(t => el('span', 'chip', t)));
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
  b.setAttribute('aria-current', String(d.dialog_id === state.openId));
}

function refreshRow(id) {
  const li = byId($('dialogs'), 'dialog-id', id);
  const d = state.summaries.get(id);
  if (li && li.tagName === 'LI' && d) updateRow(li, d);
}

function renderFilterOptions() {
  const fill = (select, options) => {
    const value = select.value;
    select.replaceChildren(...options.map(([v, text]) => {
      const o = el('option', null, text);
      o.value = v;
      return o;
    }));
    select.value = options.some(([v]) => v === value) ? value : options[0][0];
  };
  const ops = state.operators.filter(o => o.operator_id !== myId()).map(o => [o.operator_id, o.name || o.operator_id]);
  fill($('filter-assignee'), [['', 'All'], ['me', 'Mine'], ['none', 'Unassigned'], ...ops]);
  fill($('filter-tag'), [['', 'All tags'], ...[...state.tags].sort().map(t => [t, t])]);
  fill($('assign'), [['', 'Unassigned'], ...state.operators.map(o => [o.operator_id, o.name || o.operator_id])]);
  if (state.openId) renderHeader();
}

function renderTagOptions() {
  $('tag-options').replaceChildren(...[...state.tags].sort().map(t => {
    const o = el('option');
    o.value = t;
    return o;
  }));
}

function moveDialog(step) {
  const rows = listed();
  if (!rows.length) return;
  const i = rows.findIndex(d => d.dialog_id === state.openId);
  const next = rows[i < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, i + step))];
  openDialog(next.dialog_id);
  const row = byId($('dialogs'), 'dialog-id', next.dialog_id);
  if (row) row.scrollIntoView({ block: 'nearest' });
}

// ---------- messages ----------

function feedOf(id) {
  let f = state.feeds.get(id);
  if (!f) state.feeds.set(id, f = new Map());
  return f;
}
const topSeq = feed => Math.max(0, ...feed.keys());

function requestHistory(id, after) {
  const feed = feedOf(id);
  send({ type: 'history', dialog_id: id, after_seq: after != null ? after : Math.max(0, topSeq(feed) - 20) });
}

// Stores a message; live=true for pushed frames (they may notify). With `batch`, the caller
// renders what changed in one go (a history page: one layout, not one per message).
function onMessage(m, live, batch) {
  if (!m || !m.dialog_id || typeof m.seq !== 'number') return;
  const id = m.dialog_id;
  if (m.client_id && state.outbox.has(m.client_id)) dropFromOutbox(m.client_id);
  const isVisitor = !m.author || m.author.kind !== 'operator';
  if (isVisitor) clearTyping(id);
  const feed = state.feeds.get(id);
  // A seq gap means a message stored concurrently may have missed this connection: fetch it.
  if (live && feed && feed.size && m.seq > topSeq(feed) + 1) requestHistory(id, topSeq(feed));
  if (feed) {
    const had = feed.get(m.seq);
    if (!had || had.provisional) {
      feed.set(m.seq, m);
      if (batch) batch.push([m, !!had]); else renderFeedMessage(m, !!had);
    }
  }
  if (live && isVisitor) {
    if (document.hidden) alertOperator(id, m);
    else if (id === state.openId) markRead(state.summaries.get(id));
  }
  state.newDialog = null;
  if (live) renderList();
}

function onHistory(f) {
  const id = f.dialog_id;
  const msgs = Array.isArray(f.messages) ? f.messages : [];
  if (!id || !state.feeds.has(id)) return;
  const batch = [];
  for (const m of msgs) onMessage({ dialog_id: id, ...m }, false, batch);
  renderBatch(batch);
  if (f.more && msgs.length) requestHistory(id, f.next_after != null ? f.next_after : msgs[msgs.length - 1].seq);
  refreshRow(id);
}

function onAck(f) {
  const item = state.outbox.get(f.client_id);
  if (!item) return;
  dropFromOutbox(f.client_id);
  // Shown under its seq until the pushed `message` (with the file's URL) replaces it.
  const feed = feedOf(f.dialog_id || item.dialog_id);
  if (feed.has(f.seq)) return;
  const op = state.me;
  const m = {
    seq: f.seq, client_id: f.client_id, dialog_id: f.dialog_id || item.dialog_id, text: item.text,
    note: item.note || undefined, file: item.file ? { name: item.file.name } : undefined, provisional: true,
    created_at: Date.now(), author: { kind: 'operator', id: op.operator_id || myId(), name: myName() },
  };
  feed.set(f.seq, m);
  renderFeedMessage(m, false);
}

function onError(f) {
  const up = f.client_id && state.uploads.get(f.client_id);
  if (up) {
    state.uploads.delete(f.client_id);
    setUpStatus('');
    paneError(`${up.file.name} was not uploaded: ${f.message || f.code}`);
    return;
  }
  const item = f.client_id && state.outbox.get(f.client_id);
  if (item) {
    if (f.code === 'internal') { item.sentAt = Date.now() - RETRY_AFTER_MS + 3000; return; } // retry soon
    dropFromOutbox(f.client_id);
    item.error = f.message || f.code;
    const node = pendingNode(f.client_id);
    if (node) markFailed(node, item.error);
    return;
  }
  if (f.code === 'unauthorized') { dropConnection(state.ws, true); return; }
  const text = f.message || f.code || 'Refused';
  let where = state.lastAction && state.lastAction.where;
  state.lastAction = null;
  // Card edits may overlap other actions: the message names the field it refuses.
  const edits = state.pendingEdits;
  const edit = f.code === 'invalid' && (edits.find(e => text.includes(e.field)) || (where === 'card' && edits[0]));
  if (edit) where = 'card';
  if (where === 'card') {
    if (edit) {
      edits.splice(edits.indexOf(edit), 1);
      if (edit.visitor_id === openVisitor()) {
        const input = $('card-' + edit.field);
        if (document.activeElement !== input) input.value = edit.value; // the typed value stays
        showCardError(edit.field, text);
      }
    } else showCardError('name', text);
  } else if (where === 'tpl-save') {
    state.tplSaving = false;
    $('tpl-save-error').textContent = text;
  } else if (where === 'tpl') {
    if (state.tplEdit) state.tplEdit.saving = false;
    $('tpl-error').textContent = text;
  } else if (f.code === 'not_found' && state.openId && !where) {
    paneError('This dialog is not available any more.');
  } else if (where) {
    paneError(text);
  } else console.warn('parley:', f.code, f.message);
}

function paneError(text) { $('derror').textContent = text || ''; }
function setUpStatus(text) { $('upstatus').textContent = text || ''; }

// ---------- outbox ----------

function saveOutbox() {
  session.set(OUTBOX_KEY, [...state.outbox.values()].map(({ client_id, dialog_id, text, note, file }) => ({ client_id, dialog_id, text, note, file })));
}
function dropFromOutbox(cid) {
  state.outbox.delete(cid);
  saveOutbox();
}
function flushOutbox() {
  if (!state.ready) return;
  const now = Date.now();
  for (const item of state.outbox.values()) {
    if (now - item.sentAt < RETRY_AFTER_MS) continue;
    item.sentAt = now;
    const frame = { type: 'message', dialog_id: item.dialog_id, client_id: item.client_id, text: item.text };
    if (item.note) frame.note = true;
    if (item.file) frame.file = item.file;
    send(frame);
  }
}

function queue(item) {
  item.client_id = item.client_id || uid();
  item.sentAt = 0;
  state.outbox.set(item.client_id, item);
  saveOutbox();
  renderPending(item);
  scrollFeed(true);
  flushOutbox();
}

function sendReply() {
  const input = $('reply-input');
  const text = input.value.trim();
  const id = state.openId;
  if (!text || !id || isClosed()) return;
  if (new TextEncoder().encode(text).length > 4096) {
    paneError('This message is too long (4096 bytes at most).');
    return;
  }
  paneError('');
  input.value = '';
  state.drafts.delete(id);
  closeSuggest();
  queue({ dialog_id: id, text, note: state.mode === 'note' });
}

// ---------- current dialog ----------

const isClosed = () => (state.summaries.get(state.openId) || {}).status === 'closed';
const openVisitor = () => (state.summaries.get(state.openId) || {}).visitor_id;

function showPane(on) {
  $('placeholder').hidden = on;
  $('pane').hidden = !on;
  $('card-empty').hidden = on;
  $('card').hidden = !on;
}

function openDialog(id) {
  if (state.openId && state.openId !== id) state.drafts.set(state.openId, $('reply-input').value);
  const previousVisitor = openVisitor();
  state.openId = id;
  const d = state.summaries.get(id) || {};
  markRead(d);
  showPane(true);
  paneError('');
  closeSuggest();
  $('reply-input').value = state.drafts.get(id) || '';
  feedOf(id);
  renderFeed();
  renderHeader();
  renderTyping();
  renderList();
  requestHistory(id);
  if (d.visitor_id) {
    if (d.visitor_id !== previousVisitor) {
      clearCardError();
      for (const f of ['name', 'email', 'phone']) delete $('card-' + f).dataset.sent;
    }
    renderCard();
    send({ type: 'visitor', visitor_id: d.visitor_id });
  }
  if (!$('reply-input').disabled) $('reply-input').focus();
}

function renderHeader() {
  const d = state.summaries.get(state.openId);
  if (!d) return;
  const closed = d.status === 'closed';
  $('dtitle').textContent = d.visitor_name || 'Visitor';
  const bits = [];
  if (d.created_at) bits.push('started ' + clockTime(d.created_at));
  if (closed) bits.push('closed' + (d.closed_at ? ' ' + clockTime(d.closed_at) : ''));
  $('dmeta').textContent = bits.join(' · ');
  $('close-dialog').hidden = closed;
  $('reopen-dialog').hidden = !closed;
  $('assign').value = (d.assignee && d.assignee.operator_id) || '';
  const chips = (d.tags || []).map(t => {
    const li = el('li', 'chip');
    li.dataset.testid = 'tag-chip';
    li.dataset.tag = t;
    li.append(el('span', null, t));
    const x = button('×', 'x', 'tag-remove', () => act({ type: 'tag_remove', dialog_id: d.dialog_id, tag: t }));
    x.setAttribute('aria-label', 'Remove tag ' + t);
    li.append(x);
    return li;
  });
  $('dtags').replaceChildren(...chips);
  const input = $('reply-input');
  for (const c of [input, $('reply-send'), $('template-save')]) c.disabled = closed;
  $('attach').disabled = closed || state.mode === 'note';
  $('attach').title = state.mode === 'note' ? 'Notes cannot carry files' : 'Attach a file (up to 2 MB), or drop it on the messages';
  input.placeholder = closed ? 'Reopen to reply' : state.mode === 'note'
    ? 'Write a note for operators; the visitor never sees it.'
    : 'Write a reply. Enter sends, Shift+Enter starts a new line, / inserts a template.';
  $('history-toggle').setAttribute('aria-pressed', String(state.allHistory));
}

function setMode(mode) {
  state.mode = mode;
  $('mode-reply').setAttribute('aria-pressed', String(mode === 'reply'));
  $('mode-note').setAttribute('aria-pressed', String(mode === 'note'));
  $('reply').classList.toggle('note', mode === 'note');
  $('reply-send').textContent = mode === 'note' ? 'Add note' : 'Send';
  renderHeader();
  $('reply-input').focus();
}

function boundaryText(d) {
  return `Dialog started ${dayTime(d.created_at)} · ${d.status === 'closed' ? 'closed' : 'open'}`;
}

// The dialogs the feed shows: the open one, or all of its visitor's (oldest first).
function feedDialogs() {
  const list = state.allHistory && state.visitorDialogs.get(openVisitor());
  if (!list) return [state.openId];
  const ids = [...list].sort((a, b) => (a.created_at || 0) - (b.created_at || 0)).map(d => d.dialog_id);
  if (!ids.includes(state.openId)) ids.push(state.openId);
  return ids;
}

function renderFeed(keepScroll) {
  const feedEl = $('feed');
  const top = feedEl.scrollTop;
  feedEl.replaceChildren();
  for (const id of feedDialogs()) {
    const sec = el('section', 'fsec');
    sec.dataset.dialogId = id;
    if (state.allHistory) {
      const d = state.summaries.get(id) || { created_at: 0 };
      const b = el('p', 'boundary', boundaryText(d));
      b.dataset.testid = 'dialog-boundary';
      b.dataset.boundary = id;
      sec.append(b);
    }
    feedEl.append(sec);
    [...feedOf(id).values()].sort((a, b) => a.seq - b.seq).forEach(m => insertFeedMessage(m, false));
  }
  for (const item of state.outbox.values()) if (item.dialog_id === state.openId) renderPending(item);
  if (keepScroll) feedEl.scrollTop = top; else scrollFeed(true);
}

function authorOf(m) {
  if (m.author && m.author.kind === 'operator') {
    const op = operatorById(m.author.id) || {};
    return { name: m.author.name || op.name || 'Operator', avatar: op.avatar, op: true };
  }
  const d = state.summaries.get(m.dialog_id) || {};
  const card = state.cards.get(d.visitor_id) || {};
  return { name: d.visitor_name || card.display_name || 'Visitor', avatar: d.visitor_avatar || card.avatar, op: false };
}

function messageNode(m) {
  const who = authorOf(m);
  const node = el('div', 'msg ' + (who.op ? 'operator' : 'visitor'));
  node.dataset.testid = 'feed-message';
  node.dataset.author = who.op ? 'operator' : 'visitor';
  if (m.note) { node.dataset.note = 'true'; node.classList.add('note'); }
  const body = el('div', 'mbody');
  const head = el('div', 'head');
  if (m.note) head.append(el('span', 'label', 'Note'));
  head.append(el('span', 'author', who.name), el('span', 'state'));
  body.append(head);
  if (m.file) body.append(fileNode(m.file));
  if (m.text || !m.file) body.append(el('div', 'text', m.text));
  node.append(avatar(who.name, who.avatar), body);
  return node;
}

function fileNode(file) {
  const box = el('div', 'file');
  const href = safeUrl(file.url);
  const label = `${file.name || 'file'}${file.size != null ? ' (' + fileSize(file.size) + ')' : ''}`;
  if (href && file.image) {
    const img = el('img', 'thumb');
    img.alt = file.name || 'image';
    img.dataset.testid = 'file-thumb';
    img.src = href;
    box.append(img);
  }
  const a = el(href ? 'a' : 'span', 'flink', label);
  a.dataset.testid = 'file-link';
  if (href) {
    a.href = href;
    a.download = file.name || '';
    a.rel = 'noopener';
    a.target = '_blank';
  }
  box.append(a);
  return box;
}

// Orders nodes inside a dialog's section by a private key: seq, Infinity for pending ones.
function place(sec, node, key) {
  node._key = key;
  const last = sec.lastElementChild;
  if (!last || last._key == null || last._key <= key) { if (last !== node) sec.append(node); return; }
  for (const c of sec.children) {
    if (c !== node && c._key != null && !(c._key <= key)) { sec.insertBefore(node, c); return; }
  }
  sec.append(node);
}

const sectionOf = id => byId($('feed'), 'dialog-id', id);
function pendingNode(cid) {
  return $('feed').querySelector(`[data-client-id="${CSS.escape(cid)}"]`);
}

const nearBottom = () => { const f = $('feed'); return f.scrollHeight - f.scrollTop - f.clientHeight < 80; };

function renderFeedMessage(m, replace) {
  const stick = nearBottom();
  insertFeedMessage(m, replace);
  scrollFeed(stick);
}

function renderBatch(items) {
  if (!items.length) return;
  const stick = nearBottom();
  for (const [m, replace] of items.sort((a, b) => a[0].seq - b[0].seq)) insertFeedMessage(m, replace);
  scrollFeed(stick);
}

// Puts a message in its dialog's section, in seq order; reads no layout.
function insertFeedMessage(m, replace) {
  const sec = sectionOf(m.dialog_id);
  if (!sec) return;
  const old = sec.querySelector(`[data-seq="${m.seq}"]`);
  if (old && !replace) return;
  const pending = m.client_id && pendingNode(m.client_id);
  const node = messageNode(m);
  node.dataset.seq = m.seq;
  const t = node.querySelector('.state');
  t.textContent = clockTime(m.created_at);
  t.title = fullTime(m.created_at || Date.now());
  if (old) old.replaceWith(node);
  if (pending) pending.remove();
  place(sec, node, m.seq);
}

function renderPending(item) {
  const sec = sectionOf(item.dialog_id);
  if (!sec || pendingNode(item.client_id)) return;
  const node = messageNode({
    author: { kind: 'operator', id: myId(), name: myName() }, text: item.text, note: item.note,
    file: item.file ? { name: item.file.name } : null, dialog_id: item.dialog_id,
  });
  node.dataset.clientId = item.client_id;
  node.classList.add('pending');
  node.querySelector('.state').textContent = 'Sending…';
  place(sec, node, Infinity);
}

function markFailed(node, error) {
  node.classList.remove('pending');
  node.classList.add('failed');
  node.querySelector('.state').textContent = 'Not sent: ' + error;
  const sec = node.parentNode;
  const seqs = [...sec.querySelectorAll('[data-seq]')].map(n => +n.dataset.seq);
  place(sec, node, Math.max(0, ...seqs) + 0.5);
}

function scrollFeed(force) {
  const feed = $('feed');
  if (force) feed.scrollTop = feed.scrollHeight;
}

function toggleAllHistory() {
  state.allHistory = !state.allHistory;
  $('history-toggle').setAttribute('aria-pressed', String(state.allHistory));
  const vid = openVisitor();
  if (state.allHistory && vid) {
    if (state.visitorDialogs.has(vid)) loadVisitorHistories(vid);
    send({ type: 'visitor', visitor_id: vid });
  }
  renderFeed();
}

function loadVisitorHistories(vid) {
  for (const d of state.visitorDialogs.get(vid) || []) {
    if (!state.feeds.has(d.dialog_id)) { feedOf(d.dialog_id); requestHistory(d.dialog_id, 0); }
  }
}

// ---------- typing ----------

function onTyping(f) {
  const id = f.dialog_id;
  if (!id || !f.author || f.author.kind !== 'visitor') return;
  clearTimeout((state.typing.get(id) || {}).timer);
  const text = String(f.text || '');
  if (text.trim()) state.typing.set(id, { text, timer: setTimeout(() => clearTyping(id), TYPING_SHOW_MS) });
  else state.typing.delete(id);
  refreshRow(id);
  if (id === state.openId) renderTyping();
}

function clearTyping(id) {
  const t = state.typing.get(id);
  if (!t) return;
  clearTimeout(t.timer);
  state.typing.delete(id);
  refreshRow(id);
  if (id === state.openId) renderTyping();
}

function renderTyping() {
  const t = state.typing.get(state.openId);
  $('typing').textContent = t ? visitorName(state.openId) + ' is typing: ' + t.text : '';
}

let lastTypingSent = 0;
function onReplyInput() {
  updateSuggest();
  const id = state.openId;
  if (!id || state.mode === 'note' || !$('reply-input').value.trim()) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_THROTTLE_MS || !state.ready) return;
  if (send({ type: 'typing', dialog_id: id })) lastTypingSent = now;
}

// ---------- templates ----------

function onTemplates(list) {
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

function updateSuggest() {
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

function closeSuggest() {
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

function onSuggestKey(e) {
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

function saveAsTemplate(e) {
  e.preventDefault();
  const shortcut = $('template-shortcut').value.trim().replace(/^\//, '');
  const text = $('reply-input').value.trim();
  if (!shortcut) { $('tpl-save-error').textContent = 'Give the template a shortcut.'; return; }
  if (!text) { $('tpl-save-error').textContent = 'Write the template text in the reply box first.'; return; }
  $('tpl-save-error').textContent = '';
  state.tplSaving = true;
  act({ type: 'template_save', shortcut, text }, 'tpl-save');
}

function renderTemplates() {
  const ul = $('tpl-list');
  const edit = state.tplEdit;
  const rows = state.templates.map(t => {
    const li = el('li', 'tpl');
    li.dataset.testid = 'template-row';
    li.dataset.templateId = t.template_id;
    if (edit && edit.id === t.template_id) { li.append(templateForm(edit)); return li; }
    const head = el('div', 'tpl-head');
    head.append(el('strong', null, '/' + t.shortcut), el('span', 'spacer'),
      button('Edit', 'small', 'template-edit', () => { state.tplEdit = { id: t.template_id, shortcut: t.shortcut, text: t.text }; renderTemplates(); focusTplForm(); }),
      button('Delete', 'small danger', 'template-delete', () => act({ type: 'template_delete', template_id: t.template_id }, 'tpl')));
    const meta = t.updated_by ? `${t.updated_by} · ${dayTime(t.updated_at)}` : '';
    li.append(head, el('p', 'tpl-text', t.text), el('p', 'muted small', meta));
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
  const save = el('button', 'primary small', 'Save');
  save.type = 'submit';
  save.dataset.testid = 'template-edit-save';
  const bar = el('div', 'tpl-head');
  bar.append(save, button('Cancel', 'small', null, () => { state.tplEdit = null; renderTemplates(); }));
  f.append(l1, l2, bar);
  f.addEventListener('submit', e => {
    e.preventDefault();
    const shortcut = edit.shortcut.trim().replace(/^\//, '');
    const text = edit.text.trim();
    if (!shortcut || !text) { $('tpl-error').textContent = 'A template needs a shortcut and a text.'; return; }
    edit.saving = true;
    const frame = { type: 'template_save', shortcut, text };
    if (edit.id) frame.template_id = edit.id;
    act(frame, 'tpl');
  });
  return f;
}

function focusTplForm() {
  const i = $('tpl-list').querySelector('.tpl-form input');
  if (i) i.focus();
}

// ---------- files ----------

function fileType(file) {
  if (file.type && ALLOWED_TYPES.has(file.type)) return file.type;
  const ext = (/\.([a-z0-9]+)$/i.exec(file.name) || [])[1];
  return file.type ? null : FILE_TYPES[(ext || '').toLowerCase()] || null;
}

function attachFile(file) {
  const id = state.openId;
  if (!file || !id) return;
  paneError('');
  if (isClosed()) { paneError('Reopen the dialog to send a file.'); return; }
  if (state.mode === 'note') { paneError('A note cannot carry a file: switch to Reply to send one.'); return; }
  if (file.size > MAX_FILE) { paneError(`${file.name} is larger than 2 MB and was not sent.`); return; }
  if (!file.size) { paneError(`${file.name} is empty and was not sent.`); return; }
  const type = fileType(file);
  if (!type) { paneError(`${file.name}: this type of file cannot be sent (images, PDF, text, CSV, ZIP, Word and Excel files can).`); return; }
  if (file.name.length > 200) { paneError('The file name is too long (200 characters at most).'); return; }
  const client_id = uid();
  state.uploads.set(client_id, { file, dialog_id: id });
  setUpStatus(`Uploading ${file.name}…`);
  if (!send({ type: 'upload', dialog_id: id, client_id, name: file.name, size: file.size, content_type: type })) {
    state.uploads.delete(client_id);
    setUpStatus('');
    paneError('Not connected. Try again in a moment.');
  }
}

async function onUpload(f) {
  const up = state.uploads.get(f.client_id);
  if (!up) return;
  const { file } = up;
  const url = safeUrl(f.url);
  try {
    if (!url || !f.file || !f.file.key) throw new Error('the server gave no upload address');
    const form = new FormData();
    for (const [k, v] of Object.entries(f.fields || {})) form.append(k, v);
    form.append('file', file, file.name);
    const r = await fetch(url, { method: 'POST', body: form });
    if (!r.ok) {
      const body = await r.text();
      let why = `HTTP ${r.status}`;
      try {
        const xml = new DOMParser().parseFromString(body, 'application/xml');
        const msg = xml.querySelector('Message');
        const code = xml.querySelector('Code');
        if (msg) why = msg.textContent + (code ? ` (${code.textContent})` : '');
      } catch { /* keep the status */ }
      throw new Error(why);
    }
    state.uploads.delete(f.client_id);
    setUpStatus('');
    queue({ dialog_id: up.dialog_id, text: '', file: { key: f.file.key, name: f.file.name || file.name } });
  } catch (err) {
    state.uploads.delete(f.client_id);
    setUpStatus('');
    paneError(`${file.name} was not uploaded: ${err instanceof TypeError ? 'cannot reach the file storage' : err.message}`);
  }
}

// ---------- visitor card ----------

function onVisitor(f) {
  const card = f.visitor;
  if (!card || !card.visitor_id) return;
  const vid = card.visitor_id;
  state.cards.set(vid, card);
  if (Array.isArray(f.dialogs)) {
    for (const d of f.dialogs) if (d && d.dialog_id) remember(d);
    state.visitorDialogs.set(vid, f.dialogs.map(d => state.summaries.get(d.dialog_id) || d));
    if (state.allHistory && vid === openVisitor()) { loadVisitorHistories(vid); renderFeed(); }
  }
  const same = (a, b) => String(a || '').trim().toLowerCase() === String(b || '').trim().toLowerCase();
  state.pendingEdits = state.pendingEdits.filter(e => {
    if (e.visitor_id !== vid || !same(card[e.field], e.value)) return true;
    if ($('card-error').dataset.field === e.field) clearCardError();
    return false;
  });
  if (vid === openVisitor()) renderCard();
  if (state.full && state.full.visitor_id === vid) {
    renderFull();
    if (!Array.isArray(f.dialogs)) requestEvents(true); // an edit: its event is new
  }
}

function facts(dl, card) {
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

function renderCard() {
  const vid = openVisitor();
  const card = state.cards.get(vid);
  const d = state.summaries.get(state.openId) || {};
  const name = (card && card.display_name) || d.visitor_name || 'Visitor';
  $('card-title').textContent = name;
  fillAvatar($('card-avatar'), name, card ? card.avatar : d.visitor_avatar);
  $('full-card-link').href = '#visitor/' + encodeURIComponent(vid || '');
  for (const field of ['name', 'email', 'phone']) {
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

function saveField(input) {
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

function showCardError(field, text) {
  const p = $('card-error');
  p.textContent = text;
  p.dataset.field = field;
  const input = $('card-' + field);
  delete input.dataset.sent;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', 'card-error');
  input.closest('label').after(p);
}

function clearCardError() {
  const p = $('card-error');
  p.textContent = '';
  delete p.dataset.field;
  for (const f of ['name', 'email', 'phone']) {
    $('card-' + f).removeAttribute('aria-invalid');
    $('card-' + f).removeAttribute('aria-describedby');
  }
}

// ---------- full card (#visitor/<id>) ----------

function route() {
  const m = /^#visitor\/(.+)$/.exec(location.hash);
  const vid = m ? decodeURIComponent(m[1]) : null;
  const on = !!vid && !!state.auth;
  $('app').classList.toggle('fullmode', on);
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

function requestEvents(fresh) {
  const full = state.full;
  if (!full) return;
  if (fresh) full.reset = true;
  const frame = { type: 'visitor_events', visitor_id: full.visitor_id };
  if (!fresh && full.cursor) frame.cursor = full.cursor;
  send(frame);
}

function onEvents(f) {
  const full = state.full;
  if (!full || f.visitor_id !== full.visitor_id) return;
  if (full.reset) { full.events = []; full.reset = false; }
  full.events.push(...(Array.isArray(f.events) ? f.events : []));
  full.cursor = f.cursor || null;
  renderFull();
}

function renderFull() {
  const full = state.full;
  if (!full) return;
  const card = state.cards.get(full.visitor_id) || {};
  const name = card.display_name || 'Visitor';
  $('full-title').textContent = name;
  fillAvatar($('full-avatar'), name, card.avatar);
  facts($('full-facts'), card);
  const extra = [];
  for (const k of ['name', 'email', 'phone']) {
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
  const edits = [];
  const views = [];
  for (const ev of full.events) {
    const li = el('li', 'event');
    li.append(el('span', 'when muted', dayTime(ev.at)), ' ');
    if (ev.kind === 'edit') {
      li.dataset.testid = 'edit-event';
      li.append(el('strong', null, ev.field || ''), ': ',
        el('span', 'old', ev.old == null || ev.old === '' ? '(empty)' : String(ev.old)), ' → ',
        el('span', 'new', ev.new == null || ev.new === '' ? '(empty)' : String(ev.new)),
        el('span', 'muted', ev.by ? ' · by ' + ev.by : ''));
    } else {
      li.dataset.testid = 'page-event';
      li.append(ev.url ? link(ev.url, ev.title || ev.url) : el('span', null, ev.kind || 'event'));
      if (ev.referrer) li.append(el('span', 'muted', ' from '), link(ev.referrer));
    }
    (ev.kind === 'edit' ? edits : views).push(li);
  }
  $('full-edits').replaceChildren(...(edits.length ? edits : [el('li', 'muted', 'No edits loaded.')]));
  $('full-events').replaceChildren(...(views.length ? views : [el('li', 'muted', 'No page views loaded.')]));
  $('events-more').hidden = !full.cursor;
}

// ---------- notifications ----------

let audio = null;
function unlockAudio() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
  } catch { audio = null; }
}

function beep() {
  if (!audio) return;
  try {
    const t = audio.currentTime;
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.setValueAtTime(880, t);
    o.frequency.setValueAtTime(660, t + 0.12);
    g.gain.setValueAtTime(0.08, t);
    g.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    o.connect(g).connect(audio.destination);
    o.start(t);
    o.stop(t + 0.3);
  } catch { /* no sound */ }
}

function alertOperator(id, m) {
  if (!state.notify) return;
  beep();
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const fresh = state.newDialog === id;
  try {
    const n = new Notification(fresh ? `New dialog: ${visitorName(id)}` : visitorName(id), {
      body: m.file ? 'sent a file: ' + (m.file.name || '') : oneLine(m.text).slice(0, 140), tag: id,
    });
    n.onclick = () => { window.focus(); location.hash = ''; openDialog(id); n.close(); };
  } catch { /* some browsers only notify from a service worker */ }
}

function renderNotify() {
  $('notify').checked = state.notify;
  const p = 'Notification' in window ? Notification.permission : 'unsupported';
  $('notify-state').textContent = !state.notify ? 'Off.'
    : p === 'denied' ? 'The browser blocks notifications for this page; only the sound plays.'
      : p === 'unsupported' ? 'This browser has no notifications; only the sound plays.' : '';
  if (state.notify && p === 'default') {
    $('notify-state').append(button('Allow browser notifications', 'small', 'notify-allow', askPermission));
  }
}

function askPermission() {
  unlockAudio();
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().then(renderNotify, renderNotify);
}

// ---------- pop-ups and keyboard ----------

function togglePopup(id, buttonId, on) {
  const p = $(id);
  const show = on == null ? p.hidden : on;
  p.hidden = !show;
  $(buttonId).setAttribute('aria-expanded', String(show));
  return show;
}

function closePopups() {
  let closed = false;
  if (!$('suggest').hidden) { closeSuggest(); closed = true; }
  if (!$('settings').hidden) { togglePopup('settings', 'settings-open', false); closed = true; }
  if (!$('tpl-panel').hidden) { togglePopup('tpl-panel', 'tpl-open', false); state.tplEdit = null; $('tpl-open').focus(); closed = true; }
  if (!$('tpl-save-form').hidden) { $('tpl-save-form').hidden = true; state.tplSaving = false; closed = true; }
  if ($('app').classList.contains('show-card')) { toggleCard(false); closed = true; }
  return closed;
}

function toggleCard(on) {
  const show = on == null ? !$('app').classList.contains('show-card') : on;
  $('app').classList.toggle('show-card', show);
  $('card-toggle').setAttribute('aria-expanded', String(show));
}

function onGlobalKey(e) {
  if (!state.auth || $('app').hidden) return;
  if (e.key === 'Escape') {
    if (closePopups()) e.preventDefault();
    else if (state.full) location.hash = '';
    return;
  }
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    if (state.full) location.hash = '';
    moveDialog(e.key === 'ArrowDown' ? 1 : -1);
  } else if (e.code === 'KeyR') {
    e.preventDefault();
    if (state.full) location.hash = '';
    if (!$('pane').hidden) $('reply-input').focus();
  }
}

// ---------- boot ----------

function init() {
  $('login-form').addEventListener('submit', onLoginSubmit);
  $('signout').addEventListener('click', () => signOut(''));
  $('more').addEventListener('click', () => { if (state.cursor) subscribe(state.cursor); });
  $('tab-open').addEventListener('click', () => setFilter({ status: 'open' }));
  $('tab-closed').addEventListener('click', () => setFilter({ status: 'closed' }));
  $('filter-assignee').addEventListener('change', e => setFilter({ assignee: e.target.value }));
  $('filter-tag').addEventListener('change', e => setFilter({ tag: e.target.value }));
  renderFilterOptions();

  $('reply').addEventListener('submit', e => { e.preventDefault(); sendReply(); });
  const input = $('reply-input');
  input.addEventListener('keydown', e => {
    if (onSuggestKey(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
  });
  input.addEventListener('input', onReplyInput);
  input.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== input) closeSuggest(); }, 150));
  $('mode-reply').addEventListener('click', () => setMode('reply'));
  $('mode-note').addEventListener('click', () => setMode('note'));

  $('close-dialog').addEventListener('click', () => act({ type: 'close', dialog_id: state.openId }));
  $('reopen-dialog').addEventListener('click', () => act({ type: 'reopen', dialog_id: state.openId }));
  $('assign').addEventListener('change', e => act({ type: 'assign', dialog_id: state.openId, operator_id: e.target.value || null }));
  $('history-toggle').addEventListener('click', toggleAllHistory);
  $('card-toggle').addEventListener('click', () => toggleCard());
  $('card-close').addEventListener('click', () => { toggleCard(false); $('card-toggle').focus(); });
  $('tag-input').addEventListener('keydown', e => {
    if (e.key !== 'Enter' || e.isComposing) return;
    e.preventDefault();
    const tag = e.target.value.trim();
    if (!tag || !state.openId) return;
    if (tag.length > 40) { paneError('A tag is 40 characters at most.'); return; }
    e.target.value = '';
    paneError('');
    act({ type: 'tag_add', dialog_id: state.openId, tag });
  });

  $('template-save').addEventListener('click', () => {
    const show = $('tpl-save-form').hidden;
    $('tpl-save-form').hidden = !show;
    $('tpl-save-error').textContent = show && !input.value.trim() ? 'Write the template text in the reply box first.' : '';
    if (show) $('template-shortcut').focus();
  });
  $('tpl-save-form').addEventListener('submit', saveAsTemplate);
  $('tpl-save-cancel').addEventListener('click', () => { $('tpl-save-form').hidden = true; state.tplSaving = false; });
  $('tpl-open').addEventListener('click', () => { if (togglePopup('tpl-panel', 'tpl-open')) { renderTemplates(); $('tpl-close').focus(); } });
  $('tpl-close').addEventListener('click', () => { togglePopup('tpl-panel', 'tpl-open', false); state.tplEdit = null; });
  $('tpl-new').addEventListener('click', () => { state.tplEdit = { id: null, shortcut: '', text: '' }; renderTemplates(); focusTplForm(); });

  $('attach').addEventListener('click', () => $('attach-input').click());
  $('attach-input').addEventListener('change', e => {
    const file = e.target.files && e.target.files[0];
    e.target.value = '';
    attachFile(file);
  });
  const feed = $('feed');
  feed.addEventListener('dragover', e => {
    if (!state.openId || isClosed() || ![...e.dataTransfer.types].includes('Files')) return;
    e.preventDefault();
    feed.classList.add('drop');
  });
  feed.addEventListener('dragleave', () => feed.classList.remove('drop'));
  feed.addEventListener('drop', e => {
    feed.classList.remove('drop');
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    attachFile(e.dataTransfer.files[0]);
  });

  for (const f of ['name', 'email', 'phone']) {
    const i = $('card-' + f);
    i.addEventListener('keydown', e => {
      if (e.key === 'Enter') { e.preventDefault(); saveField(i); }
      if (e.key === 'Escape' && i.value !== i.dataset.saved) { e.stopPropagation(); i.value = i.dataset.saved || ''; clearCardError(); }
    });
    i.addEventListener('blur', () => saveField(i));
  }
  $('full-back').addEventListener('click', () => { location.hash = ''; });
  $('events-more').addEventListener('click', () => requestEvents(false));
  addEventListener('hashchange', route);

  $('settings-open').addEventListener('click', () => { renderNotify(); togglePopup('settings', 'settings-open'); });
  $('notify').addEventListener('change', e => {
    state.notify = e.target.checked;
    local.set(NOTIFY_KEY, state.notify);
    if (state.notify) askPermission();
    renderNotify();
  });
  document.addEventListener('keydown', onGlobalKey);
  document.addEventListener('pointerdown', e => {
    unlockAudio();
    for (const [p, b] of [['settings', 'settings-open'], ['tpl-panel', 'tpl-open']]) {
      if (!$(p).hidden && !$(p).contains(e.target) && !$(b).contains(e.target)) togglePopup(p, b, false);
    }
  });
  document.addEventListener('keydown', unlockAudio, { once: true });

  setInterval(flushOutbox, 5000);
  setInterval(ping, 5 * 60 * 1000);
  setInterval(() => { for (const id of state.list) refreshRow(id); }, 30000);
  addEventListener('online', () => { state.tries = 0; connect(); });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden || !state.auth) return;
    const d = state.summaries.get(state.openId);
    if (d) { markRead(d); renderList(); }
    if (state.ws) ping(); else { state.tries = 0; connect(); }
  });

  for (const item of session.get(OUTBOX_KEY) || []) {
    if (item && item.client_id && item.dialog_id && (item.text || item.file)) state.outbox.set(item.client_id, { ...item, sentAt: 0 });
  }
  const auth = session.get(AUTH_KEY);
  if (auth && auth.token && auth.ws_url && !isExpired(auth)) {
    state.auth = auth;
    showApp();
    connect();
  } else {
    session.set(AUTH_KEY, null);
    showLogin('');
  }
}

init();
