// A dialog's routing state (docs/protocol.md "Routing"): late, queued, offered, bot and rating
// badges, Take and the link to the dialog it continues, in its list row and in the open dialog's
// header (with the Transfer button there).
import { state, myId, siteSetting, hooks } from './state.js';
import { $, el, button, toMs } from './util.js';
import { waitText } from './team.js';
import { take, closeTransfer, renderTransfer } from './transfer.js';

function answerSeconds() {
  const s = Number(siteSetting('answer_seconds', 30));
  return s > 0 ? s : 30;
}

// How long the dialog has waited, when that is late (ms; 0: the server says late, no time known),
// else null.
function lateWait(d, now = Date.now()) {
  if (!d || (d.status || 'open') !== 'open') return null;
  const since = toMs(d.waiting_since);
  if (since) {
    const w = Math.max(0, now - since);
    return d.late || w > answerSeconds() * 1000 ? w : null;
  }
  return d.late ? 0 : null;
}

function chip(text, cls, testid, title) {
  const c = el('span', 'chip ' + cls, text);
  c.dataset.testid = testid;
  if (title) c.title = title;
  return c;
}

// Badges (no controls: in the list they sit inside the row's button).
function routingChips(d, inHeader) {
  const out = [];
  const now = Date.now();
  const wait = lateWait(d, now);
  if (wait != null) {
    const c = chip(wait ? 'late ' + waitText(wait) : 'late', 'late', 'late-flag',
      `Waiting for an answer${wait ? ' for ' + waitText(wait) : ''}; answer within ${answerSeconds()} s`);
    out.push(c);
  }
  if (isQueued(d)) {
    const pos = queuePosition(d);
    out.push(chip(typeof pos === 'number' && pos > 0 ? `#${pos} in queue` : 'in queue', 'queued', 'queue-badge',
      d.queued_at ? 'Queued ' + waitText(now - toMs(d.queued_at)) + ' ago' : ''));
  }
  const offer = d.offered_to && d.offered_to.operator_id;
  if (offer && (d.status || 'open') === 'open') {
    const mine = offer === myId();
    const c = chip(mine ? 'offered to you' : 'offered to ' + (d.offered_to.name || 'another operator'), 'offered' + (mine ? ' mine' : ''), 'offered-badge');
    c.dataset.mine = String(mine);
    out.push(c);
  }
  if (d.bot === 'active') out.push(chip('bot', 'bot', 'bot-badge', (siteSetting('bot_name', 'The bot') || 'The bot') + ' is answering'));
  else if (d.bot === 'handed_off' && inHeader) out.push(chip('handed over by the bot', 'bot off', 'bot-handoff'));
  const r = d.rating;
  if (r && (r.score === 'good' || r.score === 'bad')) {
    const comment = typeof r.comment === 'string' ? r.comment : '';
    const c = chip(r.score === 'good' ? '👍' : '👎', 'rating ' + r.score, 'rating-badge',
      (r.score === 'good' ? 'Rated good' : 'Rated bad') + (comment ? ': ' + comment : ''));
    c.dataset.score = r.score;
    c.setAttribute('aria-label', c.title);
    if (inHeader && comment) {
      const text = el('span', 'rcomment', comment);
      text.dataset.testid = 'rating-comment';
      c.append(' ', text);
    }
    out.push(c);
  }
  return out;
}

// Waiting in the queue: a position, or (a summary sent without one) queued and nobody's.
function isQueued(d) {
  if ((d.status || 'open') !== 'open' || (d.assignee && d.assignee.operator_id)) return false;
  return (typeof d.queue_position === 'number' && d.queue_position > 0) || !!d.queued_at;
}

// A queued dialog's place. The server's number is only sent with some summaries and goes stale
// as the queue moves; when this console knows every queued dialog (as many as the team's queue
// length), their order by queued_at (the queue is first in, first out) is the place.
function queuePosition(d) {
  if (!state.queueOrder) {
    state.queueOrder = [...state.summaries.values()].filter(isQueued)
      .sort((a, b) => (toMs(a.queued_at) || 0) - (toMs(b.queued_at) || 0)).map(x => x.dialog_id);
  }
  const length = state.team && state.team.queue ? Number(state.team.queue.length) : NaN;
  const i = state.queueOrder.indexOf(d.dialog_id);
  if (i >= 0 && state.queueOrder.length === length) return i + 1;
  return typeof d.queue_position === 'number' && d.queue_position > 0 ? d.queue_position : null;
}

function canTake(d) {
  if ((d.status || 'open') !== 'open') return false;
  const who = d.assignee && d.assignee.operator_id;
  if (who === myId()) return false;
  return (d.offered_to && d.offered_to.operator_id === myId()) || isQueued(d);
}

// Controls beside the badges: Take, and the link to the dialog this one continues.
function routingActions(d) {
  const out = [];
  if (canTake(d)) {
    const b = button('Take', 'small primary', 'take-dialog', () => take(d.dialog_id));
    b.title = 'Assign this dialog to yourself';
    out.push(b);
  }
  const prev = d.previous_dialog_id;
  if (typeof prev === 'string' && prev) {
    const a = el('a', 'continues', 'continues ' + (prev.length > 14 ? prev.slice(0, 13) + '…' : prev));
    a.href = '#';
    a.title = 'Open the dialog this one continues (' + prev + ')';
    a.dataset.testid = 'continues-link';
    a.dataset.previous = prev;
    a.addEventListener('click', e => {
      e.preventDefault();
      if (state.view !== 'dialogs') location.hash = '';
      hooks.openDialog(prev, d.visitor_id);
    });
    out.push(a);
  }
  return out;
}

const actionsKey = d => [canTake(d), d.previous_dialog_id || ''].join('|');

// The list row's routing line: the badges (inside the button) and the controls (after it).
export function updateRowRouting(li, flags, d) {
  flags.replaceChildren(...routingChips(d, false));
  let extra = li.querySelector(':scope > .rextra');
  const key = actionsKey(d);
  if (extra && extra.dataset.key === key) return;
  const actions = routingActions(d);
  if (!actions.length) { if (extra) extra.remove(); return; }
  if (!extra) { extra = el('div', 'rextra'); li.append(extra); }
  extra.dataset.key = key;
  extra.replaceChildren(...actions);
}

// The open dialog's header: badges, Take, continues, and the Transfer button.
export function renderRoutingHeader(d) {
  const box = $('dflags');
  let chips = box.querySelector('.hchips');
  let acts = box.querySelector('.hactions');
  if (!chips) {
    chips = el('span', 'chips hchips');
    acts = el('span', 'hactions');
    box.append(chips, acts);
  }
  chips.replaceChildren(...routingChips(d, true));
  const key = d.dialog_id + '|' + actionsKey(d);
  if (acts.dataset.key !== key) { acts.dataset.key = key; acts.replaceChildren(...routingActions(d)); }
  box.hidden = !chips.children.length && !acts.children.length;
  const closed = d.status === 'closed';
  $('transfer-open').hidden = closed;
  if (closed) closeTransfer();
  renderTransfer();
}

