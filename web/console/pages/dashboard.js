// The operations dashboard: the console's home page and what a NOC puts
// on a wall screen. It polls GET /api/v1/dashboard every 5 s rather than
// holding a server-sent event stream: EventSource cannot send the
// Authorization header (the token would have to travel in the URL, into
// every proxy's log), the figures change at the instances' 5-second
// flushes anyway, and the server serves every screen from one reading.
import { h, fill, num, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { barChart, lineChart } from '../chart.js';
import { table } from './subscribers.js';

const EVERY = 5000;

export default {
  id: 'dashboard',
  title: 'nav.dashboard',
  needs: [['GET', '/api/v1/dashboard']],
  render(el, { lang }) {
    const out = h('div#dashboard.stack', h('p.muted', t('loading')));
    const status = h('p.muted.updated', { dataset: { readings: '0' } });
    el.append(out, status);
    let timer = null;
    let stopped = false;
    let readings = 0;
    const poll = async () => {
      try {
        const d = await api('GET', '/api/v1/dashboard');
        if (stopped) return;
        fill(out, ...view(d, lang));
        readings++;
        status.dataset.readings = String(readings);
        fill(status, t('dash.updated', new Date(d.at).toLocaleTimeString(lang === 'en' ? 'en-GB' : 'vi-VN'), EVERY / 1000));
      } catch (err) {
        if (stopped) return;
        fill(status, notice('error', t('dash.stale', err.message)));
      }
      if (!stopped) timer = setTimeout(poll, EVERY);
    };
    poll();
    return () => { stopped = true; clearTimeout(timer); };
  },
};

function view(d, lang) {
  const n = (v) => num(v, lang);
  const dead = Object.values(d.dead_letters || {}).reduce((a, b) => a + b, 0);
  const parts = [tiles([
    ['binds_up', `${d.binds.filter((b) => b.up).length}/${d.binds.length}`, d.binds.some((b) => !b.up) ? 'bad' : 'ok'],
    d.ussd && ['steps_per_second', n(Math.round(d.ussd.steps_per_second * 10) / 10), null],
    d.ussd && ['open_dialogues', n(d.ussd.open_dialogues), null],
    d.ussd && ['steps_last_hour', n(d.ussd.steps_last_hour), null, d.ussd.steps_last_hour],
    d.sms && ['delivery_rate', d.sms.delivery_rate == null ? '—' : `${(d.sms.delivery_rate * 100).toFixed(1)} %`,
      d.sms.delivery_rate != null && d.sms.delivery_rate < 0.9 ? 'bad' : null],
    ['dead_letters', n(dead), dead ? 'bad' : 'ok', dead],
  ].filter(Boolean))];
  parts.push(h('section.card', { dataset: { part: 'binds' } }, h('h2', t('dash.binds')),
    d.binds.length ? table([t('dash.bind'), t('dash.role'), t('dash.system_id'), t('dash.state'), t('dash.since')],
      d.binds.map((b) => [b.addr, t('dash.role_' + b.role), b.system_id,
        h('span.badge.' + (b.up ? 'done' : 'cancelled'), { dataset: { up: String(b.up) } }, t(b.up ? 'dash.up' : 'dash.down')),
        since(b.since, d.at, lang)]), 'binds')
      : h('p.muted', t('dash.no_binds'))));
  if (d.sms) parts.push(smsStates(d.sms, n));
  if (d.last_hour) parts.push(charts(d.last_hour, n));
  if (d.jobs) {
    parts.push(h('section.card', { dataset: { part: 'jobs' } }, h('h2', t('dash.jobs')),
      d.jobs.length ? table([t('dash.job'), t('dash.last_run'), t('dash.instance'), t('dash.outcome')],
        d.jobs.map((j) => [j.job, since(j.finished_at, d.at, lang), j.instance,
          h('span', h('span.badge.' + (j.ok ? 'done' : 'cancelled'), t(j.ok ? 'dash.ok' : 'dash.failed')), j.error ? ' ' + j.error : '')]), 'jobs')
        : h('p.muted', t('dash.no_jobs'))));
  }
  return parts;
}

/** Big figures, each with a data-figure name (and its raw value) for tests and screen readers. */
function tiles(list) {
  return h('section.tiles', list.map(([name, shown, tone, value]) =>
    h('div.tile' + (tone ? '.' + tone : ''), { dataset: { figure: name, value: String(value ?? shown) } },
      h('span.figure', shown), h('span.label', t('dash.' + name)))));
}

const STATES = [['queued', 'queued'], ['held', 'held'], ['sending', 'sent'], ['submitted', 'sent'], ['delivered', 'delivered'], ['failed', 'failed']];

function smsStates(sms, n) {
  const now = STATES.slice(0, 3);
  const hour = STATES.slice(3);
  const row = (list) => h('dl.facts', list.map(([k]) => [h('dt', t('dash.sms_' + k)), h('dd', { dataset: { sms: k } }, n(sms[k]))]));
  const total = hour.reduce((a, [k]) => a + sms[k], 0) || 1;
  return h('section.card', { dataset: { part: 'sms' } }, h('h2', t('dash.sms')),
    h('h3', t('dash.sms_now')), row(now),
    h('h3', t('dash.sms_hour')), row(hour),
    h('div.progress', hour.map(([k, cls]) => h('span.seg.' + cls, { style: { width: `${(100 * sms[k]) / total}%` }, title: t('dash.sms_' + k) }))));
}

function charts(hr, n) {
  const labels = hr.minutes.map((m) => { const d = new Date(m); return `${d.getHours()}:${String(d.getMinutes()).padStart(2, '0')}`; });
  return h('section.card', { dataset: { part: 'charts' } },
    h('h2', t('dash.last_hour')),
    lineChart({ title: t('dash.chart_ussd'), labels, fmt: n,
      series: [{ name: t('dash.steps'), color: '#1f5fa8', values: hr.ussd_steps }] }),
    barChart({ title: t('dash.chart_sms'), labels, fmt: n,
      series: [
        { name: t('dash.sms_submitted'), color: '#5b9bd5', values: hr.sms_submitted },
        { name: t('dash.sms_delivered'), color: '#2f7d4f', values: hr.sms_delivered },
        { name: t('dash.sms_failed'), color: '#c2553a', values: hr.sms_failed },
      ] }));
}

/** "for 5 min" since an instant, against the reading's own clock. */
function since(at, now, lang) {
  const s = Math.max(0, Math.round((Date.parse(now) - Date.parse(at)) / 1000));
  const span = s < 90 ? t('dash.s', s) : s < 5400 ? t('dash.min', Math.round(s / 60)) : s < 172800 ? t('dash.h', Math.round(s / 3600)) : t('dash.d', Math.round(s / 86400));
  return h('span', { title: new Date(at).toLocaleString(lang === 'en' ? 'en-GB' : 'vi-VN') }, span);
}
