/* Parley chat widget. Embed: <script src="https://HOST/widget/parley.js" data-site="SITE" defer></script>
   HOST may end in a path (an API Gateway stage): the API is this script's URL minus widget/parley.js.
   Speaks docs/protocol.md v1. Network text is only ever rendered with textContent.
   API: Parley.open(), .close(), .track(name, props), .identify({id, email, name, hash}); early calls wait (50 at most).
   Before this script loads, queue calls (replayed at boot; pushes after that run at once):
   (window.ParleyQueue = window.ParleyQueue || []).push(['track', 'cart', {value: 9}]) */
(() => {
  'use strict';
  const me = document.currentScript || document.querySelector('script[data-site]');
  if (!me || window.Parley) return;
  const site = me.dataset.site || 'demo';
  const base = new URL('..', me.src).href;
  const P = 'parley:' + site + ':';
  const MAX = 2097152; // docs/protocol.md "Files"
  const TYPES = ('image/png image/jpeg image/gif image/webp application/pdf text/plain text/csv application/zip application/msword '
    + 'application/vnd.openxmlformats-officedocument.wordprocessingml.document application/vnd.ms-excel '
    + 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').split(' ');

  // ---- texts, in K's order; % is a value ----
  const K = 'chat hi ph send open close att msg unr sending ns rc big empty type up cnu net long closed nc ty na em on busy off mail name rt cm thx pos wait will bot hum'.split(' ');
  const L = { __proto__: null,
    en: "Chat|Hi! Ask us anything. We usually reply within a few minutes.|Write a message…|Send|Open chat|Close chat|Attach a file|Message|% unread|Sending…|Not sent: |Reconnecting…|% is larger than 2 MB.|% is empty.|% can't be sent: only images, PDF, text, CSV, ZIP, Word and Excel files.|Uploading %…|Could not upload %: |the network failed|That message is too long (4096 bytes at most).|This conversation was closed. Write again any time.|New conversation|% is typing…|Chat is unavailable on this page.|We'll also reply by email to %: no need to wait on this page.|We usually reply in a minute|Our team is busy: you may wait a little|We're away: leave a message, we'll email you|Email|Name (optional)|How was this chat?|Comment (optional)|Thanks for your feedback|You're number % in line|about % min|% will answer you|Automatic assistant|Talk to a person",
    es: "Chat|¡Hola! Pregúntanos lo que quieras: respondemos en minutos.|Escribe un mensaje…|Enviar|Abrir chat|Cerrar chat|Adjuntar archivo|Mensaje|% sin leer|Enviando…|No enviado: |Reconectando…|% supera los 2 MB.|% está vacío.|No se puede enviar %: solo imágenes, PDF, texto, CSV, ZIP, Word y Excel.|Subiendo %…|No se pudo subir %: |error de red|Mensaje demasiado largo (máx. 4096 bytes).|Conversación cerrada. Escríbenos cuando quieras.|Nueva conversación|% está escribiendo…|El chat no está disponible aquí.|También te responderemos por email a %: no hace falta esperar aquí.|Solemos responder en un minuto|Equipo ocupado: quizá esperes un poco|No estamos: deja un mensaje y te escribiremos|Email|Nombre (opcional)|¿Qué tal el chat?|Comentario (opcional)|¡Gracias por tu opinión!|Eres el número % en la cola|unos % min|% te responderá|Asistente automático|Hablar con una persona",
    de: "Chat|Hallo! Fragen Sie uns gern – wir antworten meist in Minuten.|Nachricht schreiben…|Senden|Chat öffnen|Chat schließen|Datei anhängen|Nachricht|% ungelesen|Wird gesendet…|Nicht gesendet: |Neu verbinden…|% ist größer als 2 MB.|% ist leer.|% wird nicht unterstützt: nur Bilder, PDF, Text, CSV, ZIP, Word und Excel.|% wird hochgeladen…|Upload von % fehlgeschlagen: |Netzwerkfehler|Nachricht zu lang (max. 4096 Bytes).|Gespräch beendet. Schreiben Sie jederzeit wieder.|Neues Gespräch|% schreibt…|Der Chat ist hier nicht verfügbar.|Wir antworten auch per E-Mail an %: Sie müssen hier nicht warten.|Wir antworten meist in einer Minute|Alle sind beschäftigt: bitte etwas Geduld|Wir sind nicht da: Schreiben Sie uns, wir antworten per E-Mail|E-Mail|Name (optional)|Wie war der Chat?|Kommentar (optional)|Danke für Ihr Feedback|Sie sind Nummer % in der Warteschlange|etwa % Min.|% antwortet Ihnen|Automatischer Assistent|Mit einem Menschen sprechen",
    ru: "Чат|Здравствуйте! Задайте вопрос — обычно отвечаем за пару минут.|Напишите сообщение…|Отправить|Открыть чат|Закрыть чат|Прикрепить файл|Сообщение|Непрочитанных: %|Отправка…|Не отправлено: |Переподключение…|% больше 2 МБ.|% пуст.|% нельзя отправить: только изображения, PDF, текст, CSV, ZIP, Word и Excel.|Загрузка %…|Не удалось загрузить %: |нет сети|Сообщение длиннее 4096 байт.|Разговор закрыт. Пишите в любое время.|Новый разговор|% печатает…|Чат здесь недоступен.|Ответим и на почту %: ждать на этой странице не нужно.|Обычно отвечаем за минуту|Все заняты: возможно, придётся подождать|Нас нет: оставьте сообщение, ответим на почту|Email|Имя (необязательно)|Как прошёл разговор?|Комментарий (необязательно)|Спасибо за отзыв|Ваш номер в очереди: %|около % мин|Вам ответит %|Автоматический помощник|Позвать оператора",
    ja: "チャット|こんにちは！お気軽にご質問ください。通常数分でお返事します。|メッセージを入力…|送信|チャットを開く|チャットを閉じる|ファイルを添付|メッセージ|未読 %件|送信中…|未送信: |再接続中…|%は2 MBを超えています。|%は空です。|%は送信できません（画像、PDF、テキスト、CSV、ZIP、Word、Excelのみ）。|%をアップロード中…|%をアップロードできませんでした: |ネットワークエラー|メッセージが長すぎます（最大4096バイト）。|この会話は終了しました。いつでもどうぞ。|新しい会話|%が入力中…|このページではチャットを利用できません。|%にもメールで返信します。このページで待つ必要はありません。|通常1分以内に返信します|混み合っています。少々お待ちください|ただいま不在です。メッセージをどうぞ、メールで返信します|メール|お名前（任意）|チャットはいかがでしたか？|コメント（任意）|ご意見ありがとうございます|順番待ち: %番目|約%分|%が対応します|自動アシスタント|担当者と話す",
    zh: "聊天|您好！有问题尽管问，我们通常几分钟内回复。|输入消息…|发送|打开聊天|关闭聊天|添加附件|消息|% 条未读|发送中…|未发送：|正在重新连接…|%超过 2 MB。|%是空文件。|无法发送%：仅支持图片、PDF、文本、CSV、ZIP、Word 和 Excel。|正在上传%…|无法上传%：|网络错误|消息太长（最多 4096 字节）。|对话已结束，欢迎随时留言。|新对话|%正在输入…|此页面无法使用聊天。|我们也会发邮件回复至%，无需在此页面等待。|通常一分钟内回复|客服都在忙，请稍等|我们不在线：请留言，我们会发邮件回复|邮箱|姓名（可选）|这次聊天怎么样？|评论（可选）|感谢您的反馈|您排在第 % 位|约 % 分钟|%将为您服务|自动助手|转人工",
  };
  const S = {}, t = (k, x) => S[k].replace('%', () => x);

  // ---- storage (throws in some private modes); s: sessionStorage ----
  const sto = s => s ? sessionStorage : localStorage;
  const get = (k, s) => { try { return sto(s).getItem(P + k) } catch { return null } };
  const put = (k, v, s) => { try { v == null ? sto(s).removeItem(P + k) : sto(s).setItem(P + k, v) } catch {} };
  const outbox = () => { try { return JSON.parse(get('outbox')) || [] } catch { return [] } };
  const saveOut = a => put('outbox', a.length ? JSON.stringify(a) : null);
  const dropOut = cid => saveOut(outbox().filter(x => x.client_id !== cid));
  const hex = n => Array.from(crypto.getRandomValues(new Uint8Array(n)), b => b.toString(16).padStart(2, '0')).join('');
  const uid = () => crypto.randomUUID?.() || hex(16);
  const hm = t => new Date(t || Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const kb = n => n < 1024 ? n + ' B' : n < 1048576 ? Math.round(n / 1024) + ' KB' : (n / 1048576).toFixed(1) + ' MB';
  const cut = s => String(s || '').slice(0, 2048);
  // page: sent with the first session; visit: this browser session's first page
  const pv = { url: cut(location.href), title: cut(document.title), referrer: cut(document.referrer) };
  let page = pv, visit = !get('visit', 1), gr, gEl; // gr: this tab's greeting; no text once answered
  try { gr = JSON.parse(get('greeting', 1)) } catch {}
  const warn = m => console.warn('Parley: ' + m);

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
hgroup{flex:1;min-width:0}
small{display:block;font-size:12px;opacity:.9}
h2{font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.x{width:36px;height:36px;border:0;border-radius:8px;background:none;color:inherit;cursor:pointer;display:grid;place-items:center}
.x:hover{background:#fff3}
.s{flex:1;overflow-y:auto;padding:16px;background:#f6f7f9;overscroll-behavior:contain}
.hi{color:#57606a;margin-bottom:12px}
.log{display:flex;flex-direction:column;gap:8px}
.log>div{display:contents}
.m{max-width:82%;padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e1e4e8;align-self:flex-start;overflow-wrap:anywhere}
.m.k{background:#eef2fb;border-style:dashed}
.m.v{align-self:flex-end;background:var(--c);color:#fff;border-color:transparent}
.n{font-size:12px;font-weight:600;color:#57606a}
.t{white-space:pre-wrap}
.m a{display:block;color:inherit;text-decoration:underline}
.m img{display:block;max-width:min(200px,100%);max-height:300px;border-radius:8px;margin:2px 0 4px;background:#fff}
.m .av{display:inline;width:20px;height:20px;border-radius:50%;margin:0 6px 0 0;vertical-align:middle}
.mt{font-size:11px;opacity:.75;text-align:right;margin-top:2px}
.m.e{background:#fff;color:#1f2328;border-color:#d1242f}
.m.e .mt{color:#d1242f;opacity:1}
.y{align-self:center;text-align:center;font-size:12px;color:#57606a}
.log>.d{display:flex;align-items:center;gap:8px;font-size:12px;color:#57606a}
.d:before,.d:after{content:"";flex:1;border-top:1px solid #d0d7de}
.ty,.st,.em,.q{font-size:12px;color:#57606a;padding:6px 16px 0}
.ty:empty,.st:empty,.q:empty,.er:empty{display:none}
.em{overflow-wrap:anywhere}
form{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e1e4e8}
.rt,.lf{display:flex;flex-flow:column;gap:8px;padding-top:12px}
.rt>*,.lf>*{flex:none}
.s textarea{min-height:80px}
.er{color:#d1242f}
.rt{flex-flow:row wrap;align-items:center;margin-top:12px;padding:12px;border:1px solid #e1e4e8;border-radius:14px;background:#fff}
.rt p,.rt textarea{flex-basis:100%}
.rt .u{background:#e1e4e8}
.u[aria-pressed=true]{background:var(--c)}
.ho{align-self:center;margin-top:6px;padding:6px 12px;border:1px solid var(--c);border-radius:16px;background:#fff;color:var(--c);cursor:pointer}
textarea,input{flex:1;min-width:0;min-height:40px;max-height:120px;resize:none;padding:9px 10px;border:1px solid #d0d7de;border-radius:10px;background:#fff;color:inherit}
form button,.s button{height:40px;padding:0 14px;border:0;border-radius:10px;background:var(--c);color:#fff;font-weight:600;cursor:pointer}
form .a{flex:none;width:40px;padding:0;background:none;color:#57606a;display:grid;place-items:center}
.a:hover{background:#f0f2f5;color:var(--c)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.p{inset:0;width:auto;height:auto;border-radius:0}:host([open]) .l{display:none}textarea,input{font-size:16px}}
@media (prefers-reduced-motion:no-preference){.p{animation:pa .16s ease-out}@keyframes pa{from{opacity:0;transform:translateY(8px)}}}`;
  const icon = d => `<svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="${d}"/></svg>`;
  const host = document.createElement('parley-chat');
  const root = host.attachShadow({ mode: 'open' });
  // Static markup only: no network data goes through innerHTML.
  root.innerHTML = `<style>${CSS}</style>
<div class="p" id="p" role="dialog" aria-labelledby="h" hidden>
<header><hgroup><h2 id="h"></h2><small data-testid="parley-availability"></small></hgroup><button class="x" type="button">${icon('M6 6l12 12M18 6L6 18')}</button></header>
<div class="s"><p class="hi"></p><div class="log" role="log" aria-live="polite"><div></div><div></div></div><div class="rt" data-testid="parley-rating" hidden><p></p><button class="u" type="button">👍</button><button class="u" type="button">👎</button><textarea maxlength="1000"></textarea><button></button></div><div class="lf" data-testid="parley-leave" hidden><input type="email" required maxlength="254" pattern=".+@.+\\..+" autocomplete="email"><input maxlength="100" autocomplete="name"><textarea></textarea><p class="er" role="alert"></p><button></button></div></div>
<div class="ty"></div><p class="q" role="status" data-testid="parley-queue"></p><button class="ho" type="button" data-testid="parley-handoff" hidden></button><div class="st" role="status" data-testid="parley-status"></div><p class="em" data-testid="parley-email-note" hidden></p>
<form><button class="a" type="button" data-testid="parley-attach-button">${icon('M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5')}</button><input type="file" hidden tabindex="-1" data-testid="parley-attach"><textarea rows="1" spellcheck="true" data-testid="parley-input"></textarea><button type="submit" data-testid="parley-send"></button></form>
</div>
<button class="l" type="button" aria-expanded="false" aria-controls="p" aria-describedby="u" data-testid="parley-launcher">${icon('M21 12a8 8 0 0 1-11.6 7.1L3 21l1.9-6.4A8 8 0 1 1 21 12z')}<span class="b" aria-hidden="true" hidden></span></button>
<span class="sr" id="u"></span>`;
  const $ = s => root.querySelector(s);
  const panel = $('.p'), title = $('h2'), scroller = $('.s'), log = $('.log'), tyEl = $('.ty'), stEl = $('.st'), emEl = $('.em');
  const form = $('form'), ta = $('form textarea'), fileIn = $('form input'), launcher = $('.l'), badge = $('.b'), unreadEl = $('#u');
  const xB = $('.x'), aB = $('.a'), avEl = $('small'), rtF = $('.rt'), lmF = $('.lf'), qEl = $('.q'), hoB = $('.ho');
  const [lmE, lmN, lmT, erEl, lmB] = lmF.children, [, gB, bB, rtC, rtB] = rtF.children;
  const h = (tag, cls, text) => { const e = document.createElement(tag); e.className = cls; if (text != null) e.textContent = text; return e };
  const status = (s, rc) => { stEl.textContent = s || ''; stEl._rc = rc };
  fileIn.accept = TYPES.join();

  // ---- messages ----
  // The log: a container per dialog (older ones above a divider), then one for unacked messages.
  const seqs = new Map(), pend = new Map();
  let cur = log.firstChild, outEl = log.lastChild;
  let dlg = null, top = 0, isOpen = 0, unread = 0, tyTimer = 0, rsq = 0, em; // rsq: read seq sent; em: their email
  const vis = () => document.visibilityState == 'visible', rd = () => isOpen && vis() && markRead();
  const note = () => { emEl.hidden = !(em && (dlg || pend.size)); emEl.textContent = t('em', em) };
  const nearBottom = (x = 0) => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80 + x;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight };
  const meta = (e, t) => { e.lastChild.textContent = t };
  const place = (e, k) => {
    e._k = k;
    for (const c of cur.children) if (c !== e && !(c._k <= k)) return cur.insertBefore(e, c);
    cur.append(e);
  };
  function el(m) {
    const a = m.author, op = a && a.kind !== 'visitor', b = op && a.kind == 'bot', f = m.file;
    const e = h('div', 'm ' + (b ? 'o k' : op ? 'o' : 'v'));
    e.dataset.testid = 'parley-message';
    e.dataset.author = b ? 'bot' : op ? 'operator' : 'visitor';
    if (op) e.append(h('div', 'n', b ? (a.name ? a.name + ' · ' : '') + S.bot : a.name || sname));
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
  function reset() { // a new dialog: the old one stays above a divider
    if (cur.children.length) {
      const d = h('div', 'd', S.nc);
      d.dataset.testid = 'parley-divider';
      cur = h('div', '');
      outEl.before(d, cur);
    }
    seqs.clear(); top = rsq = 0;
  }
  function add(m) {
    if (!m || typeof m.seq !== 'number' || m.note) return;
    if (m.dialog_id) { if (dlg && m.dialog_id !== dlg) reset(); dlg = m.dialog_id; note() }
    const mine = m.client_id && pend.get(m.client_id), old = seqs.get(m.seq), url = m.file && m.file.url;
    if (mine) { pend.delete(m.client_id); dropOut(m.client_id) }
    // A seq shown is dropped, unless it brings its file's link (an ack has none).
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
    if (!old && e.dataset.author !== 'visitor') {
      typingOff();
      const [rd, rs] = (get('read') || '').split(' ');
      const g = gr?.text && gr.text === m.text && dlg !== gr.d && forget(); // the greeting, stored
      if (isOpen && vis() || g && !unread) markRead(); else if (!g && (rd !== dlg || m.seq > +rs)) unread++, showBadge();
    }
  }
  function queue(cid, text, file, g) { // g: a greeting_id
    const e = el({ author: { kind: 'visitor' }, text, file });
    e._t = text; e._f = file; e._g = g; e._s = 0;
    meta(e, S.sending);
    pend.set(cid, e);
    e._k = Infinity; outEl.append(e); note();
  }
  function fail(cid, f) {
    const e = pend.get(cid);
    if (!e) return;
    pend.delete(cid); dropOut(cid);
    e.classList.add('e');
    meta(e, S.ns + (f.message || f.code));
    place(e, top + 0.5);
  }
  function closed() {
    if (cur._c) return;
    const e = h('div', 'y', S.closed);
    e.dataset.testid = 'parley-closed';
    cur._c = 1; place(e, top + 0.5); typingOff();
    if (!rated().includes(dlg)) rtD = dlg, rtC.value = '', press();
    if (nearBottom()) toBottom();
  }
  function showBadge() {
    badge.hidden = !unread;
    badge.textContent = unread > 9 ? '9+' : unread;
    unreadEl.textContent = unread ? t('unr', unread) : '';
  }
  function markRead() { // the server emails what was not read
    if (dlg) put('read', dlg + ' ' + top);
    unread = 0; showBadge();
    if (isOpen && vis() && top > rsq && tx({ type: 'read', seq: top })) rsq = top;
  }
  function typingOff() { clearTimeout(tyTimer); tyEl.textContent = '' }
  function showGr() { // where it came (d: dialog, k: place), else last
    const a = gr.author || {}, e = gEl = el({ author: a, text: gr.text }), stick = nearBottom();
    e.dataset.testid = 'parley-greeting';
    e.querySelector('.t').dataset.testid = 'parley-greeting-text';
    if (/^https:/i.test(a.avatar)) { const i = h('img', 'av'); i.alt = ''; i.referrerPolicy = 'no-referrer'; i.src = a.avatar; e.firstChild.prepend(i) }
    meta(e, hm(gr.at));
    place(e, gr.d === dlg ? gr.k : top + 0.5);
    if (stick) toBottom();
  }
  function forget(g) { // the id stays: a repeat is ignored
    gEl?.remove(); gEl = 0;
    gr = g || gr && { greeting_id: gr.greeting_id };
    put('greeting', JSON.stringify(gr), 1);
    return 1;
  }

  // ---- connection ----
  let sess = null, ws = null, ready = 0, tries = 0, busy = 0, retryT = 0, pongT = 0, dead = 0, fresh = 0, pg = 0;
  let sname = '', cap, keyAt = 0, ckT = 0, Q = []; // cap: capture emails; Q: API frames waiting
  const tx = o => ws && ws.readyState === 1 && (ws.send(JSON.stringify(o)), 1);
  const typ = () => Date.now() - keyAt < 5000;
  const fx = f => tx(f.type === 'track' ? { ...f, typing: typ() } : f);
  const api = f => { if (dead < 2 && !(ready && fx(f)) && Q.push(f) > 50) Q.shift() };
  const resume = a => tx({ type: 'resume', after_seq: pg = a });
  async function session() {
    let tok = get('token');
    for (;;) {
      const r = await fetch(base + 'api/visitor/session', {
        method: 'POST', // text/plain: a CORS simple request, no preflight
        body: JSON.stringify({ site_id: site, token: tok || undefined, page: page || undefined, visit: visit || undefined, language: navigator.language }),
      });
      if (r.ok) {
        const s = await r.json(), c = s.site || {};
        put('token', s.token);
        page = null;
        if (visit) visit = false, put('visit', '1', 1);
        sname = c.name || '';
        cap = c.capture_emails !== false;
        em = s.email; note();
        lang(c.language);
        return s;
      }
      if (r.status === 400 && page) { page = null; continue } // page info refused: chat without it
      if (r.status === 403 && /^blocked$/i.test((await r.json().catch(() => 0))?.Code)) throw 'blocked';
      // A stale token is dropped once; other 4xx are final, 429/5xx retried.
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
      if (e === 'blocked') { dead = 2; host.remove() }
      else if (e === 'fatal') { dead = 1; status(S.na) } else retry(1);
    }
    busy = 0;
  }
  function connect() {
    const s = ws = new WebSocket(sess.ws_url + (sess.ws_url.includes('?') ? '&' : '?') + 'v=1&token=' + encodeURIComponent(sess.token));
    let opened = 0;
    s.onopen = () => { opened = 1; resume(Math.max(0, top - 20)) };
    s.onmessage = ev => { let f; try { f = JSON.parse(ev.data) } catch { return } if (s === ws && f) on(f), sync() };
    s.onclose = () => drop(s, !opened); // closed before open (401?): a fresh session
  }
  function drop(s, stale) {
    if (!s || s !== ws) return;
    ws = null; ready = 0; sent = ''; rsq = 0;
    s.onclose = null;
    try { s.close() } catch {}
    clearTimeout(pongT); typingOff();
    retry(stale);
  }
  function retry(stale) { // exponential backoff with jitter, 0.5 s .. 15 s
    if (stale) fresh = 1;
    if (tries) status(S.rc, 1);
    const d = Math.min(15000, 500 * 2 ** tries++);
    retryT = setTimeout(start, d / 2 + Math.random() * d / 2);
  }
  function ping() { // also finds dead sockets
    if (!ready || pongT) return;
    tx({ type: 'ping' });
    pongT = setTimeout(() => { pongT = 0; drop(ws) }, 8000);
  }
  function flush() { // (re)sends unacked messages and uploads, same client_id
    const now = Date.now();
    for (const [cid, e] of pend) if (now - e._s > 10000) {
      e._s = now;
      tx({ type: 'message', client_id: cid, text: e._t, file: e._f && { key: e._f.key, name: e._f.name }, greeting_id: e._g });
    }
    for (const [cid, u] of ups) if (!u.p && now - u._s > 10000) {
      u._s = now;
      tx({ type: 'upload', client_id: cid, name: u.n, size: u.f.size, content_type: u.t });
    }
    if (lm && now - lmS > 1e4) lmS = now, tx({ ...lm, type: 'leave_message' });
  }
  function on(f) {
    switch (f.type) {
      case 'history': {
        if (f.dialog_id && dlg && f.dialog_id !== dlg) { reset(); dlg = f.dialog_id; resume(0); return }
        if (f.dialog_id) dlg = f.dialog_id;
        const ms = f.messages || [], na = f.next_after ?? (ms.length && ms[ms.length - 1].seq);
        ms.forEach(add);
        if (f.closed && !f.more) closed();
        // Notes leave gaps: page on next_after, forward only.
        if (f.more && na > pg) { resume(na); return }
        if (!ready) {
          ready = 1; tries = 0; if (stEl._rc) status(''); for (const e of pend.values()) e._s = 0; for (const u of ups.values()) u._s = 0; lmS = 0; flush();
          if (dlg && !cur._c) tx({ type: 'queue' }); // after a reload: where we are in the line
          if (gr?.text && !gEl) showGr(); // after a reload: no opening, no badge
          for (const q of Q.splice(0)) if (!q.source || cap) fx(q);
        }
        rd();
        break;
      }
      case 'message': { // a seq gap: a message stored concurrently may have missed us
        const m = f.message, from = top, gap = m && dlg && m.dialog_id === dlg && m.seq > top + 1;
        add(m);
        if (gap) resume(from);
        break;
      }
      case 'ack': {
        let e = pend.get(f.client_id);
        if (lm && lm.client_id === f.client_id) e = { _t: lm.text }, em = lm.email, lm = 0, put('lm'), lmT.value = '', put('ho', ho = f.dialog_id); // the auto-reply hands nothing over
        if (e) add({ seq: f.seq, client_id: f.client_id, dialog_id: f.dialog_id, author: { kind: 'visitor' }, text: e._t, file: e._f, created_at: Date.now() });
        else if (f.client_id) dropOut(f.client_id);
        if (e?._g) resume(0); // fetch the greeting, now stored
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
          tyEl.textContent = t('ty', f.author.name || sname);
          clearTimeout(tyTimer); tyTimer = setTimeout(typingOff, 4000);
        }
        break;
      case 'availability': av = f; break;
      case 'queue': q = f; break;
      case 'rated':
        put('rated', [f.dialog_id, ...rated()].slice(0, 50).join(' '));
        if (f.dialog_id === rtD) { rtD = 0; const e = h('div', 'y', S.thx); e.dataset.testid = 'parley-rated'; place(e, top + 0.6); toBottom() }
        break;
      case 'pong': clearTimeout(pongT); pongT = 0; break;
      case 'email': em = f.email; note(); break;
      case 'greeting':
        if (f.greeting_id && f.text && gr?.greeting_id !== f.greeting_id) {
          forget({ ...f, at: Date.now(), d: dlg, k: top + 0.5 });
          showGr();
          if (matchMedia('(max-width:480px),(pointer:coarse)').matches ? f.open_mobile : f.open_desktop) open(1);
          else if (!isOpen) unread++, showBadge();
        }
        break;
      case 'check_in': clearTimeout(ckT); ckT = setTimeout(() => tx({ type: 'check', typing: typ() }), +f.after_ms || 0); break;
      case 'identified':
        if (f.token) put('token', f.token), forget(), page = pv, drop(ws, 1); // become the verified profile
        break;
      case 'error': {
        const u = ups.get(f.client_id);
        if (lm && lm.client_id === f.client_id) f.code === 'internal' ? lmS = Date.now() - 7000 : (erEl.textContent = f.message || f.code, lm = 0, put('lm'));
        else if (u && !u.p) {
          if (f.code === 'internal') u._s = Date.now() - 7000; // retry soon
          else ups.delete(f.client_id), status(t('cnu', u.n) + (f.message || f.code));
        } else if (f.client_id && ['invalid', 'too_large', 'not_found'].includes(f.code)) fail(f.client_id, f);
        else if (f.client_id && pend.has(f.client_id)) pend.get(f.client_id)._s = Date.now() - 7000;
        else if (f.code === 'unauthorized') drop(ws, 1);
      }
    }
  }

  // ---- files: signed by Parley, posted to S3, sent as a message ----
  const ups = new Map();
  function attach(file) {
    if (!file || dead) return;
    const n = file.name.length > 200 ? file.name.slice(-200) : file.name || 'file';
    const ty = file.type === 'application/x-zip-compressed' ? 'application/zip' : file.type;
    if (file.size > MAX) return status(t('big', n));
    if (!file.size) return status(t('empty', n));
    if (!TYPES.includes(ty)) return status(t('type', n));
    ups.set(uid(), { f: file, n, t: ty, _s: 0 });
    status(t('up', n));
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
    } catch { err = S.net }
    ups.delete(f.client_id);
    if (err) return status(t('cnu', u.n) + err);
    status('');
    post('', { key: f.file.key, name: f.file.name, size: u.f.size });
  }

  // ---- typing: a frame per 300 ms at most, the last always sent ----
  let want = '', sent = '', last = 0, tT = 0;
  function typing(s) {
    want = s.slice(0, 1000);
    if (!tT) tT = setTimeout(() => { tT = 0; if (ready && want !== sent && tx({ type: 'typing', text: want })) sent = want, last = Date.now() }, Math.max(0, last + 300 - Date.now()));
  }

  // ---- routing: availability, leave a message, the queue, the bot, ratings ----
  let av, avAt = 0, q, lm, lmS = 0, rtD, rtS, ho = get('ho');
  try { lm = JSON.parse(get('lm')) } catch {}
  if (lm) [lmE.value, lmN.value, lmT.value] = [lm.email, lm.name || '', lm.text];
  const rated = () => (get('rated') || '').split(' ');
  const press = v => { rtS = v; gB.ariaPressed = v === 'good'; bB.ariaPressed = v === 'bad' };
  function sync() { // a visitor without a conversation and nobody to answer: the leave-a-message form
    const lf = !!(lm || av && !av.available && (!dlg || cur._c) && !pend.size), last = seqs.get(top)?.dataset.author, n = q?.position;
    avEl.textContent = av ? S[av.available ? av.reason === 'busy' ? 'busy' : 'on' : 'off'] : '';
    lmF.hidden = !(form.hidden = lf);
    lmB.disabled = !!lm; lmB.textContent = lm ? S.sending : S.send;
    hoB.hidden = !(last === 'bot' && !cur._c && !pend.size && ho !== dlg);
    rtF.hidden = !rtD;
    qEl.textContent = !q || q.dialog_id !== dlg || cur._c ? '' : n != null ? t('pos', n) + (q.wait_seconds != null ? ' · ' + t('wait', Math.ceil(q.wait_seconds / 60) || 1) : '')
      : q.operator?.name && last !== 'operator' ? t('will', q.operator.name) : '';
  }
  lmB.onclick = () => {
    const x = lmT.value.trim();
    if (lm || !lmE.reportValidity()) return;
    if (!x) return lmT.focus();
    if (new TextEncoder().encode(x).length > 4096) return erEl.textContent = S.long;
    erEl.textContent = '';
    lm = { client_id: uid(), name: lmN.value.trim() || undefined, email: lmE.value.trim(), text: x };
    put('lm', JSON.stringify(lm)); lmS = rtD = 0; sync();
    if (ready) flush();
  };
  gB.onclick = () => press('good');
  bB.onclick = () => press('bad');
  rtB.onclick = () => rtS && tx({ type: 'rate', dialog_id: rtD, score: rtS, comment: rtC.value.trim() || undefined });
  hoB.onclick = () => { if (tx({ type: 'handoff' })) put('ho', ho = dlg), sync() };
  setInterval(() => ready && vis() && q?.position != null && tx({ type: 'queue' }), 2e4);

  // ---- UI actions ----
  function post(text, file) { // via the outbox: survives reloads, resent (same client_id) until acked
    const cid = uid(), g = gr?.text && (!dlg || cur._c) ? gr.greeting_id : undefined;
    saveOut(outbox().concat({ client_id: cid, text, file, greeting_id: g }));
    queue(cid, text, file, g);
    toBottom(); rtD = 0; sync();
    if (ready) flush();
  }
  function send() {
    const s = ta.value.trim();
    if (!s) return;
    if (new TextEncoder().encode(s).length > 4096) return status(S.long);
    ta.value = ''; grow(); typing(''); status('');
    post(s);
  }
  function grow() { ta.style.height = 'auto'; ta.style.height = Math.min(ta.scrollHeight + 2, 120) + 'px' }
  function show(o) { isOpen = o; panel.hidden = !o; host.toggleAttribute('open', o); launcher.ariaExpanded = !!o }
  function open(quiet) { // quiet: the page keeps the focus
    if (!isOpen) show(1), markRead(), toBottom(), Date.now() - avAt > 3e4 && tx({ type: 'availability' }) && (avAt = Date.now());
    if (!quiet) (form.hidden ? lmE : ta).focus();
  }
  function close() {
    const inside = panel.contains(root.activeElement);
    if (isOpen) show(0), inside && launcher.focus();
  }
  launcher.onclick = () => (isOpen ? close() : open());
  xB.onclick = close;
  aB.onclick = () => fileIn.click();
  fileIn.onchange = () => { attach(fileIn.files[0]); fileIn.value = '' };
  panel.addEventListener('keydown', e => { if (e.key === 'Escape') { e.preventDefault(); close() } });
  form.onsubmit = e => { e.preventDefault(); send(); ta.focus() };
  ta.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send() } });
  ta.addEventListener('input', () => { grow(); typing(ta.value.trim() ? ta.value : '') });

  // ---- language: the site's, else the browser's, else en ----
  function lang(c) {
    const ok = x => (x = String(x).split('-')[0].toLowerCase()) in L && x;
    const l = ok(c) || [...navigator.languages, navigator.language].map(ok).find(Boolean) || 'en';
    L[host.lang = l].split('|').forEach((v, i) => { S[K[i]] = v });
    title.textContent = sname || S.chat;
    for (const [e, k, a = 'aria-label'] of [[xB, 'close'], [aB, 'att'], [ta, 'msg'], [ta, 'ph', 'placeholder'], [launcher, 'open']]) e.setAttribute(a, S[k]);
    aB.title = S.att + ' (2 MB)';
    $('.hi').textContent = S.hi;
    $('[type=submit]').textContent = S.send;
    for (const [e, k] of [[lmE, 'mail'], [lmN, 'name'], [lmT, 'ph'], [rtC, 'cm']]) e.placeholder = e.ariaLabel = S[k];
    rtF.firstChild.textContent = S.rt; rtF.lastChild.textContent = S.send; hoB.textContent = S.hum;
    sync();
  }

  // ---- the page: keys in its fields (typing), emails ----
  document.addEventListener('keydown', e => {
    const x = e.composedPath()[0];
    if (x.isContentEditable || /^(INPUT|TEXTAREA)$/.test(x.tagName)) keyAt = Date.now();
  }, true);
  const mails = new Set();
  document.addEventListener('change', e => { // never ours: change stays in a shadow root
    const x = e.target, v = String(x.value).trim(), k = v.toLowerCase();
    if (cap !== false && x.tagName === 'INPUT' && x.type !== 'password' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) && !mails.has(k)) mails.add(k), api({ type: 'identify', email: v, source: 'page' });
  }, true);

  // ---- boot ----
  lang();
  for (const x of outbox()) if (x && x.client_id && (x.text || x.file)) queue(x.client_id, x.text || '', x.file, x.greeting_id);
  const mount = () => dead < 2 && document.body.append(host);
  document.body ? mount() : addEventListener('DOMContentLoaded', mount);
  if (location.hash == '#parley-chat') open(1); // our emails' link
  setInterval(() => { if (ready) flush() }, 5000);
  setInterval(ping, 300000);
  addEventListener('online', () => { tries = 0; start() });
  document.addEventListener('visibilitychange', () => { if (vis()) rd(), ws ? ping() : (tries = 0, start()) });
  start();
  const plain = o => o?.constructor === Object, A = window.Parley = {
    open,
    close,
    track: (name, props) => typeof name === 'string' && /^[\w.:-]{1,64}$/.test(name) && (props == null || plain(props))
      ? api({ type: 'track', name, props: props || undefined }) : warn('track: bad name or props'),
    identify: o => plain(o) && (o.id || o.email || o.name)
      ? api({ type: 'identify', id: o.id, email: o.email, name: o.name, hash: o.hash }) : warn('identify: no id, email or name'),
  };
  const call = c => Object.hasOwn(A, c?.[0]) ? A[c[0]](...c.slice(1)) : warn('unknown call ' + c);
  if (Array.isArray(window.ParleyQueue)) window.ParleyQueue.forEach(call);
  window.ParleyQueue = { push: (...c) => c.forEach(call) };
})();
