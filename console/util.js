// DOM building and formatting helpers, and the pane's two status lines; no app state here.

export const $ = id => document.getElementById(id);
export const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};
export const button = (text, cls, testid, onclick) => {
  const b = el('button', cls, text);
  b.type = 'button';
  if (testid) b.dataset.testid = testid;
  if (onclick) b.addEventListener('click', onclick);
  return b;
};
export const uid = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join(''));
export const byId = (parent, attr, id) => parent.querySelector(`[data-${attr}="${CSS.escape(id)}"]`);

// A button that asks again in place before it acts; the question's Cancel has the focus.
export function confirmButton(text, testid, question, yes, onConfirm, cls) {
  const wrap = el('span', 'confirm');
  const b = button(text, cls || 'small', testid, () => {
    const no = button('Cancel', 'small', testid + '-cancel', () => { wrap.replaceChildren(b); b.focus(); });
    wrap.replaceChildren(el('span', null, question + ' '),
      button(yes, 'small danger', testid + '-confirm', () => { wrap.replaceChildren(b); onConfirm(); }), no);
    no.focus();
  });
  wrap.append(b);
  return wrap;
}
// A labelled control: <label>Text <control></label>; a checkbox comes first.
export function labelled(text, control, cls) {
  const l = el('label', cls);
  if (control.type === 'checkbox') l.append(control, ' ' + text); else l.append(text + ' ', control);
  return l;
}
export function input(testid, attrs) {
  const i = el('input');
  if (testid) i.dataset.testid = testid;
  Object.assign(i, attrs);
  return i;
}
export function select(testid, options, value) {
  const s = el('select');
  if (testid) s.dataset.testid = testid;
  fillSelect(s, options, value);
  return s;
}
// options: [[value, text]…]; keeps `value` (or the current one) when it is still offered.
export function fillSelect(s, options, value) {
  const keep = value != null ? String(value) : s.value;
  s.replaceChildren(...options.map(([v, text]) => {
    const o = el('option', null, text);
    o.value = v;
    return o;
  }));
  if (options.some(([v]) => v === keep)) s.value = keep;
}

export function paneError(text) { $('derror').textContent = text || ''; }
export function setUpStatus(text) { $('upstatus').textContent = text || ''; }

// ---------- formatting ----------

export function relTime(ms) {
  if (!ms) return '';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 45) return 'now';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}
const hhmm = d => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
export function clockTime(ms) {
  const d = new Date(ms || Date.now());
  return d.toDateString() === new Date().toDateString() ? hhmm(d) : dayTime(ms);
}
export function dayTime(ms) {
  const d = new Date(ms || Date.now());
  return `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })} ${hhmm(d)}`;
}
// Milliseconds since the epoch, whether the server sent ms or s.
export const toMs = t => (typeof t === 'number' && t > 0 && t < 1e12 ? t * 1000 : t);
const pad = n => String(n).padStart(2, '0');
// 75 s -> "1:15", 3725 s -> "1:02:05".
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  return (h ? h + ':' + pad(Math.floor(s / 60) % 60) : Math.floor(s / 60)) + ':' + pad(s % 60);
}
export const fullTime = ms => (ms ? new Date(ms).toLocaleString() : '');
export const oneLine = text => String(text || '').replace(/\s+/g, ' ').trim();
export function fileSize(n) {
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
export function safeUrl(u) {
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
export function avatar(name, url, cls) {
  const a = el('span', 'av' + (cls ? ' ' + cls : ''));
  fillAvatar(a, name, url);
  return a;
}
export function fillAvatar(a, name, url) {
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
export function link(url, text) {
  const href = safeUrl(url);
  const a = el(href ? 'a' : 'span', null, text || url || '');
  if (href) { a.href = href; a.target = '_blank'; a.rel = 'noopener noreferrer'; }
  return a;
}
