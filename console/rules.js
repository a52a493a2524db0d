// The condition language of docs/proactive.md: its fields and operators, an editor of one group of
// conditions (all / any of a list of rows), and a one-line description. A condition this editor
// cannot show as rows (nested groups, unknown fields) is shown read-only as JSON and saved as it was.
import { el, button, input, select, fillSelect } from './util.js';

const NUM = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'];
const STR = ['equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'glob', 'in', 'not_in'];
const ANY = ['exists', 'not_exists'];
const OPS = {
  number: [...NUM, ...ANY], string: [...STR, ...ANY], boolean: ['is', ...ANY],
  segment: ['is', 'is_not', ...ANY], event: [...NUM, ...STR, 'is', ...ANY],
};
const OP_TEXT = {
  eq: '=', ne: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', equals: 'equals', not_equals: 'does not equal',
  contains: 'contains', not_contains: 'does not contain', starts_with: 'starts with', glob: 'matches pattern',
  in: 'is one of', not_in: 'is none of', is: 'is', is_not: 'is not', exists: 'is known', not_exists: 'is unknown',
};
const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'];
// field: [label, type, key (a placeholder, or the keys to pick from), a time or presence field]
export const FIELDS = {
  time_on_site: ['Time on site, seconds', 'number', null, 1],
  time_on_page: ['Time on page, seconds', 'number', null, 1],
  url: ['Page URL', 'string'],
  visited_url: ['A URL visited this session', 'string'],
  path_views: ['Views of a path', 'number', '/pricing'],
  referrer: ['Referrer of this session', 'string'],
  first_referrer: ['First referrer ever', 'string'],
  utm: ['UTM parameter', 'string', UTM_KEYS],
  search_query: ['Search query', 'string'],
  country: ['Country (ISO code)', 'string'],
  device: ['Device', 'string'],
  browser: ['Browser', 'string'],
  os: ['Operating system', 'string'],
  language: ['Browser language', 'string'],
  visits: ['Visits', 'number'],
  has_email: ['Email known', 'boolean'],
  segment: ['Segment', 'segment'],
  event: ['Custom event', 'event', 'name or name.property'],
  working_hours: ['Within working hours', 'boolean', null, 1],
  operator_available: ['An operator is online', 'boolean', null, 1],
};
const PLACEHOLDER = { device: 'desktop, mobile or tablet', country: 'e.g. DE', language: 'e.g. de-DE', url: 'e.g. /pricing' };

const isGroup = c => !!c && typeof c === 'object' && (Array.isArray(c.all) || Array.isArray(c.any));

// A leaf the rows can show exactly: a known field, its op, a value of the shape the row edits.
function editableLeaf(c, forSegment) {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return false;
  const f = FIELDS[c.field];
  if (!f || (forSegment && f[3]) || Object.keys(c).some(k => !['field', 'key', 'op', 'value'].includes(k))) return false;
  if (!!f[2] !== (typeof c.key === 'string') || !OPS[f[1]].includes(c.op)) return false;
  const v = c.value;
  if (ANY.includes(c.op)) return !('value' in c);
  if (c.op === 'in' || c.op === 'not_in') return Array.isArray(v) && v.every(x => typeof x === 'string' && !x.includes(','));
  if (c.op === 'is' && f[1] !== 'segment') return typeof v === 'boolean';
  if (f[1] === 'number' || NUM.includes(c.op)) return typeof v === 'number';
  return typeof v === 'string';
}

// {mode, rows} when the match is one group of editable leaves (or one leaf), else null.
function asRows(match, forSegment) {
  if (editableLeaf(match, forSegment)) return { mode: 'all', rows: [match] };
  if (!isGroup(match) || Object.keys(match).length !== 1) return null;
  const mode = match.all ? 'all' : 'any';
  return match[mode].every(c => editableLeaf(c, forSegment)) ? { mode, rows: match[mode] } : null;
}

// The editor. opts: {forSegment, fresh (a new document: one empty row), segments: () => [segment…]}. Returns {node, read, refresh}:
// read() gives the match to save (a text where a number belongs is sent as it is: the server
// says what is wrong, and where); refresh() re-reads the segments for their selects.
export function conditionEditor(match, opts) {
  const box = el('fieldset', 'conds');
  box.append(el('legend', null, 'Conditions'));
  const parsed = asRows(match, opts.forSegment);
  if (!parsed) {
    const pre = el('pre', 'json', JSON.stringify(match, null, 2));
    pre.dataset.testid = 'cond-json';
    box.append(el('p', 'muted small', 'These conditions have nested groups or parts this editor cannot show; they are kept as they are (read only).'), pre);
    return { node: box, read: () => match, refresh() {} };
  }
  const mode = select('cond-mode', [['all', 'all of these hold'], ['any', 'any of these holds']], parsed.mode);
  mode.setAttribute('aria-label', 'Match');
  const head = el('p', 'cond-head', 'Greet when ');
  if (opts.forSegment) head.textContent = 'A visitor is in the segment when ';
  head.append(mode);
  const list = el('div', 'cond-list');
  const rows = [];
  const add = leaf => {
    const r = conditionRow(leaf, opts, () => { rows.splice(rows.indexOf(r), 1); r.node.remove(); renumber(); });
    rows.push(r);
    list.append(r.node);
    renumber();
    return r;
  };
  const renumber = () => rows.forEach((r, i) => r.label(i + 1));
  parsed.rows.forEach(add);
  if (!rows.length && opts.fresh) add(null); // something to fill in
  const more = button('+ Condition', 'small', 'cond-add', () => add(null).focus());
  box.append(head, list, more);
  return {
    node: box,
    read: () => ({ [mode.value]: rows.map(r => r.read()) }),
    refresh: () => rows.forEach(r => r.refresh()),
  };
}

function conditionRow(leaf, opts, remove) {
  const row = el('div', 'cond');
  row.dataset.testid = 'cond-row';
  const names = Object.entries(FIELDS).filter(([, f]) => !(opts.forSegment && f[3]));
  const field = select('cond-field', names.map(([k, f]) => [k, f[0]]), leaf ? leaf.field : 'url');
  const keySlot = el('span', 'cond-key');
  const op = select('cond-op', []);
  field.className = 'cf';
  op.className = 'co';
  const valueSlot = el('span', 'cond-value');
  const x = button('×', 'small x', 'cond-remove', remove);
  row.append(field, keySlot, op, valueSlot, x);
  let key = null;
  let value = null;
  let raw = leaf && 'value' in leaf ? (Array.isArray(leaf.value) ? leaf.value.join(', ') : String(leaf.value)) : '';
  const type = () => FIELDS[field.value][1];

  const buildKey = () => {
    const k = FIELDS[field.value][2];
    const was = key ? key.value : leaf && leaf.key;
    key = !k ? null : Array.isArray(k) ? select('cond-key', k.map(v => [v, v]), was)
      : input('cond-key', { value: was || '', placeholder: k, maxLength: 200 });
    keySlot.replaceChildren(...(key ? [key] : []));
    if (key) key.setAttribute('aria-label', 'Key');
  };
  const buildOps = keep => {
    fillSelect(op, OPS[type()].map(o => [o, OP_TEXT[o]]), keep);
  };
  const buildValue = () => {
    if (value && value.tagName === 'INPUT') raw = value.value;
    const t = type();
    const o = op.value;
    if (ANY.includes(o)) value = null;
    else if (t === 'segment') {
      value = select('cond-value', segmentOptions(opts), raw);
    } else if (t === 'boolean' || o === 'is') {
      value = select('cond-value', [['true', 'true'], ['false', 'false']], raw === 'false' ? 'false' : 'true');
    } else if (o === 'in' || o === 'not_in') {
      value = input('cond-value', { value: raw, placeholder: 'comma-separated: a, b, c' });
    } else if (t === 'number') {
      value = input('cond-value', { type: 'number', step: 'any', value: raw && isFinite(+raw) ? raw : '' });
    } else {
      value = input('cond-value', { value: raw, placeholder: NUM.includes(o) ? 'a number' : PLACEHOLDER[field.value] || '' });
      if (NUM.includes(o)) value.inputMode = 'decimal';
    }
    valueSlot.replaceChildren(...(value ? [value] : []));
    if (value) value.setAttribute('aria-label', 'Value');
  };
  field.addEventListener('change', () => { buildKey(); buildOps(); buildValue(); });
  op.addEventListener('change', buildValue);
  buildKey();
  buildOps(leaf ? leaf.op : null);
  buildValue();

  return {
    node: row,
    focus: () => field.focus(),
    label(n) {
      field.setAttribute('aria-label', `Condition ${n}: field`);
      op.setAttribute('aria-label', `Condition ${n}: comparison`);
      x.setAttribute('aria-label', `Remove condition ${n}`);
    },
    refresh() { if (type() === 'segment' && value) fillSelect(value, segmentOptions(opts)); },
    read() {
      const c = { field: field.value };
      if (key) c.key = key.value.trim();
      c.op = op.value;
      if (!value) return c;
      const t = type();
      const v = value.value;
      if (c.op === 'in' || c.op === 'not_in') c.value = v.split(',').map(s => s.trim()).filter(Boolean);
      else if (t === 'boolean' || (c.op === 'is' && t !== 'segment')) c.value = v === 'true';
      else if (t === 'number') c.value = v.trim() === '' ? null : Number(v);
      else if (NUM.includes(c.op)) c.value = v.trim() !== '' && isFinite(+v) ? Number(v) : v;
      else c.value = t === 'segment' ? v : v.trim();
      return c;
    },
  };
}

function segmentOptions(opts) {
  const segs = opts.segments ? opts.segments() : [];
  return segs.length ? segs.map(s => [s.segment_id, s.name || s.segment_id]) : [['', '(no segments yet)']];
}

// One line for the lists: url contains "/pricing" and time on page ≥ 20.
export function describe(c, segmentName) {
  if (isGroup(c)) {
    const mode = c.all ? 'all' : 'any';
    const parts = c[mode].map(x => (isGroup(x) ? `(${describe(x, segmentName)})` : describe(x, segmentName)));
    return parts.length ? parts.join(mode === 'all' ? ' and ' : ' or ') : mode === 'all' ? 'always' : 'never';
  }
  if (!c || typeof c !== 'object') return '?';
  let v = '';
  if ('value' in c) {
    v = c.field === 'segment' && segmentName ? segmentName(c.value) : c.value;
    const q = x => (typeof x === 'string' ? `“${x}”` : JSON.stringify(x));
    v = ' ' + (Array.isArray(v) ? v.map(q).join(', ') : q(v));
  }
  return `${String(c.field).replace(/_/g, ' ')}${c.key != null ? ' ' + c.key : ''} ${OP_TEXT[c.op] || c.op}${v}`;
}
