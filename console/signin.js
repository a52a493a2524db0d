// Signing in and out: the login form, the stored session, switching between login and workspace.
import { state, session, local, AUTH_KEY, OUTBOX_KEY, READ_KEY } from './state.js';
import { $ } from './util.js';
import { connect, disconnect, isExpired } from './net.js';
import { showPane } from './dialog.js';
import { route } from './views.js';
import { resetProactive } from './proactive.js';
import { resetTeam } from './team.js';
import { resetTransfers } from './transfer.js';

// This page is <base>/console/index.html; the REST API is <base>/api/ (<base> is empty, or an
// API Gateway stage such as /api). Never an absolute path: it would drop the stage.
const API = new URL('../api/', location.href).href;

async function login(email, password) {
  const r = await fetch(API + 'operator/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (r.status === 401) throw new Error('Wrong email or password.');
  if (!r.ok) throw new Error(`Sign-in failed (HTTP ${r.status}). Please try again.`);
  return r.json();
}

function showLogin(message) {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-email').focus();
}

function showApp() {
  const op = state.auth.operator || {};
  state.reads = local.get(READ_KEY + op.operator_id) || {};
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = op.name || op.email || '';
  $('site').textContent = op.site_id ? `site ${op.site_id}` : '';
  route();
}

export function signOut(message) {
  disconnect();
  state.auth = null;
  session.set(AUTH_KEY, null);
  session.set(OUTBOX_KEY, null);
  for (const m of [state.outbox, state.summaries, state.feeds, state.list, state.cards, state.visitorDialogs, state.uploads,
    state.live, state.greeted, state.segAsked]) m.clear();
  state.openId = null;
  state.proactive = null;
  state.filter.segment = '';
  resetProactive();
  resetTeam();
  resetTransfers();
  state.me = {};
  $('dialogs').replaceChildren();
  showPane(false);
  showLogin(message);
}

export function onLoginSubmit(event) {
  event.preventDefault();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  if (!email || !password) { $('login-error').textContent = 'Enter your email and password.'; return; }
  const b = $('login-submit');
  b.disabled = true;
  $('login-error').textContent = '';
  login(email, password).then(auth => {
    state.auth = auth;
    session.set(AUTH_KEY, auth);
    $('login-password').value = '';
    showApp();
    connect();
  }, err => {
    $('login-error').textContent = err instanceof TypeError ? 'Cannot reach the server. Check your connection.' : err.message;
    $('login-password').select();
  }).finally(() => { b.disabled = false; });
}

// On load: the session of this tab if it is still valid, else the login form.
export function resumeSession() {
  const auth = session.get(AUTH_KEY);
  if (auth && auth.token && auth.ws_url && !isExpired(auth)) {
    state.auth = auth;
    showApp();
    connect();
  } else {
    session.set(AUTH_KEY, null);
    showLogin('');
  }
}
