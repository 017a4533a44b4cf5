// Browser tests of the Care360 console: Debian's chromium driven by
// playwright-core against the real program, which cmd/care360's
// TestConsoleBrowser starts (on port 0, with the SMSC simulator and a
// Postgres of its own) and describes in the environment:
//
//   CONSOLE_URL     the program's HTTP address
//   CONSOLE_TOKEN   the built-in admin token
//   CONSOLE_MSISDN  a member with points, in national form (0903…)
//   CONSOLE_SHOTS   where screenshots go
//   CONSOLE_SIM     the SMSC simulator's control API: the phone's side of SMS
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Steps run in order, as an operator would work: they share the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const URL = process.env.CONSOLE_URL;
const TOKEN = process.env.CONSOLE_TOKEN;
const MSISDN = process.env.CONSOLE_MSISDN || '0903123456';
const SHOTS = process.env.CONSOLE_SHOTS || '/tmp/care360-console-shots';
const SIM = process.env.CONSOLE_SIM;
const CANON = '84' + MSISDN.replace(/^0/, '');
if (!URL || !TOKEN) throw new Error('CONSOLE_URL and CONSOLE_TOKEN are required (run through go test ./cmd/care360 -run TestConsoleBrowser)');
mkdirSync(SHOTS, { recursive: true });

let browser;
const errors = []; // console errors and failed requests of every page: none expected

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // The machine's network is closed: no background calls, no component updates.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

/** A new signed-out tab (its own sessionStorage), watched for errors. */
async function newPage(lang = 'vi') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  await ctx.addInitScript((l) => localStorage.setItem('care360.lang', l), lang);
  const page = await ctx.newPage();
  // Generous: a CI machine running every other suite at once is slow, and
  // the limit only decides how long a failure takes.
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`); });
  return page;
}

async function signIn(page, token) {
  await page.goto(URL + '/');
  await page.fill('#token', token);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('#nav a');
}

const navLinks = (page) => page.$$eval('#nav a', (as) => as.map((a) => a.dataset.page));
const shot = (page, name) => page.screenshot({ path: join(SHOTS, name + '.png') });

let admin;      // the admin's tab
let support;    // a support agent's tab
let supportName;

test('sign in with the admin token; a wrong token is refused', async () => {
  admin = await newPage();
  await admin.goto(URL + '/');
  await admin.fill('#token', 'not-the-token');
  await admin.click('form.login button[type=submit]');
  await admin.waitForSelector('.notice.error');
  await signIn(admin, TOKEN);
  const links = await navLinks(admin);
  for (const p of ['dashboard', 'subscribers', 'emulator', 'reports', 'audit', 'staff']) assert.ok(links.includes(p), `admin menu lacks ${p}: ${links}`);
  // Staff land on the operations dashboard.
  await admin.waitForSelector('[data-page="dashboard"] [data-figure="binds_up"]');
  assert.match(await admin.textContent('#me'), /admin/);
});

test('the admin creates a support account; its token is shown once', async () => {
  await admin.goto(URL + '/#/staff');
  supportName = 'Nguyễn Thị Lan ' + (Date.now() % 1000);
  await admin.fill('#staff-name', supportName);
  await admin.selectOption('#staff-role', 'support');
  await admin.click('form.card.row button[type=submit]');
  const token = await admin.inputValue('#new-token');
  assert.match(token, /^c360s_\d+_/);
  await admin.waitForSelector(`#staff-list td:text("${supportName}")`);
  support = await newPage();
  await signIn(support, token);
});

test('support sees only what the role may use', async () => {
  const links = await navLinks(support);
  assert.ok(links.includes('subscribers') && links.includes('emulator'), `support menu: ${links}`);
  assert.ok(links.includes('feedback'), `support menu lacks feedback: ${links}`);
  for (const p of ['staff', 'audit', 'campaigns', 'reports']) assert.ok(!links.includes(p), `support menu has ${p}: ${links}`);
  await support.goto(URL + '/#/staff');
  await support.waitForSelector('.notice.unavailable');
});

