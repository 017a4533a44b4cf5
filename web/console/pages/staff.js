// Staff accounts: create one (its token is shown here once, then only its
// hash is kept), see who has access, disable an account at once.
import { h, fill, field, when, notice } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';
import { table } from './subscribers.js';

export default {
  id: 'staff',
  title: 'nav.staff',
  needs: [['GET', '/api/v1/staff'], ['POST', '/api/v1/staff']],
  render(el, ctx) {
    const list = h('div#staff-list');
    const load = async () => {
      try {
        const r = await api('GET', '/api/v1/staff?limit=500');
        fill(list, table([t('staff.name'), t('staff.role'), t('staff.created'), t('staff.by'), t('staff.state'), ''],
          r.staff.map((s) => [s.name, t('role.' + s.role), when(s.created_at, ctx.lang), s.created_by,
            s.disabled_at ? t('staff.disabled', when(s.disabled_at, ctx.lang)) : t('staff.active'),
            !s.disabled_at && h('button.small.danger', { type: 'button', onclick: async () => {
              if (!confirm(t('staff.confirm', s.name))) return;
              await api('POST', path('/api/v1/staff/{id}:disable', s)); load();
            } }, t('staff.disable'))])));
      } catch (err) { fill(list, notice('error', err.message)); }
    };
    const name = h('input#staff-name', { required: true, maxlength: 100 });
    const role = h('select#staff-role', ['support', 'marketer', 'admin'].map((r) => h('option', { value: r }, t('role.' + r))));
    const shown = h('div#staff-token');
    el.append(h('form.card.row', {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const s = await api('POST', '/api/v1/staff', { name: name.value.trim(), role: role.value });
          const tok = h('input#new-token', { readOnly: true, value: s.token, size: 60 });
          fill(shown, h('div.notice.ok', h('p', t('staff.token', s.name)), tok,
            h('button.small', { type: 'button', onclick: () => { tok.select(); navigator.clipboard?.writeText(s.token); } }, t('copy'))));
          name.value = '';
          load();
        } catch (err) { fill(shown, notice('error', err.message)); }
      },
    }, field(t('staff.name'), name), field(t('staff.role'), role), h('button', { type: 'submit' }, t('staff.create'))),
    shown, h('p.muted', t('staff.roles')), list);
    load();
  },
};
