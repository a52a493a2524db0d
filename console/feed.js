// The feed of messages: each dialog's stored messages and their nodes, in seq order, pending ones last.
import { state, operatorById, myId, myName, openVisitor } from './state.js';
import { $, el, button, byId, avatar, clockTime, dayTime, fullTime, fileSize, safeUrl } from './util.js';

export function feedOf(id) {
  let f = state.feeds.get(id);
  if (!f) state.feeds.set(id, f = new Map());
  return f;
}
export const topSeq = feed => Math.max(0, ...feed.keys());

export function boundaryText(d) {
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

export function renderFeed(keepScroll) {
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
  if (m.author && m.author.kind === 'bot') return { name: m.author.name || 'Assistant', avatar: null, op: true, bot: true };
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
  const node = el('div', 'msg ' + (who.bot ? 'operator bot' : who.op ? 'operator' : 'visitor'));
  node.dataset.testid = 'feed-message';
  node.dataset.author = who.bot ? 'bot' : who.op ? 'operator' : 'visitor';
  if (m.note) { node.dataset.note = 'true'; node.classList.add('note'); }
  const body = el('div', 'mbody');
  const head = el('div', 'head');
  if (m.note) head.append(el('span', 'label', 'Note'));
  head.append(el('span', 'author', who.name));
  if (who.bot) {
    const mark = el('span', 'botmark', 'bot');
    mark.dataset.testid = 'bot-label';
    mark.title = 'An automatic answer';
    head.append(mark);
  }
  head.append(el('span', 'state'));
  if (m.via === 'email') {
    const via = el('span', 'via', '✉ by email');
    via.dataset.testid = 'message-via-email';
    const mail = m.email && typeof m.email === 'object' ? m.email : {};
    via.title = [mail.from, mail.subject].filter(x => typeof x === 'string' && x).join(' · ') || 'Sent by email';
    head.append(via);
  }
  body.append(head);
  if (m.file) body.append(fileNode(m.file));
  if (m.text || !m.file) body.append(el('div', 'text', m.text));
  if (m.email && typeof m.email === 'object') body.append(...emailNodes(m.email));
  node.append(avatar(who.name, who.avatar), body);
  return node;
}

// A message that came by email: the attachments left out, and the original email on demand.
function emailNodes(mail) {
  const nodes = (Array.isArray(mail.left_out) ? mail.left_out : []).filter(Boolean).map(f => {
    const size = f.size != null ? ` (${fileSize(f.size)})` : '';
    const p = el('p', 'leftout', `${f.name || 'A file'}${size} was not attached${f.reason ? ': ' + f.reason : ''}`);
    p.dataset.testid = 'left-out';
    return p;
  });
  if (typeof mail.original === 'string' && mail.original) {
    const pre = el('pre', 'original', mail.original);
    pre.dataset.testid = 'original-email';
    pre.hidden = true;
    const toggle = button('Show original email', 'linkish small', 'show-original', () => {
      pre.hidden = !pre.hidden;
      toggle.textContent = pre.hidden ? 'Show original email' : 'Hide original email';
      toggle.setAttribute('aria-expanded', String(!pre.hidden));
    });
    toggle.setAttribute('aria-expanded', 'false');
    nodes.push(toggle, pre);
  }
  return nodes;
}

// "✉ emailed" on the operator's messages the visitor was sent by email (the summary's mailed_seqs).
function setMailed(node, summary) {
  const on = (node.dataset.author === 'operator' || node.dataset.author === 'bot') && !node.classList.contains('note') && node.dataset.seq != null &&
    ((summary && summary.mailed_seqs) || []).includes(+node.dataset.seq);
  let mark = node.querySelector('.mailed');
  if (on && !mark) {
    mark = el('span', 'mailed', '✉ emailed');
    mark.dataset.testid = 'emailed-marker';
    mark.title = 'The visitor was sent this by email';
    node.querySelector('.head').append(mark);
  } else if (!on && mark) mark.remove();
}

export function markMailed(id) {
  const sec = sectionOf(id);
  if (!sec) return;
  const summary = state.summaries.get(id);
  for (const node of sec.querySelectorAll('[data-author="operator"][data-seq], [data-author="bot"][data-seq]')) setMailed(node, summary);
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

export const sectionOf = id => byId($('feed'), 'dialog-id', id);
export function pendingNode(cid) {
  return $('feed').querySelector(`[data-client-id="${CSS.escape(cid)}"]`);
}

const nearBottom = () => { const f = $('feed'); return f.scrollHeight - f.scrollTop - f.clientHeight < 80; };

export function renderFeedMessage(m, replace) {
  const stick = nearBottom();
  insertFeedMessage(m, replace);
  scrollFeed(stick);
}

export function renderBatch(items) {
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
  setMailed(node, state.summaries.get(m.dialog_id));
  if (old) old.replaceWith(node);
  if (pending) pending.remove();
  place(sec, node, m.seq);
}

export function renderPending(item) {
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

export function markFailed(node, error) {
  node.classList.remove('pending');
  node.classList.add('failed');
  node.querySelector('.state').textContent = 'Not sent: ' + error;
  const sec = node.parentNode;
  const seqs = [...sec.querySelectorAll('[data-seq]')].map(n => +n.dataset.seq);
  place(sec, node, Math.max(0, ...seqs) + 0.5);
}

export function scrollFeed(force) {
  const feed = $('feed');
  if (force) feed.scrollTop = feed.scrollHeight;
}
