// The site's settings on the proactive page (docs/proactive.md, docs/protocol.md "Routing"): the
// language, working hours and greeting limits, and the routing and bot settings. Each form is
// filled from the pushed `proactive` frame unless the operator is editing or saving it.
import { state, siteSetting } from './state.js';
import { $, labelled, input, fillSelect } from './util.js';
import { request } from './net.js';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
let settingsDirty = false;
let settingsSaving = false;
let routingDirty = false;
let routingSaving = false;
let wired = false;

export function renderSettings(settings) {
  if (!settingsDirty && !settingsSaving) fillSettings(settings);
  refreshRoutingSettings();
}

// A save is answered with the `proactive` frame (its refusal with an `error`).
export function settingsSaved() {
  if (settingsSaving) { settingsSaving = false; settingsDirty = false; $('settings-status').textContent = 'Saved.'; }
  if (routingSaving) { routingSaving = false; routingDirty = false; $('routing-status').textContent = 'Saved.'; }
}

export function resetSettings() {
  settingsDirty = settingsSaving = false;
  routingDirty = routingSaving = false;
}

// ---------- language, hours, greetings ----------

const hoursText = list => (Array.isArray(list) ? list.map(r => (Array.isArray(r) ? r.join('-') : '')).join(', ') : '');

function fillSettings(s) {
  $('set-language').value = s.language || 'auto';
  $('set-timezone').value = s.timezone || 'UTC';
  const always = s.hours == null;
  $('set-always').checked = always;
  for (const [d] of DAYS) $('hours-' + d).value = always ? '' : hoursText(s.hours[d]);
  showHours();
  $('set-goal').value = s.goal_event ?? 'purchase';
  $('set-capture').checked = s.capture_emails !== false;
  $('set-popups').value = String(s.popups_per_session || 1);
  $('set-cooldown').value = s.cooldown_minutes ?? 240;
}

function showHours() {
  const always = $('set-always').checked;
  for (const [d] of DAYS) $('hours-' + d).disabled = always;
}

// "09:00-18:00, 19:00-21:00" -> [["09:00","18:00"],["19:00","21:00"]]; null when unreadable.
function parseHours(text) {
  const out = [];
  for (const part of text.split(/[,;]/).map(x => x.trim()).filter(Boolean)) {
    const m = /^(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})$/.exec(part);
    if (!m) return null;
    out.push([m[1].padStart(2, '0') + ':' + m[2], m[3].padStart(2, '0') + ':' + m[4]]);
  }
  return out;
}

function onSettingsSubmit(e) {
  e.preventDefault();
  $('settings-status').textContent = '';
  $('settings-error').textContent = '';
  let hours = null;
  if (!$('set-always').checked) {
    hours = {};
    for (const [d, day] of DAYS) {
      const h = parseHours($('hours-' + d).value);
      if (!h) { $('settings-error').textContent = `${day}: write the hours like 09:00-18:00, 19:00-21:00 (empty: closed).`; $('hours-' + d).focus(); return; }
      hours[d] = h;
    }
  }
  const cooldown = $('set-cooldown').value.trim();
  const settings = {
    language: $('set-language').value, timezone: $('set-timezone').value.trim(), hours,
    goal_event: $('set-goal').value.trim(), capture_emails: $('set-capture').checked,
    popups_per_session: Number($('set-popups').value), cooldown_minutes: cooldown === '' ? null : Number(cooldown),
  };
  settingsSaving = true;
  request({ type: 'settings_save', settings }, text => {
    settingsSaving = false;
    $('settings-status').textContent = '';
    $('settings-error').textContent = text;
  });
}

// ---------- routing and bot (docs/protocol.md "Routing") ----------

// Fills the form from the server's settings, unless the operator is editing it.
export function refreshRoutingSettings() {
  if (!wired || routingDirty || routingSaving || !state.proactive) return;
  $('set-cap').value = siteSetting('default_cap', 3);
  $('set-answer').value = siteSetting('answer_seconds', 30);
  $('set-reassign').value = siteSetting('reassign_seconds', 90);
  $('set-bot').checked = !!siteSetting('bot_enabled', false);
  $('set-bot-name').value = siteSetting('bot_name', 'Assistant');
  $('set-autoreply').value = siteSetting('autoreply', '');
}

// A whole number within [lo, hi] from an input, or an error message naming the field.
function wholeNumber(id, label, lo, hi) {
  const text = $(id).value.trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < lo || n > hi) return [null, `${label}: a whole number from ${lo} to ${hi}.`];
  return [n, null];
}

function onRoutingSubmit(e) {
  e.preventDefault();
  $('routing-status').textContent = '';
  const error = $('routing-error');
  error.textContent = '';
  const fail = (id, text) => { error.textContent = text; $(id).focus(); };
  const [cap, capErr] = wholeNumber('set-cap', 'Chats per operator at once', 1, 20);
  if (capErr) return fail('set-cap', capErr);
  const [answer, answerErr] = wholeNumber('set-answer', 'Answer within', 10, 600);
  if (answerErr) return fail('set-answer', answerErr);
  const [reassign, reassignErr] = wholeNumber('set-reassign', 'Offer to another operator after', answer, 3600);
  if (reassignErr) return fail('set-reassign', reassignErr + ' (not less than "answer within")');
  const botName = $('set-bot-name').value.trim().replace(/\s+/g, ' ');
  if (!botName || botName.length > 40) return fail('set-bot-name', 'Bot name: 1 to 40 characters.');
  const autoreply = $('set-autoreply').value.trim();
  if (autoreply.length > 1000) return fail('set-autoreply', 'The automatic answer is 1000 characters at most.');
  const settings = {
    default_cap: cap, answer_seconds: answer, reassign_seconds: reassign,
    bot_enabled: $('set-bot').checked, bot_name: botName, autoreply,
  };
  routingSaving = true;
  request({ type: 'settings_save', settings }, text => {
    routingSaving = false;
    $('routing-status').textContent = '';
    error.textContent = text;
  });
}

export function wireSettings() {
  if (wired) return;
  wired = true;
  $('set-hours').append(...DAYS.map(([d, day]) => {
    const i = input('settings-hours-' + d, { id: 'hours-' + d, placeholder: 'closed', autocomplete: 'off' });
    return labelled(day, i);
  }));
  const form = $('settings-form');
  form.addEventListener('submit', onSettingsSubmit);
  form.addEventListener('input', () => { settingsDirty = true; $('settings-status').textContent = ''; });
  $('set-always').addEventListener('change', showHours);
  const routing = $('routing-form');
  routing.addEventListener('submit', onRoutingSubmit);
  routing.addEventListener('input', () => { routingDirty = true; $('routing-status').textContent = ''; });
  $('set-timezone').addEventListener('focus', () => {
    if ($('tz-options').children.length || !Intl.supportedValuesOf) return;
    fillSelect($('tz-options'), Intl.supportedValuesOf('timeZone').map(z => [z, z]));
  }, { once: true });
}
