// Look a subscriber up by MSISDN: profile, tier and points, the ledger, the
// SMS sent to them; support and admins adjust points with a reason.
import { h, fill, field, num, when, notice, randomKey } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';

export default {
  id: 'subscribers',
  title: 'nav.subscribers',
  needs: [['GET', '/api/v1/subscribers/{msisdn}']],
  render(el, ctx) {
    const q = h('input#msisdn', { type: 'search', placeholder: '0903123456', required: true, inputmode: 'tel' });
    const out = h('div#subscriber');
    const search = async (msisdn) => {
      fill(out, h('p.muted', t('loading')));
      try {
        const sub = await api('GET', path('/api/v1/subscribers/{msisdn}', { msisdn }));
        show(out, sub, ctx);
      } catch (err) {
        fill(out, notice('error', err.status === 404 ? t('sub.none', msisdn) : err.message));
      }
    };
    el.append(h('form.row', {
      onsubmit: (e) => { e.preventDefault(); search(q.value.trim()); },
    }, field(t('sub.msisdn'), q), h('button', { type: 'submit' }, t('sub.search'))), out);
    const pre = new URLSearchParams(location.hash.split('?')[1] || '').get('msisdn');
    if (pre) { q.value = pre; search(pre); }
  },
};

function show(out, sub, ctx) {
  const { lang, features } = ctx;
  const p = sub.points;
  const profile = h('section.card',
    h('h2', sub.name || sub.msisdn),
    h('dl.facts',
      fact(t('sub.msisdn'), sub.msisdn), fact(t('sub.tier'), t('tier.' + sub.tier)),
      fact(t('sub.status'), sub.status), fact(t('sub.language'), sub.language),
      fact(t('sub.birthday'), sub.birthday || '—'), fact(t('sub.since'), sub.member_since || '—')),
    h('dl.facts.points',
      fact(t('pts.spendable'), num(p.spendable, lang), 'spendable'), fact(t('pts.qualifying'), num(p.qualifying, lang)),
      fact(t('pts.bonus'), num(p.bonus, lang)),
      fact(t('pts.expiry'), p.next_expiry ? `${num(p.next_expiry.points, lang)} · ${p.next_expiry.date}` : '—')));
  // A SIM swap holds value in the account (PRODUCT.md §7): staff on the
  // phone with the member must see it first.
  if (sub.sim_swap_hold_until) {
    const hold = notice('error', t('sub.hold', when(sub.sim_swap_hold_until, lang)));
    hold.id = 'hold';
    profile.insertBefore(hold, profile.children[1]);
  }
  const parts = [profile];
  const actions = h('p');
  if (features.can('GET', '/api/v1/subscribers/{msisdn}/export')) {
    actions.append(h('button#export.small', { type: 'button', onclick: () => exportMember(sub) }, t('sub.export')), ' ');
  }
  // Erasure cannot be undone: a reason, then a second confirmation.
  if (features.can('POST', '/api/v1/subscribers/{msisdn}:erase')) {
    actions.append(h('button#erase.small.danger', { type: 'button', onclick: () => eraseMember(out, sub) }, t('sub.erase')));
  }
  if (actions.childNodes.length) profile.append(actions);
  let history = null;
  if (features.can('GET', '/api/v1/subscribers/{msisdn}/history')) {
    history = h('section.card', h('h2', t('hist.title')));
    parts.push(history);
  }
  if (features.can('POST', '/api/v1/subscribers/{msisdn}/points')) parts.push(adjust(sub, ctx, () => refresh()));
  const ledger = h('section.card', h('h2', t('ledger.title')));
  parts.push(ledger);
  let messages = null;
  if (features.can('GET', '/api/v1/messages')) {
    messages = h('section.card', h('h2', t('msg.title')));
    parts.push(messages);
  }
  // Acting as a member in the emulator is for admins only (PRODUCT.md §9).
  if (features.can('POST', '/api/v1/emulator/ussd') && ctx.me && ctx.me.role === 'admin') {
    parts.push(h('p', h('a', { href: '#/emulator?msisdn=' + encodeURIComponent(sub.msisdn) }, t('sub.dial'))));
  }
  fill(out, parts);
  const refresh = async () => {
    try {
      const fresh = await api('GET', path('/api/v1/subscribers/{msisdn}', sub));
      show(out, fresh, ctx);
    } catch (err) { out.append(notice('error', err.message)); }
  };
  if (history) loadHistory(history, sub, lang);
  loadLedger(ledger, sub, lang);
  if (messages) loadMessages(messages, sub.msisdn, lang);
}

