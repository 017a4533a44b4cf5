// The admin API, as the console calls it. The token lives in sessionStorage:
// it goes when the tab closes, and no other site can read it (the server's
// Content-Security-Policy allows no script but ours).

const KEY = 'care360.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY) || ''; },
  set token(v) { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); },
};

/** An error answer of the API: {"error":{"code","message","reason"}}. */
export class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.reason = e.reason || '';
  }
}

/**
 * Calls the API and returns the decoded JSON. body may be an object (sent
 * as JSON), a Blob/File (sent as is, e.g. a CSV) or undefined.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Authorization: 'Bearer ' + (opts.token ?? session.token) };
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = body.type || 'text/csv';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, { method, headers, body: payload });
  if (opts.raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401 && !opts.token) window.dispatchEvent(new CustomEvent('care360:signedout'));
    throw new APIError(res.status, data);
  }
  return data;
}

/** Path with {variables} filled and escaped. */
export function path(tpl, vars) {
  return tpl.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(vars[k]));
}

/**
 * What this server offers and this role may use, from the served OpenAPI
 * description (trimmed to the routes that exist, each with its x-roles).
 */
export class Features {
  constructor(doc, role) {
    this.paths = (doc && doc.paths) || {};
    this.role = role;
  }
  op(method, p) { return (this.paths[p] || {})[method.toLowerCase()]; }
  /** The route exists on this server. */
  has(method, p) { return !!this.op(method, p); }
  /** The route exists and this role may call it. */
  can(method, p) {
    const op = this.op(method, p);
    return !!op && (op['x-roles'] || []).includes(this.role);
  }
  /** The example request body of an operation, if the description has one. */
  example(method, p) {
    const op = this.op(method, p);
    const c = op && op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    return c && c.example;
  }
}
