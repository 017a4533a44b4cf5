// SMS campaigns: create one for a segment, then watch it go out. The list
// is the server's (GET /api/v1/campaigns, newest first), so a campaign
// created anywhere shows here. While the page is open, campaigns still
// going are polled from GET /api/v1/campaigns/{id} every two seconds, and
// the first page of the list is read again every fifteen for campaigns new
// elsewhere: a list read counts every listed campaign's messages, a read
// by id only that one's.
import { h, fill, field, num, when, notice, randomKey } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';

const TIERS = ['dong', 'bac', 'titan', 'vang', 'kim_cuong'];
const PAGE = 20;

export default {
  id: 'campaigns',
  title: 'nav.campaigns',
  needs: [['GET', '/api/v1/campaigns'], ['POST', '/api/v1/campaigns'], ['GET', '/api/v1/campaigns/{id}']],
  render(el, ctx) {
    const list = h('div#campaigns.stack');
    const more = h('button.small#campaigns-more', { type: 'button', hidden: true }, t('camp.more'));
    const msg = h('div');
    const cards = new Map(); // id → {card, data}
    // show draws c in its card, placing a new card by id: newest first.
    const show = (c) => {
      let entry = cards.get(c.id);
      if (!entry) {
        entry = { card: h('section.card.campaign', { dataset: { id: c.id } }) };
        cards.set(c.id, entry);
        const after = [...list.children].find((x) => Number(x.dataset.id) < c.id);
        list.insertBefore(entry.card, after || null);
      }
      entry.data = c;
      fill(entry.card, campaignView(c, ctx, show));
    };
    let next; // the cursor of the next older page; null: none
    const load = async (before) => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (before) q.set('before', before);
      try {
        const r = await api('GET', '/api/v1/campaigns?' + q);
        r.campaigns.forEach(show);
        if (before || next === undefined) next = r.next;
        more.hidden = !next;
        fill(msg, !cards.size && h('p.muted', t('empty')));
      } catch (err) { fill(msg, notice('error', err.message)); }
    };
    more.addEventListener('click', () => load(next));
    const form = ctx.features.can('POST', '/api/v1/campaigns') && createForm(ctx, (c) => { fill(msg); show(c); });
    el.append(form || '', h('h2', t('camp.recent')), msg, list, more);
    load();
    const timer = setInterval(() => {
      for (const [id, e] of cards) {
        if (!e.data || finished(e.data)) continue;
        api('GET', path('/api/v1/campaigns/{id}', { id })).then(show).catch(() => {});
      }
    }, 2000);
    const reload = setInterval(() => load(), 15_000);
    return () => { clearInterval(timer); clearInterval(reload); };
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
    h('div.row', c.status === 'running' && control('pause'), c.status === 'paused' && control('resume'), c.status !== 'cancelled' && c.status !== 'done' && control('cancel')),
  ];
}
