// The documentation's screenshots of the demo programme: run `make run`,
// then `node console-test/demo-shots.mjs` (CONSOLE_URL, default
// http://localhost:8080; CONSOLE_TOKEN, default dev-token; CONSOLE_SHOTS,
// default docs/). It walks the phone emulator through the demo member's
// menus as a newcomer would, and shoots the walk and the dashboard it moved.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const URL = process.env.CONSOLE_URL || 'http://localhost:8080';
const TOKEN = process.env.CONSOLE_TOKEN || 'dev-token';
const SHOTS = process.env.CONSOLE_SHOTS || 'docs';
const MSISDN = '0903123456'; // the demo's Kim cương member

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await ctx.addInitScript(() => localStorage.setItem('care360.lang', 'en'));
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(URL + '/');
  await page.fill('#token', TOKEN);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('#nav a');

  const press = async (text) => {
    const before = await page.$eval('#phone', (p) => Number(p.dataset.replies || 0));
    if (text !== null) await page.fill('#phone-input', text);
    await page.click('#phone-send');
    await page.waitForFunction((n) => Number(document.querySelector('#phone').dataset.replies || 0) > n, before);
  };
  // One member may dial 10 times a minute (5 at once): the walk keeps to it.
  let dials = 0;
  const walk = async (...answers) => {
    if (dials++ >= 4) await new Promise((r) => setTimeout(r, 6500));
    // A fresh page each time: a new dial, not an answer to the last screen.
    await page.goto(URL + '/#/emulator?msisdn=' + MSISDN);
    await page.reload();
    await page.waitForSelector('#phone-send');
    await press('*090#');
    for (const a of answers) await press(a);
    // A newcomer must see content, never an empty list or a refusal.
    const screen = await page.textContent('#phone-screen');
    if (/chua co|qua nhieu lan|khong dung|gian doan/i.test(screen)) throw new Error(`walk ${answers}: ${screen}`);
  };
  // Every item of the main menu once, then the gifts screen for the picture.
  for (const item of ['1', '3', '4', '5', '6', '8']) await walk(item);
  await walk('2');
  await page.screenshot({ path: join(SHOTS, 'demo-walk.png') });

  await page.goto(URL + '/#/dashboard');
  await page.waitForFunction(() => Number(document.querySelector('[data-figure="steps_last_hour"]')?.dataset.value) > 0,
    null, { timeout: 40_000 });
  await page.screenshot({ path: join(SHOTS, 'console-dashboard.png'), fullPage: true });
} finally {
  await browser.close();
}
