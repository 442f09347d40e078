// WCAG 2.1 A/AA checks (axe-core) of the site's main pages in headless chromium.
// Answer: {"pages": [{"path", "status", "skipped"?, "violations": [{id, impact, help,
// helpUrl, nodes: [{target, html, summary}]}]}]}
import { createRequire } from 'node:module';
import { args, run } from './lib.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PAGES = [
  { path: '/?q=f%C3%B8dselsvekt', name: 'search' },
  { path: '/variables/mfr/mfr/VEKT', name: 'variable' },
  { path: '/datasets/mfr/mfr', name: 'dataset' },
  { path: '/registers', name: 'registers' },
  { path: '/code-lists?uri=https%3A%2F%2Fdata.ssb.no%2Fapi%2Fklass%2Fv1%2Fclassifications%2F104', name: 'code list' },
  { path: '/?from=2010&to=2000', name: 'search with a problem', expected: 422 },
  // The list page may not be in this build yet: a 404 there is reported as skipped.
  { path: '/list', name: 'list', optional: true, prepare: addOneVariable },
  { path: '/login', name: 'login' },
  { path: '/id/codelist/mfr/mfr/KJONN/Kvinne', name: 'resource' },
  { path: '/sources/mfr/quality', name: 'quality' },
  // From here on logged in (through the login form) as the demo server's admin.
  { path: '/account', name: 'account', prepare: logIn },
  { path: '/admin/accounts', name: 'accounts' },
  { path: '/admin/audit', name: 'audit' },
  { path: '/sources/mfr/publish', name: 'publish' },
  { path: '/curation', name: 'curation', optional: true },
];

// Logs in the way a person does: the login form, filled in and sent.
async function logIn(page, base) {
  const [account, password] = (process.env.A11Y_LOGIN || ':').split(':');
  await page.goto(`${base}/login`);
  await page.fill('#login-name', account);
  await page.fill('#login-password', password);
  await Promise.all([page.waitForURL(`${base}/account`), page.click('form.login button[type=submit]')]);
  return 200;
}

// So the list page is checked with an item in it (its forms are most of the page): add a
// variable the way the variable page's form does. Nothing happens if lists are not there.
async function addOneVariable(page, base) {
  const response = await page.request.post(`${base}/list/items`, {
    form: { variable: 'mfr/mfr/VEKT' }, headers: { origin: base }, maxRedirects: 0,
  });
  return response.status();
}

const { base, out } = args();
await run(async (browser) => {
  // The site's Content-Security-Policy (script-src 'self') would refuse the injected axe.
  const width = Number(process.env.A11Y_WIDTH || 1280);  // 390: a phone
  const context = await browser.newContext({ bypassCSP: true, viewport: { width, height: 900 } });
  const page = await context.newPage();
  const pages = [];
  for (const { path, name, optional, prepare, expected = 200 } of PAGES) {
    const entry = { name, path, expected };
    if (prepare) entry.prepared = await prepare(page, base);
    const response = await page.goto(base + path, { waitUntil: 'load' });
    entry.status = response ? response.status() : null;
    entry.landed = new URL(page.url()).pathname; // not sent elsewhere (to log in, say)
    if (optional && entry.status === 404) {
      pages.push({ ...entry, skipped: `${path} answers 404: not in this build`, violations: [] });
      continue;
    }
    await page.addScriptTag({ path: AXE });
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
      TAGS,
    );
    entry.violations = result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 300), summary: n.failureSummary })),
    }));
    entry.passes = result.passes ? result.passes.length : undefined;
    pages.push(entry);
  }
  return { tags: TAGS, axe: require('axe-core/package.json').version, out, pages };
});
