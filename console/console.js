// Parley operator console: the three-pane workspace. Speaks docs/protocol.md v1. This entry wires
// the page's events to the modules beside it and boots.
// Rule: text that came from the network is only ever put on the page with textContent or as an
// attribute; links only for http(s) URLs; images only from URLs the server gave.
import { state, isClosed, hooks } from './state.js';
import { $, paneError } from './util.js';
import { act, connect, ping, flushOutbox, restoreOutbox, setNetHooks } from './net.js';
import { subscribe, setFilter, renderFilterOptions, renderList, markRead, refreshRow, refreshWaiting } from './list.js';
import { wireTeam, renderTeam, renderPresence } from './team.js';
import { wireTransfer, assignedByMe, closeTransfer } from './transfer.js';
import { openDialog, moveDialog, sendReply, setMode, toggleAllHistory, onReplyInput, renderHeader } from './dialog.js';
import { onSuggestKey, closeSuggest, saveAsTemplate, renderTemplates, focusTplForm } from './templates.js';
import { CARD_FIELDS, saveField, clearCardError, toggleCard } from './card.js';
import { attachFile } from './files.js';
import { requestEvents } from './full.js';
import { route } from './views.js';
import { unlockAudio, renderNotify, setNotify } from './alerts.js';
import { signOut, onLoginSubmit, resumeSession } from './signin.js';
import { onFrame } from './frames.js';

const TICK_MS = 3000;

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
  if (!$('transfer-form').hidden) { closeTransfer(); $('transfer-open').focus(); closed = true; }
  if ($('app').classList.contains('show-card')) { toggleCard(false); closed = true; }
  return closed;
}

function onGlobalKey(e) {
  if (!state.auth || $('app').hidden) return;
  if (e.key === 'Escape') {
    if (closePopups()) e.preventDefault();
    else if (state.view === 'visitor') location.hash = '';
    return;
  }
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    if (state.view !== 'dialogs') location.hash = '';
    moveDialog(e.key === 'ArrowDown' ? 1 : -1);
  } else if (e.code === 'KeyR') {
    e.preventDefault();
    if (state.view !== 'dialogs') location.hash = '';
    if (!$('pane').hidden) $('reply-input').focus();
  }
}

// ---------- wiring ----------

function wireSignIn() {
  $('login-form').addEventListener('submit', onLoginSubmit);
  $('signout').addEventListener('click', () => signOut(''));
}

function wireList() {
  $('dialogs').addEventListener('click', e => {
    const row = e.target.closest('[data-testid="dialog-row"]');
    if (row) openDialog(row.dataset.dialogId);
  });
  $('more').addEventListener('click', () => { if (state.cursor) subscribe(state.cursor); });
  $('tab-open').addEventListener('click', () => setFilter({ status: 'open' }));
  $('tab-closed').addEventListener('click', () => setFilter({ status: 'closed' }));
  $('filter-assignee').addEventListener('change', e => setFilter({ assignee: e.target.value }));
  $('filter-tag').addEventListener('change', e => setFilter({ tag: e.target.value }));
  $('filter-segment').addEventListener('change', e => setFilter({ segment: e.target.value }));
  renderFilterOptions();
}

function wireComposer() {
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
}

function wireHeader() {
  $('close-dialog').addEventListener('click', () => act({ type: 'close', dialog_id: state.openId }));
  $('reopen-dialog').addEventListener('click', () => act({ type: 'reopen', dialog_id: state.openId }));
  $('assign').addEventListener('change', e => {
    const id = state.openId;
    const operatorId = e.target.value || null;
    assignedByMe(id, operatorId);
    // A refusal (the operator is at capacity) is shown, and the select shows the assignee again.
    act({ type: 'assign', dialog_id: id, operator_id: operatorId }, text => { paneError(text); if (state.openId === id) renderHeader(); });
  });
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
}

function wireTemplates() {
  $('template-save').addEventListener('click', () => {
    const show = $('tpl-save-form').hidden;
    $('tpl-save-form').hidden = !show;
    $('tpl-save-error').textContent = show && !$('reply-input').value.trim() ? 'Write the template text in the reply box first.' : '';
    if (show) $('template-shortcut').focus();
  });
  $('tpl-save-form').addEventListener('submit', saveAsTemplate);
  $('tpl-save-cancel').addEventListener('click', () => { $('tpl-save-form').hidden = true; state.tplSaving = false; });
  $('tpl-open').addEventListener('click', () => { if (togglePopup('tpl-panel', 'tpl-open')) { renderTemplates(); $('tpl-close').focus(); } });
  $('tpl-close').addEventListener('click', () => { togglePopup('tpl-panel', 'tpl-open', false); state.tplEdit = null; });
  $('tpl-new').addEventListener('click', () => { state.tplEdit = { id: null, shortcut: '', text: '' }; renderTemplates(); focusTplForm(); });
}

function wireFiles() {
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
}

function wireCard() {
  for (const f of CARD_FIELDS) {
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
}

function wirePage() {
  $('settings-open').addEventListener('click', () => { renderNotify(); togglePopup('settings', 'settings-open'); });
  $('notify').addEventListener('change', e => setNotify(e.target.checked));
  document.addEventListener('keydown', onGlobalKey);
  document.addEventListener('pointerdown', e => {
    unlockAudio();
    for (const [p, b] of [['settings', 'settings-open'], ['tpl-panel', 'tpl-open']]) {
      if (!$(p).hidden && !$(p).contains(e.target) && !$(b).contains(e.target)) togglePopup(p, b, false);
    }
  });
  document.addEventListener('keydown', unlockAudio, { once: true });
}

// Late flags count up, the queue's oldest wait and the team's reconnecting operators follow the clock.
function tick() {
  if (!state.auth) return;
  refreshWaiting();
  if (state.team) {
    renderTeam();
    renderPresence();
  }
}

function startTimers() {
  setInterval(tick, TICK_MS);
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
}

// ---------- boot ----------

function init() {
  setNetHooks({ onOpen: () => subscribe(), onFrame, signOut });
  hooks.openDialog = openDialog;
  wireSignIn();
  wireList();
  wireComposer();
  wireHeader();
  wireTemplates();
  wireFiles();
  wireCard();
  wirePage();
  wireTeam();
  wireTransfer();
  startTimers();
  restoreOutbox();
  resumeSession();
}

init();
