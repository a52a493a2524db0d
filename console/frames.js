// Server frames: dispatch by type, and the handlers whose news reaches several panes.
import { state, openVisitor } from './state.js';
import { $, byId, paneError, setUpStatus } from './util.js';
import { send, setConn, flushOutbox, dropFromOutbox, dropConnection, onPong, RETRY_AFTER_MS } from './net.js';
import { onDialogs, remember, matches, segmentsOf, markRead, renderList, renderFilterOptions, renderTagOptions, setFilter, refreshWaiting } from './list.js';
import { onTeam, requestTeam, renderTeam } from './team.js';
import { onRouted, renderTransfer } from './transfer.js';
import { feedOf, renderFeed, sectionOf, boundaryText, pendingNode, markFailed } from './feed.js';
import { onMessage, onHistory, onAck, onTyping, requestHistory, loadVisitorHistories, renderHeader } from './dialog.js';
import { onTemplates } from './templates.js';
import { renderCard, showCardError, clearCardError } from './card.js';
import { onUpload } from './files.js';
import { onEvents, renderFull, requestEvents } from './full.js';
import { requestMonitor, onMonitor, onLive, onLeft, onInvited, onGreeted, refreshMonitor } from './monitor.js';
import { onProactive, refreshStats } from './proactive.js';
import { refreshRoutingSettings } from './settings.js';

export function onFrame(f) {
  switch (f.type) {
    case 'workspace': return onWorkspace(f);
    case 'dialogs': return onDialogsPage(f);
    case 'dialog': return onSummary(f.dialog);
    case 'message': if (f.dialog) onSummary(f.dialog, f.message); return onMessage(f.message, true);
    case 'history': return onHistory(f);
    case 'ack': return onAck(f);
    case 'typing': return onTyping(f);
    case 'visitor': return onVisitor(f);
    case 'visitor_events': return onEvents(f);
    case 'templates': return onTemplates(f.templates);
    case 'upload': return onUpload(f);
    case 'monitor': return onMonitor(f);
    case 'live': return onLive(f);
    case 'left': return onLeft(f);
    case 'invited': return onInvited(f);
    case 'greeted': onGreeted(f); return refreshStats();
    case 'proactive': return onProactiveFrame(f);
    case 'team': return onTeamFrame(f);
    case 'error': return onError(f);
    case 'pong': return onPong();
    default: return undefined;
  }
}

// The filter selects (the assignee select too), and the datalist of tags.
function renderOptions() {
  renderFilterOptions();
  if (state.openId) renderHeader();
  renderTagOptions();
}

function onWorkspace(f) {
  state.me = f.me || {};
  state.site = f.site || {};
  state.operators = Array.isArray(f.operators) ? f.operators : [];
  for (const t of f.tags || []) state.tags.add(t);
  $('me').textContent = state.me.name || state.me.email || $('me').textContent;
  $('site').textContent = state.site.name || $('site').textContent;
  renderOptions();
  onTemplates(f.templates);
  renderList();
  if (state.openId) renderHeader();
  requestTeam(); // presence, loads and the queue, on every (re)connect
}

function onDialogsPage(f) {
  if (onDialogs(f) && !state.ready) onConnected();
}

// The first page of the list after (re)connecting: catch up on what this tab shows.
function onConnected() {
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
  send({ type: 'proactive' }); // segments (names, the list's filter), blocks, the settings view
  requestMonitor();
}

function onProactiveFrame(f) {
  onProactive(f);
  renderTeam(); // the site's default cap
  renderFilterOptions();
  refreshMonitor();
  if (state.openId) renderCard();
  if (state.full) renderFull();
}

// Presence, loads and the queue: the team panel, then what else shows them (the transfer's
// choices, queue places, the routing settings form).
function onTeamFrame(f) {
  onTeam(f);
  renderTransfer();
  refreshWaiting();
  refreshRoutingSettings();
}

function onSummary(d, message) {
  if (!d || !d.dialog_id) return;
  const old = state.summaries.get(d.dialog_id);
  if (!remember(d)) return;
  // The visitor's name or avatar changed: the feed's author lines follow.
  if (old && (old.visitor_name !== d.visitor_name || old.visitor_avatar !== d.visitor_avatar) && sectionOf(d.dialog_id)) renderFeed(true);
  if (state.tagsDirty) { state.tagsDirty = false; renderOptions(); }
  if (matches(d)) state.list.add(d.dialog_id); else state.list.delete(d.dialog_id);
  // Filtering by segment and this visitor's segments are unknown: their card tells.
  if (state.filter.segment && !state.list.has(d.dialog_id) && !segmentsOf(d) && !state.segAsked.has(d.visitor_id)) {
    state.segAsked.add(d.visitor_id);
    send({ type: 'visitor', visitor_id: d.visitor_id });
  }
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
  // A new dialog: first heard of with this message, or only as an empty dialog (routing said who has it).
  if (message && !message.note && (!old || !(old.last_seq > 0))) state.newDialog = d.dialog_id;
  renderList();
  onRouted(old, d, message);
}

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
  if (state.openId && Array.isArray(f.dialogs) && f.dialogs.some(d => d && d.dialog_id === state.openId)) renderHeader();
  // Their segments are known now: their dialogs join or leave a list filtered by segment.
  if (state.filter.segment && Array.isArray(card.segments)) {
    for (const d of state.summaries.values()) {
      if (d.visitor_id === vid) { if (matches(d)) state.list.add(d.dialog_id); else state.list.delete(d.dialog_id); }
    }
    renderList();
  }
  if (state.full && state.full.visitor_id === vid) {
    renderFull();
    if (!Array.isArray(f.dialogs)) requestEvents(true); // an edit: its event is new
  }
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
  // The list's first page refused because of a segment filter (a deleted segment): all segments.
  if (!state.ready && state.filter.segment && (f.code === 'invalid' || f.code === 'not_found')) { setFilter({ segment: '' }); return; }
  const text = f.message || f.code || 'Refused';
  let where = state.lastAction && state.lastAction.where;
  state.lastAction = null;
  if (typeof where === 'function') { where(text); return; } // net.js request()
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
