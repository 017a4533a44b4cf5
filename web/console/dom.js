// Building DOM without innerHTML: every text goes in as text, so nothing a
// subscriber or a staff member typed can ever run as markup.

/** h('tag.class#id', {attr: value, onclick: fn}, ...children) */
export function h(spec, attrs, ...children) {
  const [, tag = 'div', rest = ''] = spec.match(/^([a-z0-9]*)(.*)$/i);
  const el = document.createElement(tag || 'div');
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v); // CSSOM: allowed by the CSP, unlike style=""
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field. */
export function field(label, input) {
  return h('label.field', h('span', label), input);
}

/** Formats a number with the language's thousands separator (PRODUCT.md §3.2). */
export function num(n, lang) {
  return new Intl.NumberFormat(lang === 'en' ? 'en-US' : 'vi-VN').format(n ?? 0);
}

/** Formats an RFC 3339 time in the browser's zone, to the minute. */
export function when(t, lang) {
  if (!t) return '—';
  return new Date(t).toLocaleString(lang === 'en' ? 'en-GB' : 'vi-VN', { dateStyle: 'short', timeStyle: 'short' });
}

/** A status line that says what went wrong, in the page. */
export function notice(kind, text) {
  return h('p.notice.' + kind, { role: kind === 'error' ? 'alert' : 'status' }, text);
}

/**
 * A random idempotency key. crypto.getRandomValues works on plain-HTTP
 * pages too, where crypto.randomUUID does not exist.
 */
export function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
