// USSD pushes (PRODUCT.md §3.6): open a notification or a menu screen on a
// member's phone, or on every phone of a segment, then watch each push's
// outcomes. The list is the server's (GET /api/v1/ussd/pushes, newest
// first); pushes not done are polled from GET /api/v1/ussd/pushes/{id}
// every two seconds while the page is open.
import { h, fill, field, num, when, notice, randomKey } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';

const TIERS = ['dong', 'bac', 'titan', 'vang', 'kim_cuong'];
// Outcomes in the order the bar stacks them: reached the phone first.
const OUTCOMES = ['completed', 'answered', 'sent', 'queued', 'no_answer', 'busy', 'refused', 'failed'];

export default {
  id: 'pushes',
  title: 'nav.pushes',
  needs: [['GET', '/api/v1/ussd/pushes'], ['POST', '/api/v1/ussd/pushes'], ['GET', '/api/v1/ussd/pushes/{id}']],
  render(el, ctx) {
    const list = h('div#pushes.stack');
    const msg = h('div');
    const cards = new Map(); // id → {card, data}
    const show = (p) => {
      let entry = cards.get(p.id);
      if (!entry) {
        entry = { card: h('section.card.push', { dataset: { id: p.id } }) };
        cards.set(p.id, entry);
        const after = [...list.children].find((x) => Number(x.dataset.id) < p.id);
        list.insertBefore(entry.card, after || null);
      }
      entry.data = p;
      fill(entry.card, pushView(p, ctx));
    };
    const load = async () => {
      try {
        const r = await api('GET', '/api/v1/ussd/pushes?limit=20');
        r.pushes.forEach(show);
        fill(msg, !cards.size && h('p.muted', t('empty')));
      } catch (err) { fill(msg, notice('error', err.message)); }
    };
    const form = ctx.features.can('POST', '/api/v1/ussd/pushes') && createForm(ctx, (p) => { fill(msg); show(p); });
    el.append(form || '', h('h2', t('push.recent')), msg, list);
    load();
    const timer = setInterval(() => {
      for (const [id, e] of cards) {
        if (!e.data || e.data.done) continue;
        api('GET', path('/api/v1/ussd/pushes/{id}', { id })).then(show).catch(() => {});
      }
    }, 2000);
    return () => clearInterval(timer);
  },
};

function createForm(ctx, created) {
  const msisdn = h('input#push-msisdn', { placeholder: '0903123456' });
  const tiers = TIERS.map((x) => h('input', { type: 'checkbox', value: x, name: 'push-tier' }));
  const list = h('textarea#push-msisdns', { rows: 2, placeholder: '0903123456, 0904234567' });
  const kind = h('select#push-kind', h('option', { value: 'notify' }, t('push.kind.notify')), h('option', { value: 'menu' }, t('push.kind.menu')));
  const text = h('textarea#push-text', { rows: 2, maxlength: 480 });
  const screen = h('select#push-screen', ['main', 'gift', 'draw', 'offer'].map((s) => h('option', { value: s }, t('push.screen.' + s))));
  const screenID = h('input#push-screen-id', { type: 'number', min: 1, placeholder: 'id' });
  const marketing = h('input#push-marketing', { type: 'checkbox' });
  const fallback = h('input#push-fallback', { type: 'checkbox', checked: true });
  const expires = h('input#push-expires', { type: 'number', min: 1, max: 10080, value: 60 });
  const menuOnly = h('div.row', field(t('push.screen'), screen), field(t('push.screen_id'), screenID));
  // .row sets display, which the hidden attribute would not override.
  const syncKind = () => { menuOnly.style.display = kind.value === 'menu' ? '' : 'none'; };
  kind.addEventListener('change', syncKind);
  syncKind();
  const msg = h('div');
  let key = randomKey();
  return h('form.card#push-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { kind: kind.value, text: text.value, marketing: marketing.checked, fallback_sms: fallback.checked,
        expires_at: new Date(Date.now() + Number(expires.value || 60) * 60_000).toISOString(), idempotency_key: 'console-' + key };
      if (msisdn.value.trim()) body.msisdn = msisdn.value.trim();
      else {
        const segment = {};
        const ts = tiers.filter((c) => c.checked).map((c) => c.value);
        if (ts.length) segment.tiers = ts;
        const nums = list.value.split(/[\s,;]+/).filter(Boolean);
        if (nums.length) segment.msisdns = nums;
        body.segment = segment;
      }
      if (kind.value === 'menu') body.screen = screen.value === 'main' ? { menu: 'main' } : { [screen.value]: Number(screenID.value) };
      try {
        const p = await api('POST', '/api/v1/ussd/pushes', body);
        key = randomKey();
        fill(msg, notice('ok', t('push.created', p.id, num(p.targets, ctx.lang))));
        created(p);
      } catch (err) { fill(msg, notice('error', err.message)); }
    },
  }, h('h2', t('push.new')),
  h('div.row', field(t('push.msisdn'), msisdn), field(t('push.kind'), kind)),
  h('fieldset', h('legend', t('push.segment')),
    h('div.row', tiers.map((c) => h('label.check', c, t('tier.' + c.value)))), field(t('camp.msisdns'), list)),
  field(t('push.text'), text), menuOnly,
  h('div.row', h('label.check', marketing, t('push.marketing')), h('label.check', fallback, t('push.fallback')),
    field(t('push.expires'), expires)),
  h('p.muted', t('push.rules')), msg, h('button', { type: 'submit' }, t('push.send')));
}

function pushView(p, ctx) {
  const total = Math.max(p.targets, 1);
  const c = p.counts || {};
  const seg = (k) => h('span.seg.p-' + k, { style: { width: `${(100 * (c[k] || 0)) / total}%` }, title: `${t('push.out.' + k)}: ${c[k] || 0}` });
  const to = p.msisdn || t('push.to_segment', num(p.targets, ctx.lang));
  return [
    h('h3', `#${p.id} ${t('push.kind.' + p.kind)} → ${to}`, ' ', h('span.badge' + (p.done ? '.done' : '.running'), t(p.done ? 'push.done' : 'push.going'))),
    h('p.muted', `${when(p.created_at, ctx.lang)} · ${p.text || ''}`),
    h('div.progress', { role: 'img', 'aria-label': t('camp.progress') }, OUTCOMES.map(seg)),
    h('p.legend', OUTCOMES.map((k) => h('span', h('i.p-' + k), `${t('push.out.' + k)} `, h('b', { dataset: { count: k } }, num(c[k] || 0, ctx.lang)), ' '))),
    h('p.muted', t('push.fell_back', num(c.fell_back || 0, ctx.lang)), ' · ', t('push.excluded', num(p.excluded, ctx.lang))),
  ];
}
