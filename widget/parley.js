/* Parley chat widget. Embed: <script src="https://HOST/widget/parley.js" data-site="SITE" defer></script>
   HOST may end in a path (an API Gateway stage): the API is this script's URL minus widget/parley.js.
   Speaks docs/protocol.md v1. Network text is only ever rendered with textContent. */
(() => {
  'use strict';
  const me = document.currentScript || document.querySelector('script[data-site]');
  if (!me || window.Parley) return;
  const site = me.dataset.site || 'demo';
  const base = new URL('..', me.src).href;
  const P = 'parley:' + site + ':';

  // ---- storage (localStorage may throw in private modes) ----
  const get = k => { try { return localStorage.getItem(P + k) } catch (e) { return null } };
  const put = (k, v) => { try { v == null ? localStorage.removeItem(P + k) : localStorage.setItem(P + k, v) } catch (e) { /* ignore */ } };
  const outbox = () => { try { return JSON.parse(get('outbox')) || [] } catch (e) { return [] } };
  const saveOut = a => put('outbox', a.length ? JSON.stringify(a) : null);
  const dropOut = cid => saveOut(outbox().filter(x => x.client_id !== cid));
  const hex = n => Array.from(crypto.getRandomValues(new Uint8Array(n)), b => b.toString(16).padStart(2, '0')).join('');
  const uid = () => crypto.randomUUID ? crypto.randomUUID() : hex(16);
  const hm = t => new Date(t || Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  // ---- DOM ----
  const CSS = `:host{all:initial;--c:#2b59c3}
*{box-sizing:border-box;margin:0;font:inherit}
[hidden]{display:none!important}
.l,.p{position:fixed;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
.l{right:20px;bottom:20px;width:56px;height:56px;border:0;border-radius:50%;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px #0003;display:grid;place-items:center}
.l:hover{filter:brightness(1.12)}
button:focus-visible,textarea:focus-visible{outline:2px solid var(--c);outline-offset:2px}
header button:focus-visible{outline-color:#fff}
.b{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#d1242f;color:#fff;font-size:12px;line-height:20px;font-weight:600}
.p{right:20px;bottom:88px;width:370px;height:min(600px,calc(100vh - 108px));background:#fff;border-radius:14px;box-shadow:0 8px 40px #0003;display:flex;flex-direction:column;overflow:hidden}
header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--c);color:#fff}
h2{flex:1;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.x{width:36px;height:36px;border:0;border-radius:8px;background:none;color:inherit;cursor:pointer;display:grid;place-items:center}
.x:hover{background:#fff3}
.s{flex:1;overflow-y:auto;padding:16px;background:#f6f7f9;overscroll-behavior:contain}
.hi{color:#57606a;margin-bottom:12px}
.log{display:flex;flex-direction:column;gap:8px}
.m{max-width:82%;padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e1e4e8;align-self:flex-start;overflow-wrap:anywhere}
.m.v{align-self:flex-end;background:var(--c);color:#fff;border-color:transparent}
.n{font-size:12px;font-weight:600;color:#57606a}
.t{white-space:pre-wrap}
.mt{font-size:11px;opacity:.75;text-align:right;margin-top:2px}
.m.e{background:#fff;color:#1f2328;border-color:#d1242f}
.m.e .mt{color:#d1242f;opacity:1}
.ty,.st{font-size:12px;color:#57606a;padding:6px 16px 0}
.ty:empty,.st:empty{display:none}
form{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e1e4e8}
textarea{flex:1;min-height:40px;max-height:120px;resize:none;padding:9px 10px;border:1px solid #d0d7de;border-radius:10px;background:#fff;color:inherit}
form button{height:40px;padding:0 14px;border:0;border-radius:10px;background:var(--c);color:#fff;font-weight:600;cursor:pointer}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.p{inset:0;width:auto;height:auto;border-radius:0}:host([open]) .l{display:none}textarea{font-size:16px}}
@media (prefers-reduced-motion:no-preference){.p{animation:pa .16s ease-out}@keyframes pa{from{opacity:0;transform:translateY(8px)}}}`;
  const icon = d => `<svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="${d}"/></svg>`;
  const host = document.createElement('parley-chat');
  const root = host.attachShadow({ mode: 'open' });
  // Static markup only: no network data goes through innerHTML.
  root.innerHTML = `<style>${CSS}</style>
<div class="p" id="p" role="dialog" aria-label="Chat" hidden>
<header><h2>Chat</h2><button class="x" type="button" aria-label="Close chat">${icon('M6 6l12 12M18 6L6 18')}</button></header>
<div class="s"><p class="hi">Hi! Ask us anything. We usually reply within a few minutes.</p><div class="log" role="log" aria-live="polite"></div></div>
<div class="ty"></div><div class="st" role="status"></div>
<form><textarea rows="1" aria-label="Message" placeholder="Write a message…" spellcheck="true" data-testid="parley-input"></textarea><button type="submit" data-testid="parley-send">Send</button></form>
</div>
<button class="l" type="button" aria-label="Open chat" aria-expanded="false" aria-controls="p" aria-describedby="u" data-testid="parley-launcher">${icon('M21 12a8 8 0 0 1-11.6 7.1L3 21l1.9-6.4A8 8 0 1 1 21 12z')}<span class="b" aria-hidden="true" hidden></span></button>
<span class="sr" id="u"></span>`;
  const $ = s => root.querySelector(s);
  const panel = $('.p'), title = $('h2'), scroller = $('.s'), log = $('.log'), tyEl = $('.ty'), stEl = $('.st');
  const form = $('form'), ta = $('textarea'), launcher = $('.l'), badge = $('.b'), unreadEl = $('#u');
  const h = (tag, cls, text) => { const e = document.createElement(tag); e.className = cls; if (text != null) e.textContent = text; return e };
  const status = t => { stEl.textContent = t || '' };

  // ---- messages ----
  // Stored messages are keyed by seq; pending (unacked) ones by client_id and sit after all stored ones.
  const seqs = new Map(), pend = new Map();
  let dlg = null, top = 0, isOpen = 0, unread = 0, tyTimer = 0;
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight };
  const meta = (e, t) => { e.lastChild.textContent = t };
  const place = (e, k) => {
    e._k = k;
    for (const c of log.children) if (c !== e && !(c._k <= k)) return log.insertBefore(e, c);
    log.append(e);
  };
  function el(m) {
    const op = m.author && m.author.kind === 'operator';
    const e = h('div', 'm ' + (op ? 'o' : 'v'));
    e.dataset.testid = 'parley-message';
    e.dataset.author = op ? 'operator' : 'visitor';
    if (op) e.append(h('div', 'n', m.author.name || 'Operator'));
    e.append(h('div', 't', m.text), h('div', 'mt'));
    return e;
  }
  function reset() { // the visitor's dialog changed: seqs restart
    for (const e of seqs.values()) e.remove();
    seqs.clear(); top = 0;
  }
  function add(m) {
    if (!m || typeof m.seq !== 'number') return;
    if (m.dialog_id) { if (dlg && m.dialog_id !== dlg) reset(); dlg = m.dialog_id }
    const mine = m.client_id && pend.get(m.client_id);
    if (mine) { pend.delete(m.client_id); dropOut(m.client_id) }
    if (seqs.has(m.seq)) { if (mine) mine.remove(); return }
    const stick = mine || nearBottom(), e = mine || el(m);
    e.dataset.seq = m.seq;
    meta(e, hm(m.created_at));
    seqs.set(m.seq, e);
    top = Math.max(top, m.seq);
    place(e, m.seq);
    if (stick) toBottom();
    if (e.dataset.author === 'operator') {
      typingOff();
      const [rd, rs] = (get('read') || '').split(' ');
      if (isOpen) markRead(); else if (rd !== dlg || m.seq > +rs) unread++, showBadge();
    }
  }
  function queue(cid, text) {
    const e = el({ author: { kind: 'visitor' }, text });
    e._t = text; e._s = 0;
    meta(e, 'Sending…');
    pend.set(cid, e);
    place(e, Infinity);
  }
  function fail(cid, f) {
    const e = pend.get(cid);
    if (!e) return;
    pend.delete(cid); dropOut(cid);
    e.classList.add('e');
    meta(e, 'Not sent: ' + (f.message || f.code));
    place(e, top + 0.5);
  }
  function showBadge() {
    badge.hidden = !unread;
    badge.textContent = unread > 9 ? '9+' : unread;
    unreadEl.textContent = unread ? unread + ' unread' : '';
  }
  function markRead() {
    if (dlg) put('read', dlg + ' ' + top);
    unread = 0; showBadge();
  }
  function typingOff() { clearTimeout(tyTimer); tyEl.textContent = '' }

  // ---- connection ----
  let sess = null, ws = null, ready = 0, tries = 0, busy = 0, retryT = 0, pongT = 0, dead = 0, fresh = 0;
  const tx = o => ws && ws.readyState === 1 && (ws.send(JSON.stringify(o)), 1);
  async function session() {
    let tok = get('token');
    for (;;) {
      const r = await fetch(base + 'api/visitor/session', {
        method: 'POST', // text/plain: a CORS simple request, no preflight
        body: JSON.stringify(tok ? { site_id: site, token: tok } : { site_id: site }),
      });
      if (r.ok) {
        const s = await r.json();
        put('token', s.token);
        const name = (s.site && s.site.name) || 'Chat';
        title.textContent = name;
        panel.setAttribute('aria-label', 'Chat with ' + name);
        return s;
      }
      // A stale token is forgotten once; 403 (origin) and other 4xx are final, 429/5xx are retried.
      if (tok && r.status !== 403 && r.status !== 429 && r.status < 500) { put('token', null); tok = null; continue }
      throw r.status === 429 || r.status >= 500 ? r.status : 'fatal';
    }
  }
  async function start() {
    clearTimeout(retryT);
    if (ws || busy || dead) return;
    busy = 1;
    try {
      if (fresh || !sess) fresh = 0, sess = await session();
      connect();
    } catch (e) {
      if (e === 'fatal') { dead = 1; status('Chat is unavailable on this page.') } else retry(1);
    }
    busy = 0;
  }
  function connect() {
    const s = ws = new WebSocket(sess.ws_url + (sess.ws_url.includes('?') ? '&' : '?') + 'v=1&token=' + encodeURIComponent(sess.token));
    let opened = 0;
    s.onopen = () => { opened = 1; tx({ type: 'resume', after_seq: Math.max(0, top - 20) }) };
    s.onmessage = ev => { let f; try { f = JSON.parse(ev.data) } catch (e) { return } if (s === ws && f) on(f) };
    s.onclose = () => drop(s, !opened); // closed before open: likely 401, get a fresh session
  }
  function drop(s, stale) {
    if (!s || s !== ws) return;
    ws = null; ready = 0; sent = '';
    s.onclose = null;
    try { s.close() } catch (e) { /* already closed */ }
    clearTimeout(pongT); typingOff();
    retry(stale);
  }
  function retry(stale) { // exponential backoff with jitter, 0.5 s .. 15 s
    if (stale) fresh = 1;
    if (tries) status('Reconnecting…');
    const d = Math.min(15000, 500 * 2 ** tries++);
    retryT = setTimeout(start, d / 2 + Math.random() * d / 2);
  }
  function ping() { // also detects dead sockets (e.g. after a laptop sleeps)
    if (!ready || pongT) return;
    tx({ type: 'ping' });
    pongT = setTimeout(() => { pongT = 0; drop(ws) }, 8000);
  }
  function flush() {
    const now = Date.now();
    for (const [cid, e] of pend) if (now - e._s > 10000) { e._s = now; tx({ type: 'message', client_id: cid, text: e._t }) }
  }
  function on(f) {
    switch (f.type) {
      case 'history': {
        if (f.dialog_id && dlg && f.dialog_id !== dlg) { reset(); dlg = f.dialog_id; tx({ type: 'resume', after_seq: 0 }); return }
        if (f.dialog_id) dlg = f.dialog_id;
        const ms = f.messages || [];
        ms.forEach(add);
        if (f.more && ms.length) { tx({ type: 'resume', after_seq: ms[ms.length - 1].seq }); return }
        if (!ready) { ready = 1; tries = 0; status(''); for (const e of pend.values()) e._s = 0; flush() }
        break;
      }
      case 'message': { // a seq gap means a message stored concurrently may have missed us: fetch it
        const m = f.message, from = top, gap = m && dlg && m.dialog_id === dlg && m.seq > top + 1;
        add(m);
        if (gap) tx({ type: 'resume', after_seq: from });
        break;
      }
      case 'ack': {
        const e = pend.get(f.client_id);
        if (e) add({ seq: f.seq, client_id: f.client_id, dialog_id: f.dialog_id, author: { kind: 'visitor' }, text: e._t, created_at: Date.now() });
        else if (f.client_id) dropOut(f.client_id);
        break;
      }
      case 'typing':
        if (f.author && f.author.kind === 'operator') {
          tyEl.textContent = (f.author.name || 'Operator') + ' is typing…';
          clearTimeout(tyTimer); tyTimer = setTimeout(typingOff, 4000);
        }
        break;
      case 'pong': clearTimeout(pongT); pongT = 0; break;
      case 'error':
        if (f.client_id && ['invalid', 'too_large', 'not_found'].includes(f.code)) fail(f.client_id, f);
        else if (f.client_id && pend.has(f.client_id)) pend.get(f.client_id)._s = Date.now() - 7000; // internal: retry soon
        else if (f.code === 'unauthorized') drop(ws, 1);
    }
  }

  // ---- typing (throttled: at most one frame per 300 ms, the last value always goes out) ----
  let want = '', sent = '', last = 0, tT = 0;
  function typing(t) {
    want = t.slice(0, 1000);
    if (!tT) tT = setTimeout(() => { tT = 0; if (ready && want !== sent && tx({ type: 'typing', text: want })) sent = want, last = Date.now() }, Math.max(0, last + 300 - Date.now()));
  }

  // ---- UI actions ----
  function send() {
    const t = ta.value.trim();
    if (!t) return;
    if (new TextEncoder().encode(t).length > 4096) return status('That message is too long (4096 bytes at most).');
    const cid = uid();
    saveOut(outbox().concat({ client_id: cid, text: t }));
    queue(cid, t);
    toBottom();
    ta.value = ''; grow(); typing(''); status('');
    if (ready) flush();
  }
  function grow() { ta.style.height = 'auto'; ta.style.height = Math.min(ta.scrollHeight + 2, 120) + 'px' }
  function open() {
    if (!isOpen) {
      isOpen = 1; panel.hidden = false; host.setAttribute('open', '');
      launcher.setAttribute('aria-expanded', 'true');
      markRead(); toBottom();
    }
    ta.focus();
  }
  function close() {
    if (!isOpen) return;
    const inside = panel.contains(root.activeElement);
    isOpen = 0; panel.hidden = true; host.removeAttribute('open');
    launcher.setAttribute('aria-expanded', 'false');
    if (inside) launcher.focus();
  }
  launcher.onclick = () => (isOpen ? close() : open());
  $('.x').onclick = close;
  panel.addEventListener('keydown', e => { if (e.key === 'Escape') { e.preventDefault(); close() } });
  form.onsubmit = e => { e.preventDefault(); send(); ta.focus() };
  ta.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send() } });
  ta.addEventListener('input', () => { grow(); typing(ta.value.trim() ? ta.value : '') });

  // ---- boot ----
  for (const x of outbox()) if (x && x.client_id && x.text) queue(x.client_id, x.text);
  const mount = () => document.body.append(host);
  document.body ? mount() : addEventListener('DOMContentLoaded', mount);
  setInterval(() => { if (ready) flush() }, 5000);
  setInterval(ping, 300000);
  addEventListener('online', () => { tries = 0; start() });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) ws ? ping() : (tries = 0, start()) });
  start();
  window.Parley = { open, close };
})();
