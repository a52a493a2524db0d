// Parley operator console (minimal workspace). Speaks docs/protocol.md v1.
// Rule: text that came from the network is only ever put on the page with textContent.

const AUTH_KEY = 'parley:console:auth';
const OUTBOX_KEY = 'parley:console:outbox';
const TYPING_SHOW_MS = 6000;
const TYPING_THROTTLE_MS = 300;
const RETRY_AFTER_MS = 10000;
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
const uid = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join(''));
const session = {
  get(key) { try { return JSON.parse(sessionStorage.getItem(key)); } catch { return null; } },
  set(key, value) {
    try { value == null ? sessionStorage.removeItem(key) : sessionStorage.setItem(key, JSON.stringify(value)); } catch { /* ignore */ }
  },
};

const state = {
  auth: null,            // login response: {token, expires_at, ws_url, operator}
  ws: null,
  ready: false,          // the first `dialogs` page after (re)connecting has arrived
  tries: 0,
  retryTimer: 0,
  pongTimer: 0,
  dialogs: new Map(),    // dialog_id -> summary
  cursor: null,
  pagingMore: false,
  unread: new Set(),     // dialog ids with visitor messages not seen yet
  feeds: new Map(),      // dialog_id -> Map(seq -> message), for dialogs opened in this tab
  openId: null,
  outbox: new Map(),     // client_id -> {client_id, dialog_id, text, sentAt, error}
  typing: new Map(),     // dialog_id -> {text, timer}
  drafts: new Map(),     // dialog_id -> unsent textarea text
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
function clockTime(ms) {
  const d = new Date(ms || Date.now());
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
const oneLine = text => String(text || '').replace(/\s+/g, ' ').trim();
const visitorName = id => (state.dialogs.get(id) || {}).visitor_name || 'Visitor';
const authorName = (m, dialogId) => (m.author && m.author.kind === 'operator'
  ? m.author.name || 'Operator' : visitorName(dialogId));

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
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = op.name || op.email || '';
  $('site').textContent = op.site_id ? `site ${op.site_id}` : '';
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
  state.outbox.clear();
  state.dialogs.clear();
  state.feeds.clear();
  state.unread.clear();
  state.openId = null;
  $('dialogs').replaceChildren();
  $('pane').hidden = true;
  $('placeholder').hidden = false;
  showLogin(message);
}

function onLoginSubmit(event) {
  event.preventDefault();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  if (!email || !password) { $('login-error').textContent = 'Enter your email and password.'; return; }
  const button = $('login-submit');
  button.disabled = true;
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
  }).finally(() => { button.disabled = false; });
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
    state.pagingMore = false;
    send({ type: 'subscribe' });
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
    case 'dialogs': return onDialogs(f);
    case 'dialog': return onDialog(f.dialog);
    case 'message': if (f.dialog) onDialog(f.dialog); return onMessage(f.message, true);
    case 'history': return onHistory(f);
    case 'ack': return onAck(f);
    case 'typing': return onTyping(f);
    case 'error': return onError(f);
    case 'pong': clearTimeout(state.pongTimer); state.pongTimer = 0; return undefined;
    default: return undefined;
  }
}

// ---------- dialog list ----------

function onDialogs(f) {
  const list = Array.isArray(f.dialogs) ? f.dialogs : [];
  if (!state.pagingMore) state.dialogs.clear(); // a fresh subscribe replaces the list
  state.pagingMore = false;
  for (const d of list) if (d && d.dialog_id) state.dialogs.set(d.dialog_id, d);
  state.cursor = f.cursor || null;
  $('more').hidden = !state.cursor;
  renderList();
  if (!state.ready) {
    state.ready = true;
    state.tries = 0;
    setConn('Connected', 'on');
    if (state.openId) requestHistory(state.openId);
    for (const item of state.outbox.values()) item.sentAt = 0;
    flushOutbox();
  }
}

function onDialog(d) {
  if (!d || !d.dialog_id) return;
  const old = state.dialogs.get(d.dialog_id);
  if (old && (old.last_seq || 0) > (d.last_seq || 0)) return; // stale summary
  if (d.status && d.status !== 'open' && d.dialog_id !== state.openId) state.dialogs.delete(d.dialog_id);
  else state.dialogs.set(d.dialog_id, d);
  renderList();
  if (d.dialog_id === state.openId) renderDialogHeader();
}

function sortedDialogs() {
  return [...state.dialogs.values()].sort((a, b) => (b.last_activity || 0) - (a.last_activity || 0));
}

