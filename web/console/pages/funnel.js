// The funnel: per screen, how many dialogues reached it, went on from it,
// and ended on it, by outcome (where do members give up?), from the
// dialogue records, for one service code or all of them.
import { h, fill, field, num, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { barChart } from '../chart.js';
import { table } from './subscribers.js';

const GAVE_UP = ['user_abort', 'network_abort', 'timeout', 'invalid', 'error'];

/** Today in the browser's zone, as YYYY-MM-DD. */
function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export default {
  id: 'funnel',
  title: 'nav.funnel',
  needs: [['GET', '/api/v1/reports/funnel']],
  render(el, { lang }) {
    const to = h('input#funnel-to', { type: 'date', value: today() });
    const from = h('input#funnel-from', { type: 'date', value: new Date(Date.now() - 6 * 864e5).toISOString().slice(0, 10) });
    const code = h('input#funnel-code', { placeholder: '*090#', size: 10 });
    const out = h('div#funnel.stack');
    const load = async () => {
      fill(out, h('p.muted', t('loading')));
      try {
        const q = `?from=${from.value}&to=${to.value}` + (code.value ? `&code=${encodeURIComponent(code.value.trim())}` : '');
        const r = await api('GET', '/api/v1/reports/funnel' + q);
        fill(out, ...view(r, lang));
      } catch (err) {
        fill(out, notice('error', err.message));
      }
    };
    el.append(h('form.row', { onsubmit: (e) => { e.preventDefault(); load(); } },
      field(t('rep.from'), from), field(t('rep.to'), to), field(t('funnel.code'), code),
      h('button', { type: 'submit' }, t('rep.show'))), out);
    load();
  },
};

function view(r, lang) {
  const n = (v) => num(v, lang);
  if (!r.screens.length) return [h('p.muted', t('funnel.none'))];
  const gaveUp = (s) => GAVE_UP.reduce((a, k) => a + (s.ended[k] || 0), 0);
  const shown = r.screens.slice(0, 24);
  const title = t('funnel.title', r.code || t('funnel.all'));
  return [
    h('section.card', { dataset: { code: r.code || 'all' } },
      h('h2', title),
      barChart({ title, labels: shown.map((s) => s.screen), fmt: n,
        series: [
          { name: t('funnel.reached'), color: '#1f5fa8', values: shown.map((s) => s.reached) },
          { name: t('funnel.answered'), color: '#2f7d4f', values: shown.map((s) => s.answered) },
          { name: t('funnel.gave_up'), color: '#c2553a', values: shown.map(gaveUp) },
        ] }),
      table([t('funnel.screen'), t('funnel.reached'), t('funnel.answered'), t('funnel.gave_up'), t('funnel.ended')],
        r.screens.map((s) => [s.screen, n(s.reached), n(s.answered), n(gaveUp(s)),
          Object.entries(s.ended).map(([k, v]) => `${t('outcome.' + k)} ${n(v)}`).join(' · ')]), 'funnel-table')),
  ];
}
