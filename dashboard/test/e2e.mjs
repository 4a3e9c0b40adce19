// Headless browser test of the dashboard against a running gateway.
// Env: DASHBOARD_URL (e.g. http://127.0.0.1:8095/dashboard/), DASHBOARD_TOKEN (a valid JWT),
// optional CHROMIUM_PATH (default /usr/bin/chromium). Saves dashboard/screenshot.png.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
if (!url || !token) {
  console.error('dashboard e2e: set DASHBOARD_URL and DASHBOARD_TOKEN');
  console.log('dashboard e2e: 0 passed, 1 failed');
  process.exit(2);
}
const screenshot = fileURLToPath(new URL('../screenshot.png', import.meta.url));
const familyScreenshot = fileURLToPath(new URL('../screenshot-family.png', import.meta.url));
const destinationsScreenshot = fileURLToPath(new URL('../screenshot-destinations.png', import.meta.url));
const TIMEOUT = 30_000;

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   - ${name}`);
  } catch (err) {
    failed++;
    // never echo the token, even inside an error message
    console.log(`FAIL - ${name}: ${String(err && err.message || err).split(token).join('<token>')}`);
  }
}
// Clicks a button and waits for the status line to settle; returns its class and text.
async function press(page, selector, status = '#status') {
  await page.evaluate((id) => {
    const s = document.querySelector(id);
    s.textContent = '';
    s.className = '';
  }, status);
  await page.click(selector);
  await page.waitForFunction((id) => {
    const s = document.querySelector(id);
    return s.textContent !== '' && s.className !== 'busy';
  }, status);
  return page.$eval(status, (s) => ({ kind: s.className, text: s.textContent }));
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'cdrstats-e2e-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 960 },
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  const jsErrors = [];
  const consoleText = [];
  page.on('pageerror', (e) => jsErrors.push(e.message));
  page.on('console', (m) => {
    consoleText.push(m.text());
    // API error answers are expected here; failed page assets are caught by the 'response' hook
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) jsErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (!r.url().includes('/api/') && r.status() >= 400) jsErrors.push(`${r.status()} ${r.url()}`);
  });

  await check('page loads', async () => {
    const resp = await page.goto(url, { waitUntil: 'load' });
    assert(resp && resp.ok(), `GET ${url} answered ${resp && resp.status()}`);
    assert((await page.title()).includes('cdrstats'), 'unexpected title');
    assert(await page.evaluate(() => typeof window.uPlot === 'function'), 'uPlot not loaded');
  });

  await check('load accounts fills the account list', async () => {
    await page.fill('#token', token);
    const st = await press(page, '#load-accounts');
    assert(st.kind === 'ok' && /accounts? loaded/.test(st.text), `status: ${st.text}`);
    const first = await page.$eval('#account', (s) => s.options[0] && s.options[0].value);
    assert(/^[0-9a-f-]{36}$/.test(first || ''), `first option is not an account uuid: ${first}`);
  });

  await check('token is kept in sessionStorage', async () => {
    const stored = await page.evaluate(() => sessionStorage.getItem('cdrstats.token'));
    assert(stored === token, 'token not in sessionStorage');
  });

  await check('last 24 h, hourly: four charts with data and totals > 0', async () => {
    await page.selectOption('#account', { index: 0 });
    await page.selectOption('#endpoint', 'termination-statistics-quality');
    await page.selectOption('#range', '86400');
    await page.selectOption('#sampling', 'hour');
    const st = await press(page, '#load');
    assert(st.kind === 'ok' && (await page.isVisible('#totals')), `no totals; status: ${st.text}`);
    assert((await page.locator('#charts figure.chart canvas').count()) === 4, 'expected 4 chart canvases');
    const calls = Number(await page.textContent('#totals-total-calls'));
    assert(calls > 0, `total calls not > 0: ${calls}`);
    const labels = await page.$$eval('#charts figure.chart', (fs) => fs.map((f) => f.getAttribute('aria-label')));
    for (const l of labels) assert(/: [1-9]\d* points/.test(l || ''), `chart without points: ${l}`);
    await page.waitForTimeout(300); // let uPlot finish painting
    await page.screenshot({ path: screenshot, fullPage: true });
  });

  await check('origination endpoint loads too', async () => {
    await page.selectOption('#endpoint', 'origination-statistics-quality');
    const st = await press(page, '#load');
    assert(st.kind === 'ok', `status: ${st.text}`);
    assert((await page.locator('#charts figure.chart canvas').count()) === 4, 'expected 4 chart canvases');
    await page.selectOption('#endpoint', 'termination-statistics-quality');
  });

  await check('statistics report: calls, minutes and price per bucket, with totals', async () => {
    await page.selectOption('#endpoint', 'termination-statistics');
    await page.selectOption('#sampling', 'hour');
    const st = await press(page, '#load');
    assert(st.kind === 'ok', `status: ${st.text}`);
    assert((await page.locator('#charts figure.chart canvas').count()) === 3, 'expected 3 chart canvases');
    const price = await page.textContent('#totals-total-price');
    assert(/^\d+\.\d{1,2}$/.test(price || ''), `total price: ${price}`);
    const minutes = Number(await page.textContent('#totals-total-duration'));
    assert(minutes > 0, `minutes not > 0: ${minutes}`);
  });

  await check('week and month are offered for the statistics report only', async () => {
    await page.selectOption('#sampling', 'week');
    const st = await press(page, '#load');
    assert(st.kind === 'ok', `week: ${st.text}`);
    await page.selectOption('#endpoint', 'termination-statistics-quality');
    assert(await page.$eval('#sampling option[value=week]', (o) => o.disabled), 'week enabled for quality');
    assert((await page.inputValue('#sampling')) !== 'week', 'quality kept week sampling');
  });

  await check('active calls: one chart of calls in progress per minute', async () => {
    await page.selectOption('#endpoint', 'origination-active-calls');
    await page.selectOption('#range', '3600');
    assert(!(await page.isVisible('#sampling')), 'sampling shown for active calls');
    const st = await press(page, '#load');
    assert(st.kind === 'ok', `status: ${st.text}`);
    assert((await page.locator('#charts figure.chart canvas').count()) === 1, 'expected 1 chart canvas');
  });

  await check('outgoing active calls fill the table', async () => {
    const st = await press(page, '#load-outgoing', '#outgoing-status');
    console.log(`     (outgoing: ${st.text})`);
    // An account may have no call in the newest snapshot: then the message says so.
    assert(['ok', 'warn'].includes(st.kind), `status: ${st.text}`);
    if (st.kind === 'ok') {
      const rows = await page.locator('#outgoing tbody tr').count();
      assert(rows > 0 && st.text.startsWith(String(rows)), `${rows} rows, status: ${st.text}`);
      const head = await page.$$eval('#outgoing thead th', (ths) => ths.map((t) => t.textContent));
      assert(head.includes('connect time') && head.includes('auth orig ip'), `head: ${head}`);
      await page.waitForTimeout(300);
      await page.screenshot({ path: familyScreenshot, fullPage: true });
    }
    await page.selectOption('#range', '86400');
    await page.selectOption('#endpoint', 'termination-statistics-quality');
    await page.selectOption('#sampling', 'hour');
  });

  await check('destinations: top-N bars with ghost bars of the previous period and a sortable table', async () => {
    await page.selectOption('#bd-side', 'termination');
    await page.selectOption('#bd-by', 'dst-country');
    await page.selectOption('#bd-metric', 'total_calls');
    await page.selectOption('#bd-limit', '5');
    await page.check('#bd-compare');
    const st = await press(page, '#load-breakdown', '#breakdown-status');
    assert(st.kind === 'ok', `status: ${st.text}`);
    const bars = await page.locator('#breakdown-bars .bar').count();
    const ghosts = await page.locator('#breakdown-bars .ghost').count();
    const rows = await page.locator('#breakdown tbody tr').count();
    assert(bars > 0 && bars <= 6 && ghosts === bars && rows === bars, `${bars} bars, ${ghosts} ghosts, ${rows} rows`);
    const calls = async () => page.$$eval('#breakdown tbody tr:not(.other) td:nth-child(2)', (tds) => tds.map((t) => Number(t.textContent)));
    const before = await calls();
    assert(before.every((v, i) => i === 0 || before[i - 1] >= v), `not descending: ${before}`);
    await page.click('#breakdown thead th:nth-child(2) button'); // total calls: same column again → ascending
    const after = await calls();
    assert(after.every((v, i) => i === 0 || after[i - 1] <= v), `not ascending after a click: ${after}`);
    assert(/^#breakdown\?.*by=dst-country/.test(await page.evaluate(() => location.hash)), 'state not in the address');
    await page.waitForTimeout(200);
    await page.screenshot({ path: destinationsScreenshot, fullPage: true });
  });

  await check('destinations deep link: the address reopens the view and loads it', async () => {
    await page.selectOption('#bd-by', 'disconnect-code');
    await page.selectOption('#bd-metric', 'failed_calls');
    await press(page, '#load-breakdown', '#breakdown-status');
    const link = await page.evaluate(() => location.href);
    await page.goto('about:blank');
    await page.goto(link, { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const s = document.querySelector('#breakdown-status');
      return s.textContent !== '' && s.className !== 'busy';
    });
    assert((await page.inputValue('#bd-by')) === 'disconnect-code', 'dimension not restored');
    assert((await page.inputValue('#bd-metric')) === 'failed_calls', 'metric not restored');
    const st = await page.$eval('#breakdown-status', (s) => ({ kind: s.className, text: s.textContent }));
    assert(st.kind === 'ok', `status: ${st.text}`);
    const head = await page.$$eval('#breakdown thead th', (ths) => ths.map((t) => t.textContent));
    assert(head[0].startsWith('disconnect code') && head[1].startsWith('disconnect reason'), `head: ${head}`);
    // Back to the page as the later checks expect it: no view in the address, accounts loaded.
    await page.fill('#account-id', '');
    await page.evaluate(() => history.replaceState(null, '', location.pathname));
    await press(page, '#load-accounts');
    await page.selectOption('#account', { index: 0 });
  });

  await check('400 shows the gateway error text', async () => {
    await page.fill('#account-id', 'not-a-uuid');
    const st = await press(page, '#load');
    assert(st.kind === 'error' && /^Bad request: .+/.test(st.text), `unexpected message: ${st.text}`);
    await page.fill('#account-id', '');
  });

  await check('future range answers a clear "no data" message', async () => {
    await page.selectOption('#range', 'custom');
    // the browser runs in UTC (timezoneId above), so a UTC wall-clock time is its local time
    await page.fill('#from', new Date(Date.now() + 2 * 86400_000).toISOString().slice(0, 16));
    await page.fill('#to', '');
    const st = await press(page, '#load');
    assert(st.kind === 'warn' && /No data|No calls/.test(st.text), `unexpected message: ${st.text}`);
    await page.selectOption('#range', '86400');
  });

  await check('bad token shows "token rejected"', async () => {
    await page.fill('#token', 'not.a.valid-token');
    for (const button of ['#load-accounts', '#load']) {
      const st = await press(page, button);
      assert(st.kind === 'error' && /token rejected/i.test(st.text), `${button}: ${st.text}`);
    }
  });

  await check('no JavaScript errors or missing assets, token never logged', async () => {
    assert(jsErrors.length === 0, `JS errors: ${jsErrors.join(' | ')}`);
    assert(!consoleText.some((t) => t.includes(token)), 'token appeared in the console');
  });
} catch (err) {
  failed++;
  console.log(`FAIL - browser: ${err && err.message || err}`);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(`dashboard e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
