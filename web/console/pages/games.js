// Lucky draws and lucky spins. A draw is created open with its commitment
// published, closed (entries frozen, their digest published), run with the
// witnesses' value, and its audit file downloaded for anyone to check with
// `care360 draw verify FILE`; until it is run it may be cancelled, which
// refunds every entry (asked first: it cannot be undone).
import { h, fill, notice } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';
import { listAndCreate } from './resource.js';

export const draws = {
  id: 'draws',
  title: 'nav.draws',
  needs: [['GET', '/api/v1/draws']],
  render(el, ctx) {
    const msg = h('div#draw-msg');
    const can = (action) => ctx.features.can('POST', `/api/v1/draws/{id}:${action}`);
    const act = (label, fn) => h('button.small', { type: 'button', onclick: async () => {
      try { await fn(); } catch (err) { fill(msg, notice('error', err.message)); }
    } }, label);
    el.append(msg);
    listAndCreate(el, ctx, {
      listPath: '/api/v1/draws',
      columns: ['id', 'code', 'name', 'status', 'entries', 'closes_at', 'commitment'],
      actions: (d, reload) => [
        d.status === 'open' && can('close') && act(t('draw.close'), async () => {
          await api('POST', path('/api/v1/draws/{id}:close', d)); reload();
        }),
        d.status === 'closed' && can('run') && witnessInput(d),
        d.status === 'closed' && can('run') && act(t('draw.run'), async () => {
          const witness = el.querySelector(`input[data-witness="${d.id}"]`).value.trim();
          if (!witness) return fill(msg, notice('error', t('draw.witness')));
          const r = await api('POST', path('/api/v1/draws/{id}:run', d), { witness });
          fill(msg, notice('ok', t('draw.winners', (r.winners || []).length)));
          reload();
        }),
        (d.status === 'open' || d.status === 'closed') && can('cancel') && act(t('draw.cancel'), async () => {
          if (!window.confirm(t('draw.cancel.ask', d.code))) return;
          const r = await api('POST', path('/api/v1/draws/{id}:cancel', d));
          fill(msg, notice('ok', t('draw.refunded', r.refunded_points, r.refunded_entries)));
          reload();
        }),
        d.status === 'drawn' && ctx.features.can('GET', '/api/v1/draws/{id}/audit') && act(t('draw.audit'), () => download(d)),
      ],
    });
  },
};

/** The witnesses' value (e.g. the dice rolled at the ceremony) for a run. */
function witnessInput(d) {
  return h('input.witness', { type: 'text', maxlength: 200, placeholder: t('draw.witness'), dataset: { witness: d.id } });
}

/** Fetches the audit file with the token and hands it to the browser. */
async function download(d) {
  const res = await api('GET', path('/api/v1/draws/{id}/audit', d), undefined, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `draw-${d.code || d.id}-audit.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const spins = {
  id: 'spins',
  title: 'nav.spins',
  needs: [['GET', '/api/v1/spins']],
  render(el, ctx) {
    listAndCreate(el, ctx, { listPath: '/api/v1/spins', columns: ['id', 'code', 'name', 'cost_points', 'daily_cap', 'starts_at', 'ends_at', 'prizes'] });
  },
};
