// The audit log: who changed what, when, with the object before and after.
import { h, fill, field, when, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';

export default {
  id: 'audit',
  title: 'nav.audit',
  needs: [['GET', '/api/v1/audit']],
  render(el, ctx) {
    const actor = h('input#audit-actor');
    const action = h('input#audit-action', { placeholder: 'points.' });
    const target = h('input#audit-target', { placeholder: '84903123456' });
    const body = h('tbody#audit-rows');
    const more = h('button.small#audit-more', { type: 'button', hidden: true }, t('audit.more'));
    const msg = h('div');
    let next = null;
    const load = async (reset) => {
      const q = new URLSearchParams({ limit: '25' });
      if (actor.value.trim()) q.set('actor', actor.value.trim());
      if (action.value.trim()) q.set('action', action.value.trim());
      if (target.value.trim()) q.set('target', target.value.trim());
      if (!reset && next) q.set('before', next);
      try {
        const r = await api('GET', '/api/v1/audit?' + q);
        if (reset) fill(body);
        for (const e of r.entries) body.append(row(e, ctx));
        if (reset && !r.entries.length) body.append(h('tr', h('td', { colSpan: 5 }, t('empty'))));
        next = r.next;
        more.hidden = !next;
        fill(msg);
      } catch (err) { fill(msg, notice('error', err.message)); }
    };
    more.addEventListener('click', () => load(false));
    el.append(h('form.row', { onsubmit: (e) => { e.preventDefault(); load(true); } },
      field(t('audit.actor'), actor), field(t('audit.action'), action), field(t('audit.target'), target),
      h('button', { type: 'submit' }, t('audit.filter'))), msg,
    h('table#audit', h('thead', h('tr', [t('audit.when'), t('audit.actor'), t('audit.action'), t('audit.target'), t('audit.change')].map((x) => h('th', x)))), body),
    more);
    load(true);
  },
};

function row(e, { lang }) {
  const json = (v) => h('pre.json', v === null ? 'null' : JSON.stringify(v, null, 2));
  return h('tr', h('td', when(e.at, lang)), h('td', `${e.actor.name} (${t('role.' + e.actor.role)})`),
    h('td', h('code', e.action)), h('td', e.target),
    h('td', h('details', h('summary', t('audit.show')), h('div.beforeafter',
      h('div', h('b', t('audit.before')), json(e.before)), h('div', h('b', t('audit.after')), json(e.after))))));
}
