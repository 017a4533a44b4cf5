// Customer care's inbox: what subscribers texted GY to the short code, open
// items first (oldest questions are not buried under new ones: each list is
// newest first, but the open list comes before the answered one). An open
// item has a reply box; the answer goes out by SMS once (the server refuses
// a second, so two agents on one item cannot both send), and the card then
// shows it. New items are looked for every fifteen seconds; cards already
// shown are left alone, so a reply being typed is never wiped.
import { h, fill, field, when, notice } from '../dom.js';
import { api, path } from '../api.js';
import { t } from '../i18n.js';

const PAGE = 50;

export default {
  id: 'feedback',
  title: 'nav.feedback',
  needs: [['GET', '/api/v1/feedback'], ['POST', '/api/v1/feedback/{id}:reply']],
  render(el, ctx) {
    const open = h('div#feedback-open.stack');
    const answered = h('div#feedback-answered.stack');
    const more = h('button.small#feedback-more', { type: 'button', hidden: true }, t('fb.more'));
    const msg = h('div');
    const none = h('p.muted#feedback-none', t('fb.none'));
    const cards = new Map(); // id → card
    const canReply = ctx.features.can('POST', '/api/v1/feedback/{id}:reply');
    // show puts f's card in its list, newest first; an open card that is
    // already shown is redrawn only once it is answered.
    const show = (f) => {
      let card = cards.get(f.id);
      if (card && card.dataset.status === f.status) return;
      if (card) card.remove();
      card = h('section.card.feedback', { dataset: { id: f.id, status: f.status } });
      cards.set(f.id, card);
      const list = f.status === 'open' ? open : answered;
      const after = [...list.children].find((x) => Number(x.dataset.id) < f.id);
      list.insertBefore(card, after || null);
      fill(card, itemView(f, ctx, canReply && f.status === 'open', show, reload));
      none.hidden = open.children.length > 0;
    };
    let next; // the cursor of the next older page of answered items
    const load = async (status, before) => {
      const q = new URLSearchParams({ status, limit: String(PAGE) });
      if (before) q.set('before', before);
      const r = await api('GET', '/api/v1/feedback?' + q);
      r.feedback.forEach(show);
      return r.next;
    };
    const reload = async () => {
      try {
        await load('open');
        const n = await load('answered');
        if (next === undefined) next = n;
        more.hidden = !next;
        fill(msg, !cards.size && h('p.muted', t('empty')));
      } catch (err) { fill(msg, notice('error', err.message)); }
    };
    more.addEventListener('click', async () => {
      try {
        next = await load('answered', next);
        more.hidden = !next;
      } catch (err) { fill(msg, notice('error', err.message)); }
    });
    el.append(h('p.muted', t('fb.help')), msg, h('h2', t('fb.open')), none, open, h('h2', t('fb.answered')), answered, more);
    reload();
    const timer = setInterval(reload, 15_000);
    return () => clearInterval(timer);
  },
};

function itemView(f, ctx, canReply, show, reload) {
  const head = [
    h('h3', f.msisdn, ' ', h('span.badge.' + (f.status === 'open' ? 'paused' : 'done'), t('fb.status.' + f.status))),
    h('p.muted', when(f.received_at, ctx.lang)),
    h('blockquote.text', f.text),
  ];
  if (f.status === 'answered') {
    return [...head, h('div.reply', h('p.muted', t('fb.by', f.replied_by, when(f.replied_at, ctx.lang))), h('p.reply-text', f.reply))];
  }
  if (!canReply) return head;
  const text = h('textarea.reply-box', { rows: 3, required: true, maxlength: 900, 'aria-label': t('fb.reply') });
  const msg = h('div');
  const send = h('button', { type: 'submit' }, t('fb.send'));
  return [...head, h('form.reply-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      send.disabled = true;
      try {
        show(await api('POST', path('/api/v1/feedback/{id}:reply', f), { text: text.value }));
      } catch (err) {
        send.disabled = false;
        fill(msg, notice('error', err.code === 'conflict' ? t('fb.conflict') : err.message));
        if (err.code === 'conflict') reload();
      }
    },
  }, field(t('fb.reply'), text), msg, send)];
}
