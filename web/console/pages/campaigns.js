// SMS campaigns: create one for a segment, then watch it go out. Progress
// is polled from GET /api/v1/campaigns/{id} every two seconds while the page
// is open. The API has no list of campaigns yet, so this browser remembers
// the ids it created (ids only: no personal data in localStorage).
import { h, fill, field, num, when, notice, randomKey } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';

const MINE = 'care360.campaigns';
const TIERS = ['dong', 'bac', 'titan', 'vang', 'kim_cuong'];
const remembered = () => JSON.parse(localStorage.getItem(MINE) || '[]');
const remember = (id) => localStorage.setItem(MINE, JSON.stringify([id, ...remembered().filter((x) => x !== id)].slice(0, 20)));

export default {
  id: 'campaigns',
  title: 'nav.campaigns',
  needs: [['POST', '/api/v1/campaigns'], ['GET', '/api/v1/campaigns/{id}']],
  render(el, ctx) {
    const list = h('div#campaigns.stack');
    const cards = new Map(); // id → {card, data}
    const show = (c) => {
      let entry = cards.get(c.id);
      if (!entry) {
        entry = { card: h('section.card.campaign', { dataset: { id: c.id } }) };
        cards.set(c.id, entry);
        list.prepend(entry.card);
      }
      entry.data = c;
      fill(entry.card, campaignView(c, ctx, show));
    };
    el.append(createForm(ctx, (c) => { remember(c.id); show(c); }), h('h2', t('camp.recent')), list);
    for (const id of remembered().reverse()) {
      api('GET', path('/api/v1/campaigns/{id}', { id })).then(show).catch(() => {});
    }
    const timer = setInterval(() => {
      for (const [id, e] of cards) {
        if (!e.data || finished(e.data)) continue;
        api('GET', path('/api/v1/campaigns/{id}', { id })).then(show).catch(() => {});
      }
    }, 2000);
    return () => clearInterval(timer);
  },
};

/** A campaign is done when nothing is left to send or it was cancelled. */
function finished(c) {
  const p = c.progress;
  return c.status === 'cancelled' || (c.recipients > 0 && p.queued + p.held === 0 && p.delivered + p.failed >= c.recipients);
}

function createForm(ctx, created) {
  const name = h('input#camp-name', { required: true, maxlength: 200 });
  const text = h('textarea#camp-text', { required: true, rows: 3, placeholder: '[QC] ...' });
  const textEn = h('textarea#camp-text-en', { rows: 2 });
  const tiers = TIERS.map((x) => h('input', { type: 'checkbox', value: x, name: 'tier' }));
  const gender = h('select#camp-gender', h('option', { value: '' }, t('any')), h('option', { value: 'f' }, t('gender.f')), h('option', { value: 'm' }, t('gender.m')));
  const month = h('select#camp-month', h('option', { value: '' }, t('any')), Array.from({ length: 12 }, (_, i) => h('option', { value: i + 1 }, String(i + 1))));
  const msisdns = h('textarea#camp-msisdns', { rows: 2, placeholder: '0903123456, 0904234567' });
  const msg = h('div');
  let key = randomKey();
  return h('form.card#campaign-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const segment = {};
      const ts = tiers.filter((c) => c.checked).map((c) => c.value);
      if (ts.length) segment.tiers = ts;
      if (gender.value) segment.gender = gender.value;
      if (month.value) segment.birthday_month = Number(month.value);
      const list = msisdns.value.split(/[\s,;]+/).filter(Boolean);
      if (list.length) segment.msisdns = list;
      const body = { name: name.value.trim(), text: text.value, segment, idempotency_key: 'console-' + key };
      if (textEn.value.trim()) body.text_en = textEn.value;
      try {
        const c = await api('POST', '/api/v1/campaigns', body);
        key = randomKey();
        fill(msg, notice('ok', t('camp.created', c.id, num(c.recipients, ctx.lang))));
        created(c);
      } catch (err) { fill(msg, notice('error', err.message)); }
    },
  }, h('h2', t('camp.new')), field(t('camp.name'), name), field(t('camp.text'), text), field(t('camp.text_en'), textEn),
  h('fieldset', h('legend', t('camp.segment')),
    h('div.row', tiers.map((c) => h('label.check', c, t('tier.' + c.value)))),
    h('div.row', field(t('camp.gender'), gender), field(t('camp.month'), month)),
    field(t('camp.msisdns'), msisdns)),
  h('p.muted', t('camp.rules')), msg, h('button', { type: 'submit' }, t('camp.send')));
}

function campaignView(c, ctx, show) {
  const p = c.progress;
  const total = Math.max(c.recipients, 1);
  const seg = (cls, n) => h('span.seg.' + cls, { style: { width: `${(100 * n) / total}%` }, title: `${t('prog.' + cls)}: ${n}` });
  const control = (action) => ctx.features.can('POST', `/api/v1/campaigns/{id}:${action}`) &&
    h('button.small', { type: 'button', onclick: async () => show(await api('POST', path(`/api/v1/campaigns/{id}:${action}`, c))) }, t('camp.' + action));
  return [
    h('h3', `#${c.id} ${c.name}`, ' ', h('span.badge.' + c.status, t('camp.status.' + c.status))),
    h('p.muted', `${when(c.send_at, ctx.lang)} · ${t('camp.recipients', num(c.recipients, ctx.lang))}`),
    h('div.progress', { role: 'img', 'aria-label': t('camp.progress') }, seg('delivered', p.delivered), seg('sent', p.sent), seg('held', p.held), seg('queued', p.queued), seg('failed', p.failed)),
    h('p.legend', ['delivered', 'sent', 'held', 'queued', 'failed'].map((k) => h('span', h('i.' + k), `${t('prog.' + k)} `, h('b', { dataset: { count: k } }, num(p[k], ctx.lang)), ' '))),
    h('div.row', c.status === 'running' && control('pause'), c.status === 'paused' && control('resume'), c.status !== 'cancelled' && control('cancel')),
  ];
}
