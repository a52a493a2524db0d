// Who has a dialog: taking one, transferring the open one to an operator or back to the queue,
// and a toast when a dialog becomes mine. Everything shown is the server's word: a change is
// asked for, and the view follows the summaries that answer it.
import { state, myId, visitorName, hooks } from './state.js';
import { $, el } from './util.js';
import { request } from './net.js';
import { toast } from './alerts.js';
import { requestTeam, presenceOf, hasRoom, loadText } from './team.js';

const RECENT_MS = 15000;
const NOTE_WAIT_MS = 700;

const recentBy = new Map();     // dialog_id -> {name, at}: another operator who just wrote there (a transfer's note)
const selfAssigned = new Map(); // dialog_id -> when I took it (no "assigned to you" toast for that)
let pendingTransfer = null;     // {dialog_id, operator_id, from}: asked, not yet seen done
let transferKey = '';

// Take: assigns the dialog to me, without an "assigned to you" toast.
export function take(id) {
  selfAssigned.set(id, Date.now());
  request({ type: 'assign', dialog_id: id, operator_id: myId() }, text => {
    selfAssigned.delete(id);
    toast(text, { error: true, testid: 'toast-error' });
  });
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
    hooks.openDialog(id);
  }] });
}

// Assigning to myself from the header's select: no toast for it either.
export function assignedByMe(id, operatorId) {
  if (operatorId && operatorId === myId()) selfAssigned.set(id, Date.now());
}

// ---------- transfer ----------

function toggleTransfer(on) {
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

export function renderTransfer() {
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

export function wireTransfer() {
  $('transfer-open').addEventListener('click', () => toggleTransfer());
  $('transfer-cancel').addEventListener('click', () => { toggleTransfer(false); $('transfer-open').focus(); });
  $('transfer-form').addEventListener('submit', onTransferSubmit);
  $('transfer-form').addEventListener('keydown', e => {
    if (e.key === 'Escape') { e.stopPropagation(); toggleTransfer(false); $('transfer-open').focus(); }
  });
}

export function resetTransfers() {
  recentBy.clear();
  selfAssigned.clear();
  pendingTransfer = null;
  closeTransfer();
}
