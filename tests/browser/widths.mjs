// How wide each page is at a given viewport width: no page may be wider than the screen
// (a wide table scrolls in its own box). Also whether any cell of the explorer's results
// lies over another of its row.
//
//   node widths.mjs BASE_URL OUT_DIR WIDTH
//
// Answer: {"width": n, "pages": [{"path", "status", "scroll_width", "widest": [selector, right edge]}],
//          "covered": [texts of cells that overlap another]}
import { args, run } from './lib.mjs';

const PAGES = ['/', '/?q=f%C3%B8dselsvekt&cols=name,label,description,source,dataset,periods,unit,code_list,publisher,theme',
  '/variables/mfr/mfr/VEKT', '/datasets/mfr/mfr', '/registers', '/list', '/sources', '/sources/mfr',
  '/sources/mfr/quality', '/changes', '/harvests', '/partners', '/login',
  '/code-lists?uri=https%3A%2F%2Fdata.ssb.no%2Fapi%2Fklass%2Fv1%2Fclassifications%2F104'];
const { base } = args();
const width = Number(process.argv[4] || 390);

run(async (browser) => {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  const page = await context.newPage();
  const found = await (await page.request.get(`${base}/api/variables?q=vekt&size=2`)).json();
  for (const item of found.items) {
    await page.request.post(`${base}/list/items`, { form: { variable: item.id }, headers: { Accept: 'application/json' } });
  }
  const pages = [];
  for (const path of PAGES) {
    const response = await page.goto(base + path, { waitUntil: 'load' });
    const measured = await page.evaluate(() => {
      document.querySelectorAll('details').forEach((d) => { d.open = true; });  // what unfolds must fit too
      const viewport = document.documentElement.clientWidth;
      let widest = null;
      for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        if (box.width && box.right > viewport + 1 && !el.closest('.table-wrap, .matrix-wrap, pre, .visually-hidden')
            && (!widest || box.right > widest[1])) {
          widest = [el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''), Math.round(box.right), el.textContent.trim().slice(0, 60)];
        }
      }
      return { scroll_width: document.documentElement.scrollWidth, viewport, widest };
    });
    pages.push({ path, status: response.status(), ...measured });
  }
  // No cell of the results lies over another (a sticky column once hid the last chosen one).
  await page.goto(base + PAGES[1], { waitUntil: 'load' });
  const covered = await page.evaluate(() => {
    const hidden = [];
    for (const row of document.querySelectorAll('.results-table tbody tr')) {
      const cells = [...row.children].map((cell) => [cell, cell.getBoundingClientRect()]);
      for (const [cell, box] of cells) {
        if (cells.some(([other, around]) => other !== cell && around.top < box.bottom - 1 && box.top < around.bottom - 1
                                           && around.left < box.right - 1 && box.left < around.right - 1)) {
          hidden.push(cell.textContent.trim().slice(0, 40));
        }
      }
    }
    return hidden;
  });
  return { width, pages, covered };
});
