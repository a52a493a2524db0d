// Sending files: checks, the upload form the server signs, then the message that carries the file.
import { state, isClosed } from './state.js';
import { uid, safeUrl, paneError, setUpStatus } from './util.js';
import { send } from './net.js';
import { queue } from './dialog.js';

const MAX_FILE = 2097152;
const FILE_TYPES = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  pdf: 'application/pdf', txt: 'text/plain', csv: 'text/csv', zip: 'application/zip',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
const ALLOWED_TYPES = new Set(Object.values(FILE_TYPES));

function fileType(file) {
  if (file.type && ALLOWED_TYPES.has(file.type)) return file.type;
  const ext = (/\.([a-z0-9]+)$/i.exec(file.name) || [])[1];
  return file.type ? null : FILE_TYPES[(ext || '').toLowerCase()] || null;
}

export function attachFile(file) {
  const id = state.openId;
  if (!file || !id) return;
  paneError('');
  if (isClosed()) { paneError('Reopen the dialog to send a file.'); return; }
  if (state.mode === 'note') { paneError('A note cannot carry a file: switch to Reply to send one.'); return; }
  if (file.size > MAX_FILE) { paneError(`${file.name} is larger than 2 MB and was not sent.`); return; }
  if (!file.size) { paneError(`${file.name} is empty and was not sent.`); return; }
  const type = fileType(file);
  if (!type) { paneError(`${file.name}: this type of file cannot be sent (images, PDF, text, CSV, ZIP, Word and Excel files can).`); return; }
  if (file.name.length > 200) { paneError('The file name is too long (200 characters at most).'); return; }
  const client_id = uid();
  state.uploads.set(client_id, { file, dialog_id: id });
  setUpStatus(`Uploading ${file.name}…`);
  if (!send({ type: 'upload', dialog_id: id, client_id, name: file.name, size: file.size, content_type: type })) {
    state.uploads.delete(client_id);
    setUpStatus('');
    paneError('Not connected. Try again in a moment.');
  }
}

export async function onUpload(f) {
  const up = state.uploads.get(f.client_id);
  if (!up) return;
  const { file } = up;
  const url = safeUrl(f.url);
  try {
    if (!url || !f.file || !f.file.key) throw new Error('the server gave no upload address');
    const form = new FormData();
    for (const [k, v] of Object.entries(f.fields || {})) form.append(k, v);
    form.append('file', file, file.name);
    const r = await fetch(url, { method: 'POST', body: form });
    if (!r.ok) {
      const body = await r.text();
      let why = `HTTP ${r.status}`;
      try {
        const xml = new DOMParser().parseFromString(body, 'application/xml');
        const msg = xml.querySelector('Message');
        const code = xml.querySelector('Code');
        if (msg) why = msg.textContent + (code ? ` (${code.textContent})` : '');
      } catch { /* keep the status */ }
      throw new Error(why);
    }
    state.uploads.delete(f.client_id);
    setUpStatus('');
    queue({ dialog_id: up.dialog_id, text: '', file: { key: f.file.key, name: f.file.name || file.name } });
  } catch (err) {
    state.uploads.delete(f.client_id);
    setUpStatus('');
    paneError(`${file.name} was not uploaded: ${err instanceof TypeError ? 'cannot reach the file storage' : err.message}`);
  }
}
