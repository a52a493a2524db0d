// Notifications and sound for messages that arrive while the tab is hidden, and their setting;
// short in-page toasts (an assignment, a refusal of something done from the list).
import { state, local, NOTIFY_KEY, visitorName } from './state.js';
import { $, el, button, oneLine } from './util.js';

let audio = null;
export function unlockAudio() {
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

// `openDialog(id)` is called when the operator clicks the notification.
export function alertOperator(id, m, openDialog) {
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

export function renderNotify() {
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

export function setNotify(on) {
  state.notify = on;
  local.set(NOTIFY_KEY, state.notify);
  if (state.notify) askPermission();
  renderNotify();
}

// A short message at the bottom of the page; `action` ([label, fn]) adds a button. Text only.
export function toast(text, opts = {}) {
  const box = $('toasts');
  const t = el('div', 'toast' + (opts.error ? ' error-toast' : ''));
  t.dataset.testid = opts.testid || 'toast';
  if (opts.dialogId) {
    t.dataset.dialogId = opts.dialogId;
    // The latest news of a dialog replaces what was said about it before.
    for (const old of box.querySelectorAll(`[data-dialog-id="${CSS.escape(opts.dialogId)}"]`)) old.remove();
  }
  t.append(el('span', null, text));
  const close = () => { clearTimeout(timer); t.remove(); };
  if (opts.action) t.append(button(opts.action[0], 'small', 'toast-action', () => { close(); opts.action[1](); }));
  const x = button('×', 'small x', 'toast-close', close);
  x.setAttribute('aria-label', 'Dismiss');
  t.append(x);
  box.append(t);
  while (box.children.length > 4) box.firstChild.remove();
  const timer = setTimeout(close, opts.ms || 8000);
  if (document.hidden && opts.notify && state.notify) beep();
  return t;
}
