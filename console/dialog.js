// The open dialog: opening it, its header, incoming messages and history, replies and notes, typing.
import { state, myId, myName, visitorName, isClosed, openVisitor } from './state.js';
import { $, el, button, byId, uid, clockTime, paneError } from './util.js';
import { send, act, dropFromOutbox, saveOutbox, flushOutbox } from './net.js';
import { markRead, renderList, refreshRow, listed } from './list.js';
import { renderRoutingHeader } from './routing.js';
import { closeTransfer } from './transfer.js';
import { feedOf, topSeq, renderFeed, renderFeedMessage, renderBatch, renderPending, scrollFeed } from './feed.js';
import { closeSuggest, updateSuggest } from './templates.js';
import { renderCard, resetCard } from './card.js';
import { alertOperator } from './alerts.js';

const TYPING_SHOW_MS = 6000;
const TYPING_THROTTLE_MS = 300;

// ---------- messages ----------

export function requestHistory(id, after) {
  const feed = feedOf(id);
  send({ type: 'history', dialog_id: id, after_seq: after != null ? after : Math.max(0, topSeq(feed) - 20) });
}

// Stores a message; live=true for pushed frames (they may notify). With `batch`, the caller
// renders what changed in one go (a history page: one layout, not one per message).
export function onMessage(m, live, batch) {
  if (!m || !m.dialog_id || typeof m.seq !== 'number') return;
  const id = m.dialog_id;
  if (m.client_id && state.outbox.has(m.client_id)) dropFromOutbox(m.client_id);
  const isVisitor = !m.author || (m.author.kind !== 'operator' && m.author.kind !== 'bot');
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
    if (document.hidden) alertOperator(id, m, openDialog);
    else if (id === state.openId) markRead(state.summaries.get(id));
  }
  state.newDialog = null;
  if (live) renderList();
}

export function onHistory(f) {
  const id = f.dialog_id;
  const msgs = Array.isArray(f.messages) ? f.messages : [];
  if (!id || !state.feeds.has(id)) return;
  const batch = [];
  for (const m of msgs) onMessage({ dialog_id: id, ...m }, false, batch);
  renderBatch(batch);
  if (f.more && msgs.length) requestHistory(id, f.next_after != null ? f.next_after : msgs[msgs.length - 1].seq);
  refreshRow(id);
}

export function onAck(f) {
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

// ---------- sending ----------

// Puts a message in the outbox (kept until acknowledged) and shows it as pending.
export function queue(item) {
  item.client_id = item.client_id || uid();
  item.sentAt = 0;
  state.outbox.set(item.client_id, item);
  saveOutbox();
  renderPending(item);
  scrollFeed(true);
  flushOutbox();
}

export function sendReply() {
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

// ---------- the pane ----------

export function showPane(on) {
  $('placeholder').hidden = on;
  $('pane').hidden = !on;
  $('card-empty').hidden = on;
  $('card').hidden = !on;
}

// `visitorHint`: the visitor of a dialog this console has no summary of yet (a linked earlier
// dialog): their card lists it.
export function openDialog(id, visitorHint) {
  if (state.openId && state.openId !== id) state.drafts.set(state.openId, $('reply-input').value);
  if (state.openId !== id) closeTransfer();
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
    if (d.visitor_id !== previousVisitor) resetCard();
    renderCard();
    send({ type: 'visitor', visitor_id: d.visitor_id });
  } else if (visitorHint) {
    if (visitorHint !== previousVisitor) resetCard();
    send({ type: 'visitor', visitor_id: visitorHint });
  }
  if (!$('reply-input').disabled) $('reply-input').focus();
}

export function moveDialog(step) {
  const rows = listed();
  if (!rows.length) return;
  const i = rows.findIndex(d => d.dialog_id === state.openId);
  const next = rows[i < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, i + step))];
  openDialog(next.dialog_id);
  const row = byId($('dialogs'), 'dialog-id', next.dialog_id);
  if (row) row.scrollIntoView({ block: 'nearest' });
}

export function renderHeader() {
  const d = state.summaries.get(state.openId);
  if (!d) { // a linked dialog whose summary is on its way
    $('dtitle').textContent = '';
    $('dmeta').textContent = 'Loading…';
    $('dtags').replaceChildren();
    $('dflags').hidden = true;
    return;
  }
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
  renderRoutingHeader(d);
}

export function setMode(mode) {
  state.mode = mode;
  $('mode-reply').setAttribute('aria-pressed', String(mode === 'reply'));
  $('mode-note').setAttribute('aria-pressed', String(mode === 'note'));
  $('reply').classList.toggle('note', mode === 'note');
  $('reply-send').textContent = mode === 'note' ? 'Add note' : 'Send';
  renderHeader();
  $('reply-input').focus();
}

// ---------- all dialogs with this visitor ----------

export function toggleAllHistory() {
  state.allHistory = !state.allHistory;
  $('history-toggle').setAttribute('aria-pressed', String(state.allHistory));
  const vid = openVisitor();
  if (state.allHistory && vid) {
    if (state.visitorDialogs.has(vid)) loadVisitorHistories(vid);
    send({ type: 'visitor', visitor_id: vid });
  }
  renderFeed();
}

export function loadVisitorHistories(vid) {
  for (const d of state.visitorDialogs.get(vid) || []) {
    if (!state.feeds.has(d.dialog_id)) { feedOf(d.dialog_id); requestHistory(d.dialog_id, 0); }
  }
}

// ---------- typing ----------

export function onTyping(f) {
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
export function onReplyInput() {
  updateSuggest();
  const id = state.openId;
  if (!id || state.mode === 'note' || !$('reply-input').value.trim()) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_THROTTLE_MS || !state.ready) return;
  if (send({ type: 'typing', dialog_id: id })) lastTypingSent = now;
}