test('support looks a subscriber up and adjusts points with a reason', async () => {
  await support.goto(URL + '/#/subscribers');
  await support.fill('#msisdn', MSISDN);
  await support.click('form.row button[type=submit]');
  await support.waitForSelector('#subscriber dd.spendable');
  const spendable = async () => Number((await support.textContent('#subscriber dd.spendable')).replace(/\D/g, ''));
  const before = await spendable();
  await support.waitForSelector('#ledger tbody tr');
  await support.fill('#points', '500');
  await support.selectOption('#kind', 'bonus');
  await support.fill('#reason', 'Xin lỗi vì cuộc gọi bị rớt');
  await support.click('#subscriber form.row button[type=submit]');
  await support.waitForFunction((want) => Number(document.querySelector('#subscriber dd.spendable')?.textContent.replace(/\D/g, '')) === want, before + 500);
  await support.waitForSelector('#ledger td:text("Xin lỗi vì cuộc gọi bị rớt")');
  await shot(support, 'subscriber');
});

/** Calls the simulator's control API (the handset's side of SMS). */
async function sim(method, p, body) {
  const res = await fetch(SIM + p, { method, headers: { 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

test('a feedback texted by SMS shows in the inbox; the answer reaches the phone', async (t) => {
  if (!SIM) return t.skip('CONSOLE_SIM is not set');
  if (await unavailable(support, 'feedback')) return t.skip('no feedback API on this server');
  const words = 'Cửa hàng Hà Đông đóng cửa sớm quá ' + (Date.now() % 1000);
  // Status 0 is the gateway's deliver_sm_resp: the item is stored by then.
  assert.equal((await sim('POST', '/v1/mo', { from: MSISDN, text: 'GY ' + words })).status, 0);
  await support.goto(URL + '/#/feedback?' + Date.now()); // a new hash: the page reads the inbox again
  const card = support.locator('#feedback-open section.feedback', { hasText: words });
  await card.waitFor();
  assert.match(await card.textContent(), new RegExp(CANON));
  const answer = 'Cam on quy khach, cua hang Ha Dong mo cua den 21h tu tuan sau.';
  await card.locator('textarea.reply-box').fill(answer);
  await card.locator('button[type=submit]').click();
  const done = support.locator('#feedback-answered section.feedback', { hasText: words });
  await done.waitFor();
  assert.ok((await done.textContent()).includes(answer), 'the card shows the answer');
  assert.ok((await done.textContent()).includes(supportName), 'the card says who answered');
  assert.equal(await done.locator('textarea').count(), 0, 'an answered item has no reply box');
  await shot(support, 'feedback');
  // The handset: the acknowledgement, then the answer.
  const deadline = Date.now() + 20_000;
  let texts = [];
  while (Date.now() < deadline) {
    texts = (await sim('GET', '/v1/messages?msisdn=' + CANON)).messages.map((m) => m.text);
    if (texts.includes(answer)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(texts.includes(answer), `the phone has ${JSON.stringify(texts)}`);
  assert.ok(texts.some((x) => /da nhan gop y/.test(x)), 'the GY was acknowledged');
});

test('the phone emulator (admins only on a member) dials *090# and walks to the points screen', async () => {
  await admin.goto(URL + '/#/emulator?msisdn=' + MSISDN);
  assert.equal(await admin.inputValue('#phone-input'), '*090#');
  await admin.click('#phone-send');
  await admin.waitForFunction(() => document.querySelector('#phone-screen').textContent.startsWith('MobiFone Care360'));
  await admin.click('.keypad [data-key="1"]');
  await admin.click('#phone-send');
  await admin.waitForFunction(() => /Diem kha dung|Điểm khả dụng|Spendable/.test(document.querySelector('#phone-screen').textContent));
  assert.match(await admin.textContent('#phone-status'), /kết thúc|ended/);
  await admin.waitForSelector('#phone-sms');
  await shot(admin, 'emulator');
});

test('the admin sees the support agent\'s change in the audit log', async () => {
  await admin.goto(URL + '/#/audit');
  await admin.fill('#audit-target', CANON);
  await admin.click('form.row button[type=submit]');
  await admin.waitForSelector(`#audit-rows td:text("${supportName}")`);
  const row = admin.locator('#audit-rows tr', { hasText: 'points.change' }).first();
  await row.locator('summary').click();
  assert.match(await row.textContent(), /Xin lỗi vì cuộc gọi bị rớt/);
  assert.ok(await admin.locator('#audit-rows code', { hasText: 'emulator.dial' }).count() >= 1, 'emulator steps are audited');
  await shot(admin, 'audit');
});

/**
 * Types text on the emulator's phone (null: send what is there, the dialled
 * code) and waits until the gateway has answered that step: the phone counts
 * its replies, so an answer that reads like the screen before still counts.
 */
async function press(page, text) {
  await page.waitForSelector('#phone-send');
  const before = await page.$eval('#phone', (p) => Number(p.dataset.replies || 0));
  if (text !== null) await page.fill('#phone-input', text);
  await page.click('#phone-send');
  await page.waitForFunction((n) => Number(document.querySelector('#phone').dataset.replies || 0) > n, before);
}

/** True when the page says its API is not on this server (and says which). */
async function unavailable(page, id) {
  await page.goto(URL + '/#/' + id);
  await page.waitForSelector('main .page, main .notice.unavailable');
  const note = await page.$('main .notice.unavailable');
  if (note) console.log(`# ${id}: ${await note.textContent()}`);
  return !!note;
}

test('a gift with a code pool, claimed on the phone, its code sent by SMS', async (t) => {
  if (await unavailable(admin, 'gifts')) return t.skip('no gifts API on this server');
  const name = 'Voucher Highlands ' + Date.now() % 100000;
  await admin.fill('#gift-name', name);
  await admin.fill('#gift-name-en', 'Highlands voucher');
  await admin.selectOption('#gift-kind', 'voucher');
  await admin.selectOption('#gift-occasion', '');
  await admin.fill('#gift-cost', '100');
  await admin.click('#gift-form button[type=submit]');
  await admin.waitForSelector(`#gift-list td:text("${name}")`);
  const giftValue = await admin.$eval('#codes-gift', (s, n) => [...s.options].find((o) => o.text.includes(n))?.value, name);
  assert.ok(giftValue, 'the new voucher is offered for codes');
  await admin.selectOption('#codes-gift', giftValue);
  await admin.fill('#codes-text', 'HL-0001\nHL-0002\nHL-0003');
  await admin.click('#codes-form button[type=submit]');
  await admin.waitForSelector('#codes-form .notice.ok');
  assert.match(await admin.textContent('#codes-form .notice.ok'), /3/);

  await admin.goto(URL + '/#/emulator?msisdn=' + MSISDN);
  const screen = () => admin.textContent('#phone-screen');
  await press(admin, null);
  assert.match(await screen(), /^MobiFone Care360/);
  await press(admin, '2');
  // Page through the gifts until ours shows, then choose it and confirm.
  let item = null;
  for (let page = 0; page < 6 && !item; page++) {
    const m = (await screen()).match(new RegExp(`(\\d+)\\. [^\\n]*${name.split(' ')[0]}`));
    if (m) item = m[1];
    else await press(admin, '99');
  }
  assert.ok(item, `the gift is not on the gifts screen: ${await screen()}`);
  await press(admin, item);
  await press(admin, '1');
  assert.match(await admin.textContent('#phone-status'), /kết thúc|ended/, await screen());
  await admin.waitForFunction(() => /HL-000\d/.test(document.querySelector('#phone-sms')?.textContent || ''), null, { timeout: 15_000 });
  await shot(admin, 'claim');
});

test('a campaign is created and its progress watched until delivered', async (t) => {
  if (await unavailable(admin, 'campaigns')) return t.skip('no campaigns API on this server');
  await admin.fill('#camp-name', 'Chúc mừng sinh nhật');
  await admin.fill('#camp-text', 'Chuc mung sinh nhat! Bam *090*2# de nhan qua.');
  await admin.fill('#camp-msisdns', MSISDN);
  await admin.click('#campaign-form button[type=submit]');
  await admin.waitForSelector('#campaign-form .notice.ok');
  const card = admin.locator('#campaigns section.campaign').first();
  await card.waitFor();
  // Polled every 2 s: queued, then sent, then delivered once the receipt is in.
  await admin.waitForFunction(() => document.querySelector('#campaigns section.campaign [data-count="delivered"]')?.textContent === '1', null, { timeout: 20_000 });
  await admin.screenshot({ path: join(SHOTS, 'campaigns.png'), fullPage: true });
  // The list is the server's: another browser, which has nothing of this
  // one's, shows the campaign with the same progress; and none keeps ids.
  const other = await newPage();
  await signIn(other, TOKEN);
  await other.goto(URL + '/#/campaigns');
  const listed = other.locator('#campaigns section.campaign', { hasText: 'Chúc mừng sinh nhật' });
  await listed.waitFor();
  assert.equal(await listed.locator('[data-count="delivered"]').textContent(), '1');
  for (const page of [admin, other]) {
    assert.equal(await page.evaluate(() => localStorage.getItem('care360.campaigns')), null, 'campaign ids kept in localStorage');
  }
  await other.context().close();
});

test('a USSD notification is pushed to a member and its outcome shows; a bad number is refused', async (t) => {
  if (await unavailable(admin, 'pushes')) return t.skip('no pushes API on this server');
  await admin.fill('#push-msisdn', 'not-a-number');
  await admin.fill('#push-text', 'Diem cua quy khach sap het han');
  await admin.click('#push-form button[type=submit]');
  const bad = await admin.waitForSelector('#push-form .notice.error');
  assert.match(await bad.textContent(), /msisdn/);
  await admin.fill('#push-msisdn', MSISDN);
  await admin.click('#push-form button[type=submit]');
  await admin.waitForSelector('#push-form .notice.ok');
  await admin.locator('#pushes section.push').first().waitFor();
  // Polled every 2 s: the simulator's phone acknowledges the notification
  // as soon as the gateway's pusher sends it.
  await admin.waitForFunction(() => document.querySelector('#pushes section.push [data-count="completed"]')?.textContent === '1', null, { timeout: 20_000 });
  await admin.screenshot({ path: join(SHOTS, 'pushes.png'), fullPage: true });
});

test('the dashboard moves while a phone dials, without a reload', async () => {
  await admin.goto(URL + '/#/');
  await admin.waitForSelector('[data-page="dashboard"] [data-figure="steps_last_hour"]');
  assert.ok(await admin.$('#binds [data-up="true"]'), 'no SMPP bind shown up');
  // The campaign and the gift code of the steps before were delivered.
  await admin.waitForFunction(() => Number(document.querySelector('[data-sms="delivered"]')?.textContent.replace(/\D/g, '')) >= 1,
    null, { timeout: 30_000 });
  const steps = () => admin.$eval('[data-figure="steps_last_hour"]', (e) => Number(e.dataset.value));
  const before = await steps();
  const readings = await admin.$eval('.updated', (e) => Number(e.dataset.readings));
  const phone = await newPage();
  await signIn(phone, TOKEN);
  await phone.goto(URL + '/#/emulator?msisdn=' + MSISDN);
  await press(phone, null);
  await press(phone, '1');
  await phone.context().close();
  // Counted (flushed every 5 s), read (2 s) and polled (5 s) into the open page.
  await admin.waitForFunction((n) => Number(document.querySelector('[data-figure="steps_last_hour"]').dataset.value) >= n + 2,
    before, { timeout: 30_000 });
  assert.ok(await admin.$eval('.updated', (e) => Number(e.dataset.readings)) > readings, 'the page was not refreshed in place');
  assert.ok(await admin.$$eval('[data-part="charts"] svg.chart path.line', (ps) => ps.length) >= 1, 'no USSD chart');
  assert.ok(await admin.$$eval('[data-part="charts"] svg.chart rect.bar', (rs) => rs.length) >= 1, 'no SMS bars');
  assert.ok(await admin.$$eval('#jobs tbody tr', (rs) => rs.length) >= 1, 'no job runs listed');
  await admin.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
});

test('a draw is created, closed and run, and its audit file downloaded', async (t) => {
  if (await unavailable(admin, 'draws')) return t.skip('no draws API on this server');
  await admin.waitForSelector('form.create textarea.json');
  const example = JSON.parse(await admin.inputValue('form.create textarea.json'));
  const now = Date.now();
  example.code = 'T' + (now % 1e6);
  example.name = 'Bốc thăm thử ' + example.code;
  example.opens_at = new Date(now - 60_000).toISOString();
  example.closes_at = new Date(now + 3600_000).toISOString();
  example.idempotency_key = 'browser-' + now;
  await admin.fill('form.create textarea.json', JSON.stringify(example, null, 2));
  await admin.click('form.create button[type=submit]');
  await admin.waitForSelector('form.create .notice.ok');
  const row = admin.locator('tr', { hasText: example.code });
  await row.getByRole('button', { name: /Đóng|Close/ }).click();
  await row.locator('input.witness').waitFor();
  await row.locator('input.witness').fill('3-5-1-6');
  await row.getByRole('button', { name: /Quay thưởng|Run/ }).click();
  await admin.waitForSelector('#draw-msg .notice.ok');
  const download = admin.waitForEvent('download');
  await row.getByRole('button', { name: /hồ sơ|audit/i }).click();
  const file = await (await download).path();
  const audit = JSON.parse(readFileSync(file, 'utf8'));
  assert.ok(JSON.stringify(audit).includes('3-5-1-6'), 'the audit file carries the witness value');
  await shot(admin, 'draws');
});

test('the reports page draws its charts', async () => {
  await admin.goto(URL + '/#/reports');
  await admin.waitForSelector('[data-report="points"] svg.chart');
  await admin.waitForSelector('[data-report="ussd"] svg.chart');
  const bars = await admin.$$eval('[data-report="points"] svg.chart rect.bar', (r) => r.length);
  const lines = await admin.$$eval('[data-report="ussd"] svg.chart path.line', (p) => p.filter((x) => x.getAttribute('d').includes('L')).length);
  assert.ok(bars >= 10, `the points chart has ${bars} bars`);
  assert.ok(lines >= 1, 'the USSD chart has no line');
  // The dials made above show in this hour's count.
  assert.match(await admin.textContent('[data-report="ussd"] .totals'), /[1-9]\d* (lượt gọi|dials)/);
  // The SMS sent above (the voucher code, the campaign) are today's sent and
  // delivered bars, split by kind in the table under the chart.
  await admin.waitForSelector('[data-report="sms"] svg.chart');
  const smsBars = await admin.$$eval('[data-report="sms"] svg.chart rect.bar', (r) => r.length);
  assert.ok(smsBars >= 2, `the SMS chart has ${smsBars} bars`);
  assert.equal(await admin.locator('#sms-kinds tbody tr').count(), 2);
  assert.match(await admin.textContent('[data-report="sms"] .totals'), /đã nhận [1-9]/);
  await admin.screenshot({ path: join(SHOTS, 'reports.png'), fullPage: true });
});

test('the console speaks English too', async () => {
  await admin.click('#lang');
  await admin.waitForSelector('#nav a:text("Reports")');
  await admin.waitForSelector('[data-report="points"] h2:text("Points issued and spent per day")');
  await admin.click('#lang');
  await admin.waitForSelector('#nav a:text("Báo cáo")');
});

test('the funnel shows where dialogues dialled on a real phone went', async (t) => {
  if (!SIM) return t.skip('CONSOLE_SIM is not set');
  if (await unavailable(admin, 'funnel')) return t.skip('no funnel report on this server');
  // A phone on the simulator, over SMPP: the main menu, then the points screen.
  const call = await sim('POST', '/v1/dial', { msisdn: '84904234567', code: '*090#' });
  assert.match(call.screen, /1\./);
  const points = await sim('POST', `/v1/calls/${call.call}/reply`, { text: '1' });
  // A long points screen is paged (Unicode): the phone hangs up on its first page.
  if (!points.end) await sim('POST', `/v1/calls/${call.call}/abort`);
  // Records are written within a second: reload until the main menu shows.
  let rows = 0;
  for (let i = 0; i < 20 && !rows; i++) {
    await admin.goto(URL + '/#/reports');
    await admin.goto(URL + '/#/funnel');
    await admin.waitForSelector('#funnel section.card, #funnel p.muted:not(:empty)');
    rows = await admin.locator('#funnel-table td', { hasText: /^main$/ }).count();
    if (!rows) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(rows >= 1, 'the funnel has no main menu row');
  const bars = await admin.$$eval('#funnel svg.chart rect.bar', (r) => r.length);
  assert.ok(bars >= 2, `the funnel chart has ${bars} bars`);
  await admin.screenshot({ path: join(SHOTS, 'funnel.png'), fullPage: true });
});

test('a member under a SIM-swap hold shows it; the admin exports everything held', async () => {
  // The CRM reports the swap, as the operator's systems would.
  const res = await fetch(URL + '/api/v1/lifecycle', {
    method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify([{ id: 'browser-swap-' + Date.now(), msisdn: '0904234567', event: 'sim_swap', at: new Date().toISOString() }]),
  });
  assert.equal((await res.json()).applied, 1);
  await admin.goto(URL + '/#/subscribers?msisdn=0904234567');
  await admin.waitForSelector('#subscriber #hold');
  assert.match(await admin.textContent('#hold'), /SIM/);
  const download = admin.waitForEvent('download');
  await admin.click('#export');
  const doc = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
  assert.equal(doc.msisdn, '84904234567');
  assert.ok(doc.sections.ledger.length >= 1, 'the export has no ledger');
  assert.equal(doc.sections.lifecycle_events.length, 1);
  // The membership's history: joined, then the swap the CRM reported.
  await admin.waitForSelector('#history');
  const history = await admin.textContent('#history');
  assert.match(history, /member since/);
  assert.match(history, /sim_swap applied/);
  await shot(admin, 'member-hold');
});

test('the admin erases a member after a reason and a confirmation; the number is then unknown', async () => {
  const msisdn = '0903299' + String(Date.now()).slice(-3);
  const put = await fetch(URL + '/api/v1/subscribers/' + msisdn, {
    method: 'PUT', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Erase Me' }),
  });
  assert.equal(put.status, 201);
  await admin.goto(URL + '/#/subscribers?msisdn=' + msisdn);
  await admin.waitForSelector('#subscriber #erase');
  // First the reason is asked, then a confirmation; dismissing changes nothing.
  const dialogs = [];
  const answer = (d) => { dialogs.push(d.type()); d.type() === 'prompt' ? d.accept('DSR-browser-1') : d.accept(); };
  admin.once('dialog', (d) => { dialogs.push(d.type()); d.dismiss(); });
  await admin.click('#erase');
  await admin.waitForTimeout(200);
  assert.equal(await admin.locator('#erased').count(), 0, 'erased without a reason');
  admin.on('dialog', answer);
  await admin.click('#erase');
  await admin.waitForSelector('#erased');
  admin.off('dialog', answer);
  assert.deepEqual(dialogs, ['prompt', 'prompt', 'confirm']);
  assert.match(await admin.textContent('#erased'), /c\d+/);
  const gone = await fetch(URL + '/api/v1/subscribers/' + msisdn, { headers: { Authorization: 'Bearer ' + TOKEN } });
  assert.equal(gone.status, 404);
});

test('no page logged an error', () => {
  assert.deepEqual(errors, []);
});
