// The websocket: connect, reconnect, ping, sending frames, and the outbox of unconfirmed messages.
import { state, session, OUTBOX_KEY } from './state.js';
import { $, paneError } from './util.js';

export const RETRY_AFTER_MS = 10000;
const EXPIRED = 'Your session has expired. Please sign in again.';

// Set once by console.js: what the connection hands upwards.
const hooks = { onOpen() {}, onFrame() {}, signOut() {} };
export function setNetHooks(h) { Object.assign(hooks, h); }

export function isExpired(auth) {
  let t = auth && auth.expires_at;
  if (!t) return false;
  if (typeof t === 'string') t = Date.parse(t);
  else if (t < 1e12) t *= 1000; // seconds
  return Number.isFinite(t) && Date.now() > t;
}

export function setConn(text, cls) {
  const c = $('conn');
  c.textContent = text;
  c.className = 'conn ' + (cls || '');
}

export function send(frame) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(frame));
  return true;
}

// A change the server answers with a pushed frame (or an error without client_id).
export function act(frame, where) {
  state.lastAction = { where: where || 'pane', type: frame.type };
  if (!send(frame)) paneError('Not connected. Try again in a moment.');
}

// A frame whose refusal (an `error` without client_id) is shown by `fail`.
export function request(frame, fail) {
  state.lastAction = { where: fail, type: frame.type };
  if (!send(frame)) fail('Not connected. Try again in a moment.');
}

export function connect() {
  clearTimeout(state.retryTimer);
  if (state.ws || !state.auth) return;
  if (isExpired(state.auth)) { hooks.signOut(EXPIRED); return; }
  setConn(state.tries ? 'Reconnecting…' : 'Connecting…', 'off');
  const url = state.auth.ws_url + (state.auth.ws_url.includes('?') ? '&' : '?') +
    'v=1&token=' + encodeURIComponent(state.auth.token);
  const ws = state.ws = new WebSocket(url);
  let opened = false;
  ws.onopen = () => {
    opened = true;
    send({ type: 'workspace' });
    hooks.onOpen();
  };
  ws.onmessage = ev => {
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    if (ws === state.ws && frame && typeof frame === 'object') hooks.onFrame(frame);
  };
  ws.onclose = () => dropConnection(ws, !opened);
}

export function dropConnection(ws, neverOpened) {
  if (!ws || ws !== state.ws) return;
  state.ws = null;
  state.ready = false;
  ws.onclose = null;
  try { ws.close(); } catch { /* already closed */ }
  clearTimeout(state.pongTimer);
  state.pongTimer = 0;
  // A handshake refused with 401 looks like "closed before open": it is usually an expired token.
  if (neverOpened && isExpired(state.auth)) { hooks.signOut(EXPIRED); return; }
  scheduleReconnect();
}

function scheduleReconnect() {
  setConn('Reconnecting…', 'off');
  const cap = Math.min(15000, 500 * 2 ** state.tries++);
  state.retryTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
}

// Closes the socket for good (signing out): no reconnect.
export function disconnect() {
  const ws = state.ws;
  state.ws = null;
  state.ready = false;
  if (ws) { ws.onclose = null; ws.close(); }
  clearTimeout(state.retryTimer);
  clearTimeout(state.pongTimer);
}

export function ping() {
  if (!state.ready || state.pongTimer) return;
  send({ type: 'ping' });
  state.pongTimer = setTimeout(() => { state.pongTimer = 0; dropConnection(state.ws); }, 8000);
}

export function onPong() {
  clearTimeout(state.pongTimer);
  state.pongTimer = 0;
}

// ---------- outbox ----------

export function saveOutbox() {
  session.set(OUTBOX_KEY, [...state.outbox.values()].map(({ client_id, dialog_id, text, note, file }) => ({ client_id, dialog_id, text, note, file })));
}
export function dropFromOutbox(cid) {
  state.outbox.delete(cid);
  saveOutbox();
}
export function flushOutbox() {
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
// Messages of this tab not yet confirmed before a reload.
export function restoreOutbox() {
  for (const item of session.get(OUTBOX_KEY) || []) {
    if (item && item.client_id && item.dialog_id && (item.text || item.file)) state.outbox.set(item.client_id, { ...item, sentAt: 0 });
  }
}
