// Screenshots for the README, at 1280×900: the search page and a variable page.
// Answer: {"shots": [{"name", "path", "url", "status"}]}
import { join } from 'node:path';
import { args, run } from './lib.mjs';

const SHOTS = [
  { name: 'search', path: '/?q=f%C3%B8dselsvekt' },
  { name: 'variable', path: '/variables/mfr/mfr/VEKT' },
];

const { base, out } = args();
await run(async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'nb-NO' });
  const page = await context.newPage();
  const shots = [];
  for (const { name, path } of SHOTS) {
    const response = await page.goto(base + path, { waitUntil: 'networkidle' });
    // The search box has autofocus: a blinking caret would make every shot differ.
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    const file = join(out, `${name}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    shots.push({ name, url: path, status: response ? response.status() : null, path: file });
  }
  return { shots };
});
