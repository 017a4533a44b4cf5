// Sign in by pasting a token: the built-in admin's (CARE360_ADMIN_TOKEN) or
// a staff account's, as an admin handed it over.
import { h, fill, field, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';

export default {
  render(view, { done }) {
    const input = h('input#token', { type: 'password', autocomplete: 'off', required: true, spellcheck: false });
    const msg = h('div');
    const form = h('form.card.login', {
      onsubmit: async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        try {
          await api('GET', '/api/v1/me', undefined, { token });
          done(token);
        } catch (err) {
          fill(msg, notice('error', err.status === 401 ? t('login.bad') : err.message));
        }
      },
    }, h('h1', t('login.title')), h('p', t('login.help')), field(t('login.token'), input), msg,
    h('button', { type: 'submit' }, t('login.go')));
    fill(view, form);
    input.focus();
  },
};
