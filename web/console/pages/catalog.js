// The loyalty catalogue: gifts (with their code pools) and partner offers.
import { h, fill, field, num, when, notice, randomKey } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';
import { table } from './subscribers.js';
import { listAndCreate } from './resource.js';

const TIERS = ['dong', 'bac', 'titan', 'vang', 'kim_cuong'];

export const gifts = {
  id: 'gifts',
  title: 'nav.gifts',
  needs: [['GET', '/api/v1/gifts'], ['POST', '/api/v1/gifts']],
  render(el, ctx) {
    const list = h('div#gifts');
    const load = async () => {
      try {
        const { gifts } = await api('GET', '/api/v1/gifts');
        fill(list, table([t('gift.id'), t('gift.name'), t('gift.kind'), t('gift.occasion'), t('gift.cost'), t('gift.tiers'), t('gift.stock'), t('gift.claimed'), t('gift.until'), ''],
          gifts.map((g) => [String(g.id), g.name, g.kind, g.occasion ? t('occ.' + g.occasion) : t('occ.catalogue'), num(g.cost, ctx.lang),
            g.tiers.map((x) => t('tier.' + x)).join(', ') || t('any'), num(g.stock, ctx.lang), num(g.claimed, ctx.lang), when(g.valid_until, ctx.lang),
            ctx.features.can('PATCH', '/api/v1/gifts/{id}') ? h('button.small', { type: 'button', onclick: async () => {
              await api('PATCH', path('/api/v1/gifts/{id}', g), { active: !g.active }); load();
            } }, g.active ? t('gift.deactivate') : t('gift.activate')) : '']), 'gift-list'));
        codes.update(gifts);
      } catch (err) { fill(list, notice('error', err.message)); }
    };
    const codes = codesForm(ctx, load);
    el.append(list);
    if (ctx.features.can('POST', '/api/v1/gifts')) el.append(giftForm(ctx, load));
    if (ctx.features.can('POST', '/api/v1/gifts/{id}/codes')) el.append(codes.form);
    load();
  },
};

function giftForm(ctx, done) {
  const now = new Date();
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const name = h('input#gift-name', { required: true });
  const nameEn = h('input#gift-name-en');
  const kind = h('select#gift-kind', ['voucher', 'airtime', 'data', 'partner', 'physical'].map((k) => h('option', { value: k }, k)));
  const occasion = h('select#gift-occasion', ['', 'birthday', 'womens_day', 'tet', 'segment'].map((o) => h('option', { value: o }, o ? t('occ.' + o) : t('occ.catalogue'))));
  const cost = h('input#gift-cost', { type: 'number', min: 0, value: 0 });
  const stock = h('input#gift-stock', { type: 'number', min: 0, value: 0 });
  const limit = h('input#gift-limit', { type: 'number', min: 1, value: 1 });
  const from = h('input#gift-from', { type: 'datetime-local', value: local(now), required: true });
  const until = h('input#gift-until', { type: 'datetime-local', value: local(new Date(now.getTime() + 365 * 864e5)), required: true });
  const tiers = TIERS.map((x) => h('input', { type: 'checkbox', value: x }));
  const msg = h('div');
  let key = randomKey();
  return h('form.card#gift-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        name: name.value.trim(), name_en: nameEn.value.trim(), kind: kind.value, occasion: occasion.value,
        cost: Number(cost.value), stock: Number(stock.value), limit: Number(limit.value),
        tiers: tiers.filter((c) => c.checked).map((c) => c.value),
        valid_from: new Date(from.value).toISOString(), valid_until: new Date(until.value).toISOString(),
        idempotency_key: 'console-' + key,
      };
      try {
        const g = await api('POST', '/api/v1/gifts', body);
        key = randomKey();
        fill(msg, notice('ok', t('gift.created', g.id)));
        done();
      } catch (err) { fill(msg, notice('error', err.message)); }
    },
  }, h('h2', t('gift.new')), h('div.row', field(t('gift.name'), name), field(t('gift.name_en'), nameEn)),
  h('div.row', field(t('gift.kind'), kind), field(t('gift.occasion'), occasion), field(t('gift.cost'), cost), field(t('gift.stock'), stock), field(t('gift.limit'), limit)),
  h('div.row', field(t('gift.from'), from), field(t('gift.until'), until)),
  h('fieldset', h('legend', t('gift.tiers')), h('div.row', tiers.map((c) => h('label.check', c, t('tier.' + c.value))))),
  h('p.muted', t('gift.help')), msg, h('button', { type: 'submit' }, t('gift.create')));
}

/** Upload voucher codes, one per line or as a CSV file with a code column. */
function codesForm(ctx, done) {
  const gift = h('select#codes-gift');
  const text = h('textarea#codes-text', { rows: 4, placeholder: 'BDAY-0001\nBDAY-0002' });
  const file = h('input#codes-file', { type: 'file', accept: '.csv,text/csv' });
  const msg = h('div');
  const form = h('form.card#codes-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const csv = file.files[0] || new Blob(['code\n' + text.value.split(/\s+/).filter(Boolean).join('\n') + '\n'], { type: 'text/csv' });
      try {
        const r = await api('POST', path('/api/v1/gifts/{id}/codes', { id: gift.value }), csv);
        fill(msg, notice('ok', t('codes.done', r.accepted, r.duplicate, r.rejected)));
        text.value = '';
        file.value = '';
        done();
      } catch (err) { fill(msg, notice('error', err.message)); }
    },
  }, h('h2', t('codes.title')), field(t('codes.gift'), gift), field(t('codes.text'), text), field(t('codes.file'), file), msg,
  h('button', { type: 'submit' }, t('codes.upload')));
  return {
    form,
    update(gifts) {
      const keep = gift.value;
      fill(gift, gifts.filter((g) => g.kind === 'voucher').map((g) => h('option', { value: g.id }, `#${g.id} ${g.name}`)));
      if (keep) gift.value = keep;
    },
  };
}

export const offers = {
  id: 'offers',
  title: 'nav.offers',
  needs: [['GET', '/api/v1/offers']],
  render(el, ctx) {
    listAndCreate(el, ctx, { listPath: '/api/v1/offers', columns: ['id', 'kind', 'category', 'partner', 'title', 'tiers', 'code', 'valid_until'] });
  },
};
