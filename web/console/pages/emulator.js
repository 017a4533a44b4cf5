// A feature phone on the screen: dial *090# and walk a real dialogue, for
// any subscriber, through the same engine the USSD centre reaches (POST
// /api/v1/emulator/ussd), and watch the SMS that arrive for the number.
import { h, fill, field, when, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

export default {
  id: 'emulator',
  title: 'nav.emulator',
  needs: [['POST', '/api/v1/emulator/ussd']],
  render(el, ctx) {
    const pre = new URLSearchParams(location.hash.split('?')[1] || '').get('msisdn');
    const msisdn = h('input#phone-msisdn', { type: 'tel', value: pre || '0903123456', required: true });
    const screen = h('pre#phone-screen.lcd', t('emu.idle'));
    const input = h('input#phone-input.lcd-input', { type: 'text', value: '*090#', maxlength: 160, autocomplete: 'off', 'aria-label': t('emu.input') });
    const status = h('div#phone-status.muted');
    let session = '';
    let busy = false;

    const step = async (action, text) => {
      if (busy) return;
      busy = true;
      try {
        const r = await api('POST', '/api/v1/emulator/ussd', { msisdn: msisdn.value.trim(), session: action === 'dial' ? '' : session, action, text });
        session = r.end ? '' : r.session;
        if (action !== 'hangup') fill(screen, r.text);
        fill(status, r.end ? t('emu.ended') : t('emu.open'));
        input.value = r.end ? '*090#' : '';
        phone.dataset.state = r.end ? 'idle' : 'open';
      } catch (err) {
        fill(status, notice('error', err.message));
      } finally {
        busy = false;
        // Counts answered steps, so a script (or a screen reader) can tell a
        // new screen from an old one that happens to read the same.
        phone.dataset.replies = String(Number(phone.dataset.replies || 0) + 1);
        input.focus();
      }
    };
    const send = () => (session ? step('answer', input.value) : step('dial', input.value.trim()));
    const hangup = () => {
      if (session) step('hangup', '');
      session = '';
      fill(screen, t('emu.idle'));
      input.value = '*090#';
      phone.dataset.state = 'idle';
    };
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); send(); } });

    const phone = h('div#phone.phone', { dataset: { state: 'idle' } },
      h('div.speaker'), screen, input,
      h('div.calls', h('button#phone-send.call', { type: 'button', onclick: send, title: t('emu.send') }, '✆'),
        h('button#phone-clear.clear', { type: 'button', onclick: () => { input.value = input.value.slice(0, -1); input.focus(); } }, 'C'),
        h('button#phone-end.end', { type: 'button', onclick: hangup, title: t('emu.end') }, '✕')),
      h('div.keypad', KEYS.map((k) => h('button.key', { type: 'button', dataset: { key: k }, onclick: () => { input.value += k; input.focus(); } }, k))));

    const inbox = h('section.card.inbox', h('h2', t('emu.sms')));
    el.append(h('div.emulator', h('div', field(t('sub.msisdn'), msisdn), phone, status), inbox));

    // Poll the SMS of the number while the page is open; the router stops it.
    let timer = null;
    if (ctx.features.can('GET', '/api/v1/messages')) {
      const list = h('ol#phone-sms.sms');
      inbox.append(list);
      const poll = async () => {
        try {
          const { messages } = await api('GET', '/api/v1/messages?limit=10&msisdn=' + encodeURIComponent(msisdn.value.trim()));
          fill(list, messages.map((m) => h('li', h('span.muted', when(m.created_at, ctx.lang) + ' · ' + t('status.' + m.status)), h('p', m.text))));
          if (!messages.length) fill(list, h('li.muted', t('empty')));
        } catch { /* a number being typed; try again */ }
      };
      poll();
      timer = setInterval(poll, 2000);
    } else {
      inbox.append(notice('unavailable', t('unavailable', t('emu.sms'), 'GET /api/v1/messages')));
    }
    input.focus();
    return () => { clearInterval(timer); if (session) step('hangup', ''); };
  },
};