/** Fetches everything held about the member with the token and hands it to the browser (an access request). */
async function exportMember(sub) {
  const res = await api('GET', path('/api/v1/subscribers/{msisdn}/export', sub), undefined, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `care360-export-${sub.msisdn}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Erases the member after a reason and a confirmation, then says what it became. */
async function eraseMember(out, sub) {
  const reason = window.prompt(t('sub.erase.ask', sub.msisdn));
  if (!reason || !reason.trim()) return;
  if (!window.confirm(t('sub.erase.confirm', sub.msisdn))) return;
  try {
    const r = await api('POST', path('/api/v1/subscribers/{msisdn}:erase', sub), { reason: reason.trim() });
    const done = notice('ok', t('sub.erased', r.member, r.rows));
    done.id = 'erased';
    fill(out, done);
  } catch (err) { out.prepend(notice('error', err.message)); }
}

async function loadHistory(card, sub, lang) {
  try {
    const { events } = await api('GET', path('/api/v1/subscribers/{msisdn}/history', sub));
    card.append(table([t('hist.when'), t('hist.what'), t('hist.detail')],
      events.map((e) => [when(e.at, lang), t('hist.' + e.what), e.detail]), 'history'));
  } catch (err) { card.append(notice('error', err.message)); }
}

function fact(label, value, cls) {
  return [h('dt', label), h('dd', { class: cls || null }, value)];
}

function adjust(sub, ctx, refresh) {
  const points = h('input#points', { type: 'number', required: true, step: 1 });
  const kind = h('select#kind', h('option', { value: 'bonus' }, t('pts.bonus')), h('option', { value: 'qualifying' }, t('pts.qualifying')));
  const reason = h('input#reason', { type: 'text', required: true, maxlength: 500 });
  const msg = h('div');
  // One key per form: a double click or a retried request books once.
  let key = randomKey();
  return h('section.card', h('h2', t('adj.title')), h('form.row', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const body = { kind: kind.value, points: Number(points.value), reason: reason.value.trim(), idempotency_key: 'console-' + key };
        await api('POST', path('/api/v1/subscribers/{msisdn}/points', sub), body);
        key = randomKey();
        refresh();
      } catch (err) {
        fill(msg, notice('error', err.reason === 'insufficient_points' ? t('adj.insufficient') : err.message));
      }
    },
  }, field(t('adj.points'), points), field(t('adj.kind'), kind), field(t('adj.reason'), reason),
  h('button', { type: 'submit' }, t('adj.go'))), h('p.muted', t('adj.help')), msg);
}

async function loadLedger(card, sub, lang) {
  try {
    const { entries } = await api('GET', path('/api/v1/subscribers/{msisdn}/ledger', sub) + '?limit=50');
    card.append(table([t('ledger.when'), t('ledger.points'), t('ledger.kind'), t('ledger.reason'), t('ledger.expires')],
      entries.map((e) => [when(e.earned_at, lang), h('span', { class: e.points < 0 ? 'neg' : 'pos' }, num(e.points, lang)),
        e.kind, e.reason, e.expires_at ? when(e.expires_at, lang) : '—']), 'ledger'));
  } catch (err) { card.append(notice('error', err.message)); }
}

async function loadMessages(card, msisdn, lang) {
  try {
    const { messages } = await api('GET', '/api/v1/messages?limit=20&msisdn=' + encodeURIComponent(msisdn));
    card.append(table([t('msg.when'), t('msg.text'), t('msg.status')],
      messages.map((m) => [when(m.created_at, lang), m.text, t('status.' + m.status)]), 'messages'));
  } catch (err) { card.append(notice('error', err.message)); }
}

/** A table, or a line saying there is nothing. */
export function table(head, rows, id) {
  if (!rows.length) return h('p.muted', t('empty'));
  return h('table', { id: id || null }, h('thead', h('tr', head.map((x) => h('th', x)))),
    h('tbody', rows.map((r) => h('tr', r.map((c) => h('td', c))))));
}
