// The console: a hash router over pages, each built only from the admin
// API. What the server offers and what the signed-in role may use come from
// the served OpenAPI description, so a page lights up the day its API is
// added, and a role never sees a page it may not use.

import { h, fill, notice } from './dom.js';
import { api, session, Features } from './api.js';
import { t, lang, setLang } from './i18n.js';
import login from './pages/login.js';
import dashboard from './pages/dashboard.js';
import subscribers from './pages/subscribers.js';
import emulator from './pages/emulator.js';
import campaigns from './pages/campaigns.js';
import feedback from './pages/feedback.js';
import { gifts, offers } from './pages/catalog.js';
import { draws, spins } from './pages/games.js';
import reports from './pages/reports.js';
import funnel from './pages/funnel.js';
import pushes from './pages/pushes.js';
import audit from './pages/audit.js';
import staff from './pages/staff.js';

/**
 * Pages in menu order. needs[0] is the route that must exist. The first a
 * role may use is its home page: the operations dashboard for staff.
 */
const PAGES = [dashboard, subscribers, emulator, feedback, campaigns, pushes, gifts, offers, draws, spins, reports, funnel, audit, staff];

const state = { me: null, features: null, cleanup: null };

async function signIn() {
  if (!session.token) return false;
  try {
    const [me, doc] = await Promise.all([api('GET', '/api/v1/me'), api('GET', '/api/v1/openapi.json')]);
    state.me = me;
    state.features = new Features(doc, me.role);
    return true;
  } catch {
    session.token = '';
    return false;
  }
}

function chrome() {
  fill(document.getElementById('lang'), lang() === 'vi' ? 'English' : 'Tiếng Việt');
  const out = document.getElementById('signout');
  out.hidden = !state.me;
  fill(out, t('signout'));
  fill(document.getElementById('me'), state.me ? `${state.me.name} · ${t('role.' + state.me.role)}` : '');
  const nav = document.getElementById('nav');
  if (!state.me) return fill(nav);
  const here = location.hash.split('?')[0];
  fill(nav, PAGES.filter((p) => visible(p)).map((p) =>
    h('a', { href: '#/' + p.id, class: here === '#/' + p.id ? 'active' : null, dataset: { page: p.id } }, t(p.title))));
}

/**
 * A page is in the menu when the role may use it. Pages whose API this
 * server lacks are shown to admins only, with a note saying what is missing.
 */
function visible(p) {
  const [m, path] = p.needs[0];
  return state.features.can(m, path) || (!state.features.has(m, path) && state.me.role === 'admin');
}

async function route() {
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  const view = document.getElementById('view');
  if (!state.me && !(await signIn())) {
    chrome();
    login.render(view, { done: async (token) => { session.token = token; await signIn(); location.hash = '#/' + home(); route(); } });
    return;
  }
  const id = location.hash.replace(/^#\/?/, '').split('?')[0] || home();
  const page = PAGES.find((p) => p.id === id) || PAGES.find((p) => p.id === home());
  chrome();
  const [m, path] = page.needs[0];
  const ctx = { features: state.features, me: state.me, lang: lang() };
  fill(view, h('h1', t(page.title)));
  if (!state.features.has(m, path)) {
    view.append(notice('unavailable', t('unavailable', t(page.title), `${m} ${path}`)));
    return;
  }
  if (!state.features.can(m, path)) {
    view.append(notice('unavailable', t('forbidden.page', t('role.' + state.me.role))));
    return;
  }
  const body = h('div.page', { dataset: { page: page.id } });
  view.append(body);
  state.cleanup = page.render(body, ctx) || null;
}

/** The first page the role may use. */
function home() {
  const p = PAGES.find((p) => state.features && state.features.can(...p.needs[0]));
  return p ? p.id : 'subscribers';
}

window.addEventListener('hashchange', route);
window.addEventListener('care360:signedout', () => { state.me = null; session.token = ''; route(); });
document.getElementById('lang').addEventListener('click', () => { setLang(lang() === 'vi' ? 'en' : 'vi'); route(); });
document.getElementById('signout').addEventListener('click', () => {
  session.token = '';
  state.me = null;
  location.hash = '#/';
  route();
});
route();
