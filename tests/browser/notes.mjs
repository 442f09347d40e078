// Notes typed into the variable list are never lost. Adds five variables, types a note and
// years into each, and then either presses the "save" button of one item (--save-one) or
// just reloads the page (--leave; with JavaScript only: what is typed is saved as it is
// typed, and what is still unsent goes when the page is left). Reloads and reads the notes.
//
//   node notes.mjs BASE_URL OUT_DIR (--save-one | --leave) [--no-js]
//
// Answer: {"typed": {id: note}, "kept": {id: note as the reloaded page shows it}}
import { args, run } from './lib.mjs';

const ITEMS = 5;
const WAIT = 10_000;  // ms for what is sent on leaving to arrive
const { base } = args();
const javaScript = !process.argv.includes('--no-js');
const leave = process.argv.includes('--leave');

run(async (browser) => {
  const context = await browser.newContext({ javaScriptEnabled: javaScript });
  const page = await context.newPage();
  const found = await (await page.request.get(`${base}/api/variables?q=vekt&size=${ITEMS}`)).json();
  const ids = found.items.map((item) => item.id);
  if (ids.length < ITEMS) throw new Error(`the search finds ${ids.length} variables, not ${ITEMS}`);
  for (const id of ids) {
    const added = await page.request.post(`${base}/list/items`, { form: { variable: id }, headers: { Accept: 'application/json' } });
    if (!added.ok()) throw new Error(`adding ${id} answered ${added.status()}`);
  }
  await page.goto(`${base}/list`);
  const typed = Object.fromEntries(ids.map((id, n) => [id, `Notat ${n + 1}: trengs for søknaden (æøå «${id}» & <tegn>)`]));
  for (const id of ids) {
    const item = page.locator(`li.list-item[data-variable="${id}"]`);
    await item.locator('textarea[name=note]').pressSequentially(typed[id], { delay: 2 });
    await item.locator('input[name=from]').fill('2015');
  }
  if (leave) {
    await page.reload();
    // What left with the page may arrive after the page came back: wait until it has.
    const deadline = Date.now() + WAIT;
    const saved = async () => (await (await page.request.get(`${base}/api/list`)).json()).items
      .filter((item) => item.note === typed[item.variable]).length;
    while ((await saved()) < ITEMS && Date.now() < deadline) await page.waitForTimeout(100);
  } else {
    const third = page.locator(`li.list-item[data-variable="${ids[2]}"] button[name=action][value=save]`);
    await Promise.all([page.waitForNavigation(), third.click()]);
  }
  await page.goto(`${base}/list`);
  const kept = {};
  for (const id of ids) {
    kept[id] = await page.locator(`li.list-item[data-variable="${id}"] textarea[name=note]`).inputValue();
  }
  return { typed, kept };
});