function renderList() {
  const ul = $('dialogs');
  const existing = new Map([...ul.children].map(li => [li.dataset.dialogId, li]));
  sortedDialogs().forEach((d, i) => {
    let li = existing.get(d.dialog_id);
    existing.delete(d.dialog_id);
    if (!li) li = makeRow(d.dialog_id);
    updateRow(li, d);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const li of existing.values()) li.remove();
  $('empty').hidden = state.dialogs.size > 0;
  document.title = (state.unread.size ? `(${state.unread.size}) ` : '') + 'Parley console';
}

function makeRow(id) {
  const li = el('li');
  li.dataset.dialogId = id;
  const b = el('button', 'row');
  b.type = 'button';
  b.dataset.testid = 'dialog-row';
  b.dataset.dialogId = id;
  b.append(el('span', 'name'), el('span', 'time'), el('span', 'last'));
  b.addEventListener('click', () => openDialog(id));
  li.append(b);
  return li;
}

function updateRow(li, d) {
  const b = li.firstChild;
  const [name, time, last] = b.children;
  const typing = state.typing.get(d.dialog_id);
  name.textContent = d.visitor_name || 'Visitor';
  time.textContent = relTime(d.last_activity);
  time.title = d.last_activity ? new Date(d.last_activity).toLocaleString() : '';
  const prefix = d.last_author && d.last_author.kind === 'operator' ? (d.last_author.name || 'Operator') + ': ' : '';
  last.textContent = typing ? 'typing…' : prefix + oneLine(d.last_text);
  last.classList.toggle('typing', !!typing);
  b.classList.toggle('unread', state.unread.has(d.dialog_id));
  b.setAttribute('aria-current', String(d.dialog_id === state.openId));
}

function refreshRow(id) {
  const li = $('dialogs').querySelector(`li[data-dialog-id="${CSS.escape(id)}"]`);
  const d = state.dialogs.get(id);
  if (li && d) updateRow(li, d);
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

// Stores a message; live=true for pushed frames (they may mark the dialog unread).
function onMessage(m, live) {
  if (!m || !m.dialog_id || typeof m.seq !== 'number') return;
  const id = m.dialog_id;
  let d = state.dialogs.get(id);
  if (!d && live) { // the `dialog` frame may come a moment later
    d = { dialog_id: id, visitor_name: 'Visitor', status: 'open', last_seq: 0 };
    state.dialogs.set(id, d);
  }
  if (d && m.seq >= (d.last_seq || 0)) {
    Object.assign(d, { last_seq: m.seq, last_text: m.text, last_author: m.author, last_activity: m.created_at || Date.now() });
  }
  if (m.client_id && state.outbox.has(m.client_id)) dropFromOutbox(m.client_id);
  const isVisitor = !m.author || m.author.kind !== 'operator';
  if (isVisitor) clearTyping(id);
  const feed = state.feeds.get(id);
  // A seq gap means a message stored concurrently may have missed this connection: fetch it.
  if (live && feed && feed.size && m.seq > topSeq(feed) + 1) requestHistory(id, topSeq(feed));
  if (feed && !feed.has(m.seq)) {
    feed.set(m.seq, m);
    if (id === state.openId) renderFeedMessage(m);
  }
  if (live && isVisitor && id !== state.openId) state.unread.add(id);
  if (live) renderList();
}

function onHistory(f) {
  const id = f.dialog_id;
  const msgs = Array.isArray(f.messages) ? f.messages : [];
  if (!id || !state.feeds.has(id)) return;
  for (const m of msgs) onMessage({ dialog_id: id, ...m }, false);
  if (f.more && msgs.length) requestHistory(id, msgs[msgs.length - 1].seq);
  refreshRow(id);
}

function onAck(f) {
  const item = state.outbox.get(f.client_id);
  if (!item) return;
  dropFromOutbox(f.client_id);
  const op = (state.auth && state.auth.operator) || {};
  onMessage({
    seq: f.seq, client_id: f.client_id, dialog_id: f.dialog_id || item.dialog_id, text: item.text,
    created_at: Date.now(), author: { kind: 'operator', id: op.operator_id, name: op.name },
  }, false);
  renderList();
}

function onError(f) {
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
  if (f.code === 'not_found' && state.openId) $('derror').textContent = 'This dialog is not available any more.';
  else console.warn('parley:', f.code, f.message);
}

// ---------- outbox ----------

function saveOutbox() {
  session.set(OUTBOX_KEY, [...state.outbox.values()].map(({ client_id, dialog_id, text }) => ({ client_id, dialog_id, text })));
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
    send({ type: 'message', dialog_id: item.dialog_id, client_id: item.client_id, text: item.text });
  }
}

function sendReply() {
  const input = $('reply-input');
  const text = input.value.trim();
  const id = state.openId;
  if (!text || !id) return;
  if (new TextEncoder().encode(text).length > 4096) {
    $('derror').textContent = 'This message is too long (4096 bytes at most).';
    return;
  }
  $('derror').textContent = '';
  const item = { client_id: uid(), dialog_id: id, text, sentAt: 0 };
  state.outbox.set(item.client_id, item);
  saveOutbox();
  renderPending(item);
  input.value = '';
  state.drafts.delete(id);
  scrollFeed(true);
  flushOutbox();
}

// ---------- current dialog ----------

function openDialog(id) {
  if (state.openId && state.openId !== id) state.drafts.set(state.openId, $('reply-input').value);
  state.openId = id;
  state.unread.delete(id);
  $('placeholder').hidden = true;
  $('pane').hidden = false;
  $('derror').textContent = '';
  $('reply-input').value = state.drafts.get(id) || '';
  const feed = feedOf(id);
  $('feed').replaceChildren();
  [...feed.values()].sort((a, b) => a.seq - b.seq).forEach(renderFeedMessage);
  for (const item of state.outbox.values()) if (item.dialog_id === id) renderPending(item);
  renderDialogHeader();
  renderTyping();
  renderList();
  scrollFeed(true);
  requestHistory(id);
  $('reply-input').focus();
}

function renderDialogHeader() {
  const d = state.dialogs.get(state.openId) || {};
  $('dtitle').textContent = d.visitor_name || 'Visitor';
  $('dmeta').textContent = d.created_at ? 'started ' + clockTime(d.created_at) : '';
}

function messageNode(m, dialogId) {
  const op = m.author && m.author.kind === 'operator';
  const node = el('div', 'msg ' + (op ? 'operator' : 'visitor'));
  node.dataset.testid = 'feed-message';
  node.dataset.author = op ? 'operator' : 'visitor';
  const head = el('div', 'head');
  head.append(el('span', 'author', authorName(m, dialogId)), el('span', 'state'));
  node.append(head, el('div', 'text', m.text));
  return node;
}

// Orders feed nodes by a private key: seq for stored messages, Infinity for pending ones.
function place(node, key) {
  const feed = $('feed');
  node._key = key;
  for (const c of feed.children) {
    if (c !== node && !(c._key <= key)) { feed.insertBefore(node, c); return; }
  }
  feed.append(node);
}

function pendingNode(cid) {
  return $('feed').querySelector(`[data-client-id="${CSS.escape(cid)}"]`);
}

function renderFeedMessage(m) {
  const feed = $('feed');
  if (feed.querySelector(`[data-seq="${m.seq}"]`)) return;
  const stick = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 80;
  let node = m.client_id && pendingNode(m.client_id);
  if (node) {
    delete node.dataset.clientId;
    node.classList.remove('pending');
  } else {
    node = messageNode(m, state.openId);
  }
  node.dataset.seq = m.seq;
  const t = node.querySelector('.state');
  t.textContent = clockTime(m.created_at);
  t.title = new Date(m.created_at || Date.now()).toLocaleString();
  place(node, m.seq);
  scrollFeed(stick);
}

function renderPending(item) {
  if (pendingNode(item.client_id)) return;
  const op = (state.auth && state.auth.operator) || {};
  const node = messageNode({ author: { kind: 'operator', name: op.name }, text: item.text }, item.dialog_id);
  node.dataset.clientId = item.client_id;
  node.classList.add('pending');
  node.querySelector('.state').textContent = 'Sending…';
  place(node, Infinity);
}

function markFailed(node, error) {
  node.classList.remove('pending');
  node.classList.add('failed');
  node.querySelector('.state').textContent = 'Not sent: ' + error;
  const seqs = [...$('feed').querySelectorAll('[data-seq]')].map(n => +n.dataset.seq);
  place(node, Math.max(0, ...seqs) + 0.5);
}

function scrollFeed(force) {
  const feed = $('feed');
  if (force) feed.scrollTop = feed.scrollHeight;
}

// ---------- typing ----------

function onTyping(f) {
  const id = f.dialog_id;
  if (!id || !f.author || f.author.kind !== 'visitor') return;
  clearTimeout((state.typing.get(id) || {}).timer);
  const text = String(f.text || '');
  if (text.trim()) {
    state.typing.set(id, { text, timer: setTimeout(() => clearTyping(id), TYPING_SHOW_MS) });
  } else {
    state.typing.delete(id);
  }
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
  $('typing').textContent = t ? 'Visitor is typing: ' + t.text : '';
}

let lastTypingSent = 0;
function onReplyInput() {
  const id = state.openId;
  if (!id || !$('reply-input').value.trim()) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_THROTTLE_MS || !state.ready) return;
  if (send({ type: 'typing', dialog_id: id })) lastTypingSent = now;
}

// ---------- boot ----------

function init() {
  $('login-form').addEventListener('submit', onLoginSubmit);
  $('signout').addEventListener('click', () => signOut(''));
  $('more').addEventListener('click', () => {
    if (!state.cursor) return;
    state.pagingMore = true;
    send({ type: 'subscribe', cursor: state.cursor });
  });
  $('reply').addEventListener('submit', e => { e.preventDefault(); sendReply(); });
  const input = $('reply-input');
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
  });
  input.addEventListener('input', onReplyInput);

  setInterval(flushOutbox, 5000);
  setInterval(ping, 5 * 60 * 1000);
  setInterval(() => { for (const id of state.dialogs.keys()) refreshRow(id); }, 30000);
  addEventListener('online', () => { state.tries = 0; connect(); });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden || !state.auth) return;
    if (state.ws) ping(); else { state.tries = 0; connect(); }
  });

  for (const item of session.get(OUTBOX_KEY) || []) {
    if (item && item.client_id && item.dialog_id && item.text) state.outbox.set(item.client_id, { ...item, sentAt: 0 });
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
