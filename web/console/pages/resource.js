// A generic page for a collection in the admin API: the list that GET
// answers as a table, and a JSON editor, prefilled with the description's
// example, for POST. Pages whose API is young use it until they need more.
import { h, fill, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { table } from './subscribers.js';

/** The first array in an answer such as {"draws":[...]}. */
export function items(data) {
  if (Array.isArray(data)) return data;
  for (const v of Object.values(data || {})) if (Array.isArray(v)) return v;
  return [];
}

/** Renders a cell: objects and arrays as compact JSON. */
export function cell(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return h('code', JSON.stringify(v));
  return String(v);
}

/**
 * listAndCreate fills el with the list at listPath (columns: the given
 * keys, or those of the first item) and, if the role may, a JSON form that
 * POSTs to listPath. actions(row) may add buttons to each row.
 */
export function listAndCreate(el, ctx, { listPath, columns, actions }) {
  const list = h('div.list');
  const load = async () => {
    try {
      const rows = items(await api('GET', listPath));
      const cols = columns || Object.keys(rows[0] || {}).slice(0, 8);
      fill(list, table([...cols, actions ? '' : null].filter((c) => c !== null),
        rows.map((r) => [...cols.map((c) => cell(r[c])), actions ? h('div.row', actions(r, load)) : null].filter((c) => c !== null))));
    } catch (err) { fill(list, notice('error', err.message)); }
  };
  el.append(list);
  if (ctx.features.can('POST', listPath)) el.append(jsonForm(ctx, 'POST', listPath, load));
  load();
  return load;
}

/** A JSON editor that sends its body to path. */
export function jsonForm(ctx, method, path, done) {
  const example = ctx.features.example(method, path) || {};
  const text = h('textarea.json', { rows: 10, spellcheck: false }, JSON.stringify(example, null, 2));
  const msg = h('div');
  return h('form.card.create', {
    onsubmit: async (e) => {
      e.preventDefault();
      let body;
      try { body = JSON.parse(text.value); } catch { return fill(msg, notice('error', t('json.bad'))); }
      try {
        await api(method, path, body);
        fill(msg, notice('ok', t('saved')));
        done();
      } catch (err) { fill(msg, notice('error', err.message)); }
    },
  }, h('h2', t('create')), h('p.muted', t('json.help', `${method} ${path}`)), text, msg, h('button', { type: 'submit' }, t('create')));
}
