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
  const RC = 'Reconnecting…', MAX = 2097152; // docs/protocol.md "Files"
  const TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain', 'text/csv',
    'application/zip', 'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'];

  // ---- storage (localStorage and sessionStorage may throw in private modes) ----
  const get = k => { try { return localStorage.getItem(P + k) } catch (e) { return null } };
  const put = (k, v) => { try { v == null ? localStorage.removeItem(P + k) : localStorage.setItem(P + k, v) } catch (e) { /* ignore */ } };
  const outbox = () => { try { return JSON.parse(get('outbox')) || [] } catch (e) { return [] } };
  const saveOut = a => put('outbox', a.length ? JSON.stringify(a) : null);
  const dropOut = cid => saveOut(outbox().filter(x => x.client_id !== cid));
  const hex = n => Array.from(crypto.getRandomValues(new Uint8Array(n)), b => b.toString(16).padStart(2, '0')).join('');
  const uid = () => crypto.randomUUID ? crypto.randomUUID() : hex(16);
  const hm = t => new Date(t || Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const kb = n => n < 1024 ? n + ' B' : n < 1048576 ? Math.round(n / 1024) + ' KB' : (n / 1048576).toFixed(1) + ' MB';
  const cut = s => String(s || '').slice(0, 2048);
  // Sent with the first session of this page load; visit: the first page of this browser session.
  let page = { url: cut(location.href), title: cut(document.title), referrer: cut(document.referrer) }, visit = true;
  try { visit = !sessionStorage.getItem(P + 'visit') } catch (e) { /* no sessionStorage: a new visit, once */ }

  // ---- DOM ----
  const CSS = `:host{all:initial;--c:#2b59c3}
*{box-sizing:border-box;margin:0;font:inherit}
[hidden]{display:none!important}
.l,.p{position:fixed;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
.l{right:20px;bottom:20px;width:56px;height:56px;border:0;border-radius:50%;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px #0003;display:grid;place-items:center}
.l:hover{filter:brightness(1.12)}
button:focus-visible,textarea:focus-visible,a:focus-visible{outline:2px solid var(--c);outline-offset:2px}
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
.log>div{display:contents}
.m{max-width:82%;padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e1e4e8;align-self:flex-start;overflow-wrap:anywhere}
.m.v{align-self:flex-end;background:var(--c);color:#fff;border-color:transparent}
.n{font-size:12px;font-weight:600;color:#57606a}
.t{white-space:pre-wrap}
.m a{display:block;color:inherit;text-decoration:underline}
.m img{display:block;max-width:min(200px,100%);max-height:300px;border-radius:8px;margin:2px 0 4px;background:#fff}
.mt{font-size:11px;opacity:.75;text-align:right;margin-top:2px}
.m.e{background:#fff;color:#1f2328;border-color:#d1242f}
.m.e .mt{color:#d1242f;opacity:1}
.y{align-self:center;text-align:center;font-size:12px;color:#57606a}
.log>.d{display:flex;align-items:center;gap:8px;font-size:12px;color:#57606a}
.d:before,.d:after{content:"";flex:1;border-top:1px solid #d0d7de}
.ty,.st{font-size:12px;color:#57606a;padding:6px 16px 0}
.ty:empty,.st:empty{display:none}
form{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e1e4e8}
textarea{flex:1;min-width:0;min-height:40px;max-height:120px;resize:none;padding:9px 10px;border:1px solid #d0d7de;border-radius:10px;background:#fff;color:inherit}
form button{height:40px;padding:0 14px;border:0;border-radius:10px;background:var(--c);color:#fff;font-weight:600;cursor:pointer}
form .a{flex:none;width:40px;padding:0;background:none;color:#57606a;display:grid;place-items:center}
.a:hover{background:#f0f2f5;color:var(--c)}
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
<div class="s"><p class="hi">Hi! Ask us anything. We usually reply within a few minutes.</p><div class="log" role="log" aria-live="polite"><div></div><div></div></div></div>
<div class="ty"></div><div class="st" role="status" data-testid="parley-status"></div>
<form><button class="a" type="button" aria-label="Attach a file" title="Attach a file (2 MB at most)" data-testid="parley-attach-button">${icon('M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5')}</button><input type="file" hidden tabindex="-1" data-testid="parley-attach"><textarea rows="1" aria-label="Message" placeholder="Write a message…" spellcheck="true" data-testid="parley-input"></textarea><button type="submit" data-testid="parley-send">Send</button></form>
</div>
<button class="l" type="button" aria-label="Open chat" aria-expanded="false" aria-controls="p" aria-describedby="u" data-testid="parley-launcher">${icon('M21 12a8 8 0 0 1-11.6 7.1L3 21l1.9-6.4A8 8 0 1 1 21 12z')}<span class="b" aria-hidden="true" hidden></span></button>
<span class="sr" id="u"></span>`;
  const $ = s => root.querySelector(s);
  const panel = $('.p'), title = $('h2'), scroller = $('.s'), log = $('.log'), tyEl = $('.ty'), stEl = $('.st');
  const form = $('form'), ta = $('textarea'), fileIn = $('input'), launcher = $('.l'), badge = $('.b'), unreadEl = $('#u');
  const h = (tag, cls, text) => { const e = document.createElement(tag); e.className = cls; if (text != null) e.textContent = text; return e };
  const status = t => { stEl.textContent = t || '' };
  fileIn.accept = TYPES.join();

  // ---- messages ----
  // The log holds one container per dialog (older dialogs stay above a divider), then one for
  // pending (unacked) messages. Stored messages of the current dialog are keyed by seq.
  const seqs = new Map(), pend = new Map();
  let cur = log.firstChild, outEl = log.lastChild;
  let dlg = null, top = 0, isOpen = 0, unread = 0, tyTimer = 0;
  const nearBottom = (x = 0) => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80 + x;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight };
  const meta = (e, t) => { e.lastChild.textContent = t };
  const place = (e, k) => {
    e._k = k;
    for (const c of cur.children) if (c !== e && !(c._k <= k)) return cur.insertBefore(e, c);
    cur.append(e);
  };
  function el(m) {
    const op = m.author && m.author.kind === 'operator', f = m.file;
    const e = h('div', 'm ' + (op ? 'o' : 'v'));
    e.dataset.testid = 'parley-message';
    e.dataset.author = op ? 'operator' : 'visitor';
    if (op) e.append(h('div', 'n', m.author.name || 'Operator'));
    if (f) {
      const a = h('a', ''), u = /^https?:\/\//i.test(f.url) ? f.url : '';
      a.dataset.testid = 'parley-file';
      if (u) {
        e._u = 1;
        a.href = u; a.download = f.name; a.rel = 'noopener'; a.target = '_blank';
        if (f.image) { const i = h('img', ''); i.alt = ''; i.onload = () => nearBottom(i.height) && toBottom(); i.src = u; a.append(i) }
      }
      a.append(h('span', '', f.name + (f.size ? ' (' + kb(f.size) + ')' : '')));
      e.append(a);
    }
    if (m.text || !f) e.append(h('div', 't', m.text));
    e.append(h('div', 'mt'));
    return e;
  }
  function reset() { // a new dialog: seqs restart; the old dialog's messages stay above a divider
    if (cur.children.length) {
      const d = h('div', 'd', 'New conversation');
      d.dataset.testid = 'parley-divider';
      cur = h('div', '');
      outEl.before(d, cur);
    }
    seqs.clear(); top = 0;
  }
  function add(m) {
    if (!m || typeof m.seq !== 'number' || m.note) return;
    if (m.dialog_id) { if (dlg && m.dialog_id !== dlg) reset(); dlg = m.dialog_id }
    const mine = m.client_id && pend.get(m.client_id), old = seqs.get(m.seq), url = m.file && m.file.url;
    if (mine) { pend.delete(m.client_id); dropOut(m.client_id) }
    // A seq already shown is dropped, unless it now brings its file's link (the ack has none).
    if (old && !(url && !old._u)) { if (mine) mine.remove(); return }
    const stick = mine || nearBottom(), e = mine && !url ? mine : el(m);
    if (mine && mine !== e) mine.remove();
    if (old) old.remove();
    e.dataset.seq = m.seq;
    meta(e, hm(m.created_at));
    seqs.set(m.seq, e);
    top = Math.max(top, m.seq);
    place(e, m.seq);
    if (stick) toBottom();
    if (!old && e.dataset.author === 'operator') {
      typingOff();
      const [rd, rs] = (get('read') || '').split(' ');
      if (isOpen) markRead(); else if (rd !== dlg || m.seq > +rs) unread++, showBadge();
    }
  }
  function queue(cid, text, file) {
    const e = el({ author: { kind: 'visitor' }, text, file });
    e._t = text; e._f = file; e._s = 0;
    meta(e, 'Sending…');
    pend.set(cid, e);
    e._k = Infinity; outEl.append(e);
  }
  function fail(cid, f) {
    const e = pend.get(cid);
    if (!e) return;
    pend.delete(cid); dropOut(cid);
    e.classList.add('e');
    meta(e, 'Not sent: ' + (f.message || f.code));
    place(e, top + 0.5);
  }
  function closed() {
    if (cur._c) return;
    const e = h('div', 'y', 'This conversation was closed. Write again any time.');
    e.dataset.testid = 'parley-closed';
    cur._c = 1; place(e, top + 0.5); typingOff();
    if (nearBottom()) toBottom();
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
  let sess = null, ws = null, ready = 0, tries = 0, busy = 0, retryT = 0, pongT = 0, dead = 0, fresh = 0, pg = 0;
  const tx = o => ws && ws.readyState === 1 && (ws.send(JSON.stringify(o)), 1);
  const resume = a => tx({ type: 'resume', after_seq: pg = a });
  async function session() {
    let tok = get('token');
    for (;;) {
      const r = await fetch(base + 'api/visitor/session', {
        method: 'POST', // text/plain: a CORS simple request, no preflight
        body: JSON.stringify({ site_id: site, token: tok || undefined, page: page || undefined, visit: visit || undefined }),
      });
      if (r.ok) {
        const s = await r.json();
        put('token', s.token);
        page = null;
        if (visit) { visit = false; try { sessionStorage.setItem(P + 'visit', '1') } catch (e) { /* ignore */ } }
        const name = (s.site && s.site.name) || 'Chat';
        title.textContent = name;
        panel.setAttribute('aria-label', 'Chat with ' + name);
        return s;
      }
      if (r.status === 400 && page) { page = null; continue } // the server refused the page info: chat without it
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
    s.onopen = () => { opened = 1; resume(Math.max(0, top - 20)) };
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
    if (tries) status(RC);
    const d = Math.min(15000, 500 * 2 ** tries++);
    retryT = setTimeout(start, d / 2 + Math.random() * d / 2);
  }
  function ping() { // also detects dead sockets (e.g. after a laptop sleeps)
    if (!ready || pongT) return;
    tx({ type: 'ping' });
    pongT = setTimeout(() => { pongT = 0; drop(ws) }, 8000);
  }
  function flush() { // (re)sends unacked messages and unanswered uploads, same client_id
    const now = Date.now();
    for (const [cid, e] of pend) if (now - e._s > 10000) {
      e._s = now;
      tx({ type: 'message', client_id: cid, text: e._t, file: e._f && { key: e._f.key, name: e._f.name } });
    }
    for (const [cid, u] of ups) if (!u.p && now - u._s > 10000) {
      u._s = now;
      tx({ type: 'upload', client_id: cid, name: u.n, size: u.f.size, content_type: u.t });
    }
  }
  function on(f) {
    switch (f.type) {
      case 'history': {
        if (f.dialog_id && dlg && f.dialog_id !== dlg) { reset(); dlg = f.dialog_id; resume(0); return }
        if (f.dialog_id) dlg = f.dialog_id;
        const ms = f.messages || [], na = f.next_after ?? (ms.length && ms[ms.length - 1].seq);
        ms.forEach(add);
        if (f.closed && !f.more) closed();
        // Notes leave seq gaps and a page may hold none for us: page on next_after, forward only.
        if (f.more && na > pg) { resume(na); return }
        if (!ready) { ready = 1; tries = 0; if (stEl.textContent === RC) status(''); for (const e of pend.values()) e._s = 0; for (const u of ups.values()) u._s = 0; flush() }
        break;
      }
      case 'message': { // a seq gap means a message stored concurrently may have missed us: fetch it
        const m = f.message, from = top, gap = m && dlg && m.dialog_id === dlg && m.seq > top + 1;
        add(m);
        if (gap) resume(from); // one request per gapped message: a gap left by notes stays, and that is fine
        break;
      }
      case 'ack': {
        const e = pend.get(f.client_id);
        if (e) add({ seq: f.seq, client_id: f.client_id, dialog_id: f.dialog_id, author: { kind: 'visitor' }, text: e._t, file: e._f, created_at: Date.now() });
        else if (f.client_id) dropOut(f.client_id);
        break;
      }
      case 'upload': {
        const u = ups.get(f.client_id);
        if (u && !u.p && f.url && f.file) { u.p = 1; s3(f, u) }
        break;
      }
      case 'closed':
        if (dlg && f.dialog_id === dlg) closed();
        break;
      case 'typing':
        if (f.author && f.author.kind === 'operator') {
          tyEl.textContent = (f.author.name || 'Operator') + ' is typing…';
          clearTimeout(tyTimer); tyTimer = setTimeout(typingOff, 4000);
        }
        break;
      case 'pong': clearTimeout(pongT); pongT = 0; break;
      case 'error': {
        const u = ups.get(f.client_id);
        if (u && !u.p) {
          if (f.code === 'internal') u._s = Date.now() - 7000; // retry soon
          else ups.delete(f.client_id), status('Could not send ' + u.n + ': ' + (f.message || f.code));
        } else if (f.client_id && ['invalid', 'too_large', 'not_found'].includes(f.code)) fail(f.client_id, f);
        else if (f.client_id && pend.has(f.client_id)) pend.get(f.client_id)._s = Date.now() - 7000; // internal: retry soon
        else if (f.code === 'unauthorized') drop(ws, 1);
      }
    }
  }

  // ---- files: checked here, signed by Parley, posted straight to S3, then sent as a message ----
  const ups = new Map();
  function attach(file) {
    if (!file || dead) return;
    const n = file.name.length > 200 ? file.name.slice(-200) : file.name || 'file';
    const t = file.type === 'application/x-zip-compressed' ? 'application/zip' : file.type;
    if (file.size > MAX) return status(n + ' is larger than 2 MB.');
    if (!file.size) return status(n + ' is empty.');
    if (!TYPES.includes(t)) return status(n + " can't be sent: only images, PDF, text, CSV, ZIP, Word and Excel files.");
    ups.set(uid(), { f: file, n, t, _s: 0 });
    status('Uploading ' + n + '…');
    if (ready) flush();
  }
  async function s3(f, u) {
    const fd = new FormData();
    for (const k in f.fields || {}) fd.append(k, f.fields[k]);
    fd.append('file', u.f, u.n);
    let err;
    try {
      const r = await fetch(f.url, { method: 'POST', body: fd });
      if (!r.ok) err = ((await r.text()).match(/<Message>([^<]*)/) || [])[1] || 'HTTP ' + r.status;
    } catch (e) { err = 'the network failed' }
    ups.delete(f.client_id);
    if (err) return status('Could not upload ' + u.n + ': ' + err);
    status('');
    post('', { key: f.file.key, name: f.file.name, size: u.f.size });
  }

  // ---- typing (throttled: at most one frame per 300 ms, the last value always goes out) ----
  let want = '', sent = '', last = 0, tT = 0;
  function typing(t) {
    want = t.slice(0, 1000);
    if (!tT) tT = setTimeout(() => { tT = 0; if (ready && want !== sent && tx({ type: 'typing', text: want })) sent = want, last = Date.now() }, Math.max(0, last + 300 - Date.now()));
  }

  // ---- UI actions ----
  function post(text, file) { // through the outbox: kept across reloads, retried with the same client_id until acked
    const cid = uid();
    saveOut(outbox().concat({ client_id: cid, text, file }));
    queue(cid, text, file);
    toBottom();
    if (ready) flush();
  }
  function send() {
    const t = ta.value.trim();
    if (!t) return;
    if (new TextEncoder().encode(t).length > 4096) return status('That message is too long (4096 bytes at most).');
    ta.value = ''; grow(); typing(''); status('');
    post(t);
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
  $('.a').onclick = () => fileIn.click();
  fileIn.onchange = () => { attach(fileIn.files[0]); fileIn.value = '' };
  panel.addEventListener('keydown', e => { if (e.key === 'Escape') { e.preventDefault(); close() } });
  form.onsubmit = e => { e.preventDefault(); send(); ta.focus() };
  ta.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send() } });
  ta.addEventListener('input', () => { grow(); typing(ta.value.trim() ? ta.value : '') });

  // ---- boot ----
  for (const x of outbox()) if (x && x.client_id && (x.text || x.file)) queue(x.client_id, x.text || '', x.file);
  const mount = () => document.body.append(host);
  document.body ? mount() : addEventListener('DOMContentLoaded', mount);
  setInterval(() => { if (ready) flush() }, 5000);
  setInterval(ping, 300000);
  addEventListener('online', () => { tries = 0; start() });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) ws ? ping() : (tries = 0, start()) });
  start();
  window.Parley = { open, close };
})();
