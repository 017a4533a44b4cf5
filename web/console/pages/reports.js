// Reports with charts: points issued against points spent per day, USSD
// traffic per hour, SMS delivery per day, and any other report this server
// offers, for a range of days.
import { h, fill, field, num, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { barChart, lineChart } from '../chart.js';
import { items, cell } from './resource.js';
import { table } from './subscribers.js';

const OTHER = ['claims', 'draws', 'spins'];
/** Today in the browser's zone, as YYYY-MM-DD. */
function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A YYYY-MM-DD date moved by n days (calendar arithmetic, no zone). */
function addDays(date, n) {
  return new Date(Date.parse(date) + n * 864e5).toISOString().slice(0, 10);
}

export default {
  id: 'reports',
  title: 'nav.reports',
  needs: [['GET', '/api/v1/reports/points']],
  render(el, ctx) {
    const to = h('input#report-to', { type: 'date', value: today() });
    const from = h('input#report-from', { type: 'date', value: addDays(today(), -13) });
    const out = h('div#reports.stack');
    const load = () => {
      const q = `?from=${from.value}&to=${to.value}`;
      fill(out);
      out.append(section('points', () => pointsChart(q, ctx)));
      if (ctx.features.can('GET', '/api/v1/reports/ussd')) {
        // An hour chart of a long range would be unreadable: the last 2 days at most.
        const ussdFrom = from.value > addDays(to.value, -1) ? from.value : addDays(to.value, -1);
        out.append(section('ussd', () => ussdChart(`?from=${ussdFrom}&to=${to.value}`, ctx)));
      }
      if (ctx.features.can('GET', '/api/v1/reports/sms')) out.append(section('sms', () => smsChart(q, ctx)));
      for (const name of OTHER) {
        if (ctx.features.can('GET', '/api/v1/reports/' + name)) out.append(section(name, () => otherReport(name, q, ctx)));
      }
    };
    el.append(h('form.row', { onsubmit: (e) => { e.preventDefault(); load(); } },
      field(t('rep.from'), from), field(t('rep.to'), to), h('button', { type: 'submit' }, t('rep.show'))), out);
    load();
  },
};

function section(name, build) {
  const card = h('section.card.report', { dataset: { report: name } }, h('h2', t('rep.' + name)), h('p.muted', t('loading')));
  build().then((parts) => { fill(card, h('h2', t('rep.' + name)), parts); })
    .catch((err) => fill(card, h('h2', t('rep.' + name)), notice('error', err.message)));
  return card;
}

async function pointsChart(q, { lang }) {
  const r = await api('GET', '/api/v1/reports/points' + q);
  const labels = r.days.map((d) => d.date.slice(5));
  return [
    barChart({
      title: t('rep.points'), labels, fmt: (v) => num(v, lang),
      series: [
        { name: t('rep.issued_q'), color: '#2f7d4f', values: r.days.map((d) => d.issued_qualifying) },
        { name: t('rep.issued_b'), color: '#8cc084', values: r.days.map((d) => d.issued_bonus) },
        { name: t('rep.spent'), color: '#c2553a', values: r.days.map((d) => d.spent) },
      ],
    }),
    h('p.totals', t('rep.points_totals', num(r.totals.issued, lang), num(r.totals.spent, lang), num(r.totals.entries, lang))),
  ];
}

async function ussdChart(q, { lang }) {
  const r = await api('GET', '/api/v1/reports/ussd' + q);
  const labels = r.hours.map((x) => { const d = new Date(x.hour); return `${d.getDate()}/${d.getMonth() + 1} ${d.getHours()}h`; });
  return [
    lineChart({
      title: t('rep.ussd'), labels, fmt: (v) => num(v, lang),
      series: [
        { name: t('rep.dials'), color: '#1f5fa8', values: r.hours.map((x) => x.dials) },
        { name: t('rep.answers'), color: '#7a4fb3', values: r.hours.map((x) => x.answers) },
        { name: t('rep.failures'), color: '#c2553a', values: r.hours.map((x) => x.failures) },
      ],
    }),
    h('p.totals', t('rep.ussd_totals', num(r.totals.dials, lang), num(r.totals.answers, lang), num(r.totals.aborts, lang), num(r.totals.failures, lang))),
  ];
}

const SMS = [['sent', '#1f5fa8'], ['delivered', '#2f7d4f'], ['failed', '#c2553a'], ['expired', '#b7791f']];

/** SMS per day, every kind together, and each kind's totals under it. */
async function smsChart(q, { lang }) {
  const r = await api('GET', '/api/v1/reports/sms' + q);
  const dates = [...new Set(r.days.map((d) => d.date))];
  const sum = (date, key) => r.days.reduce((n, d) => (d.date === date ? n + d[key] : n), 0);
  const cols = ['messages', ...SMS.map(([k]) => k)];
  return [
    barChart({
      title: t('rep.sms'), labels: dates.map((d) => d.slice(5)), fmt: (v) => num(v, lang),
      series: SMS.map(([k, color]) => ({ name: t('rep.sms_' + k), color, values: dates.map((d) => sum(d, k)) })),
    }),
    table([t('rep.sms_kind'), ...cols.map((k) => t('rep.sms_' + k))],
      r.kinds.map((k) => [t('kind.' + k.kind), ...cols.map((c) => num(k[c], lang))]), 'sms-kinds'),
    h('p.totals', t('rep.sms_totals', ...cols.map((c) => num(r.totals[c], lang)))),
  ];
}

/** Reports other teams add: a bar chart of the first numeric column, and the table. */
async function otherReport(name, q, { lang }) {
  const rows = items(await api('GET', `/api/v1/reports/${name}${q}`));
  if (!rows.length) return h('p.muted', t('empty'));
  const cols = Object.keys(rows[0]);
  const label = cols.find((c) => typeof rows[0][c] === 'string') || cols[0];
  const value = cols.find((c) => typeof rows[0][c] === 'number' && c !== 'id' && !c.endsWith('_id'));
  return [
    value && barChart({ title: t('rep.' + name), labels: rows.map((r) => String(r[label]).slice(0, 12)), fmt: (v) => num(v, lang),
      series: [{ name: value, color: '#1f5fa8', values: rows.map((r) => r[value]) }] }),
    table(cols, rows.map((r) => cols.map((c) => cell(r[c])))),
  ];
}
