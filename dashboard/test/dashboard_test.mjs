// The dashboard in a real browser (headless Chromium through puppeteer-core): start a
// forecast, watch its progress change live, see the chart with its intervals render; start a
// slow health analysis and cancel it. Run by tests/e2e/dashboard_e2etest.cc against a real
// analysis-server and dashboard/server.mjs.
//
//   node dashboard/test/dashboard_test.mjs DASHBOARD_URL SCREENSHOT.png
// Exit 0 when every check passed; 1 with the reason on stderr.
import puppeteer from 'puppeteer-core';

const [url, screenshot] = process.argv.slice(2);
const fail = (why) => {
  console.error(`dashboard test: ${why}`);
  process.exit(1);
};
if (!url || !screenshot) fail('usage: dashboard_test.mjs URL SCREENSHOT');

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  timeout: 120000,  // a first start builds Chromium's font cache
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 820 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(60000);
  await page.goto(url, { waitUntil: 'networkidle2' });

  // A forecast: progress is seen moving, then the chart renders.
  await page.select('#type', 'SESSION_TYPE_FORECAST');
  await page.click('#start-button');
  const seen = new Set();
  let status = '';
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    status = await page.$eval('#detail-status', (e) => e.textContent).catch(() => '');
    const m = /(\d+)%/.exec(status);
    if (m) seen.add(Number(m[1]));
    if (/^(completed|failed|cancelled)/.test(status)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!status.startsWith('completed')) fail(`the forecast did not complete: "${status}"`);
  const moving = [...seen].filter((p) => p > 0 && p < 100);
  if (moving.length < 2) fail(`progress was not seen moving: ${[...seen].join(', ')}`);
  await page.waitForSelector('#result svg.forecast-chart path', { timeout: 60000 });
  const paths = await page.$$eval('#result svg.forecast-chart path', (p) =>
    p.map((e) => ({ d: e.getAttribute('d'), box: e.getBBox() })));
  if (paths.length !== 3) fail(`the chart has ${paths.length} paths, not 95 % band, 80 % band and line`);
  for (const { d, box } of paths) {
    if (/NaN|undefined/.test(d) || box.width < 100 || box.height < 5) {
      fail(`a chart path is not drawn: ${d.slice(0, 80)} (${box.width}x${box.height})`);
    }
  }
  const stages = await page.$$eval('#stages li', (li) => li.map((e) => e.textContent));
  if (stages.length < 3) fail(`too few stages shown: ${stages.join(', ')}`);
  const row = await page.$eval('#sessions tr.selected .status', (e) => e.textContent);
  if (row !== 'completed') fail(`the list row says "${row}"`);

  // A health analysis, cancelled from its row while it runs.
  await page.select('#type', 'SESSION_TYPE_HEALTH_ANALYSIS');
  await page.click('#start-button');
  await page.waitForSelector('#sessions tr.selected button.cancel', { timeout: 60000 });
  await page.waitForFunction(
    () => /running/.test(document.querySelector('#detail-status')?.textContent || ''), { timeout: 60000 });
  await page.click('#sessions tr.selected button.cancel');
  await page.waitForFunction(
    () => document.querySelector('#sessions tr.selected .status')?.textContent === 'cancelled',
    { timeout: 60000 });

  // Back to the forecast for the picture.
  await page.click('#sessions tr:nth-child(2)');
  await page.waitForSelector('#result svg.forecast-chart', { timeout: 60000 });
  await page.screenshot({ path: screenshot, fullPage: true });
  if (errors.length) fail(`errors in the page: ${errors.join('; ')}`);
  console.log(`dashboard test: ok (progress seen at ${moving.sort((a, b) => a - b).join(', ')} %; ` +
    `${stages.length} stages; screenshot ${screenshot})`);
} finally {
  await browser.close();
}
