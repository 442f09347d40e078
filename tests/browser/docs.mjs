// The API documentation page (/docs, Swagger UI) as a browser shows it under the site's
// Content-Security-Policy. Answer: {"status", "operations", "title", "violations", "errors", "requests"}
import { args, run } from './lib.mjs';

const { base } = args();
await run(async (browser) => {
  const page = await browser.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('request', (request) => requests.push(request.url()));
  page.on('response', (answer) => { if (answer.status() >= 400) errors.push(`${answer.status()} ${answer.url()}`); });
  // Each blocked load or inline script raises this event in the page: collect them there.
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || 'inline'}`));
  });
  const response = await page.goto(`${base}/docs`, { waitUntil: 'networkidle' });
  await page.waitForSelector('.opblock', { timeout: 30_000 }).catch(() => {});
  return {
    status: response ? response.status() : null,
    title: await page.locator('.info .title').first().textContent().catch(() => null),
    operations: await page.locator('.opblock').count(),
    violations: await page.evaluate(() => window.cspViolations),
    errors,
    requests: requests.filter((url) => !url.startsWith(base)),
  };
});
