// The applicant's journey, as a person does it in a browser: search for birth weight, narrow
// to 2010–2015, add three variables from two registries to the list, write a note on each,
// export the list as XLSX, share it and open the shared list in a fresh browser.
//
//   node journey.mjs BASE_URL OUT_DIR [--no-js]
//
// --no-js runs it with JavaScript switched off (every form must work as a plain form).
// The pages may do things with plain forms (a page load each) or with JavaScript (fetch and
// history.pushState); each step waits for what it is meant to do, whichever way it is done.
//
// Answer (one JSON object): {"skipped": reason} when /list is not in this build; else
// {"ok": true, "chosen": [...], "xlsx": path, "share_url": ..., "shared": [...], "steps": [...]}
// or {"ok": false, "failed_step": name, "error": message, "steps": [...]} with a screenshot of
// the page where it failed in OUT_DIR.
import { join } from 'node:path';
import { args, answer, launch } from './lib.mjs';

const QUERY = 'diagnose';
const FROM = '2010';
const TO = '2015';
const WANTED = 3; // variables, from two sources
const TIMEOUT = 15_000;
const SUBMIT = 'button[type=submit], button:not([type]), input[type=submit]';

const { base, out } = args();
const javaScript = !process.argv.includes('--no-js');
const steps = [];
let failedStep = null;
let page;

const browser = await launch();
try {
  answer(await journey());
} catch (err) {
  let screenshot = null;
  if (page) {
    screenshot = join(out, 'journey-failure.png');
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => { screenshot = null; });
  }
  answer({ ok: false, javascript: javaScript, failed_step: failedStep, error: String(err && err.message || err),
           url: page ? page.url() : null, screenshot, steps });
  process.exitCode = 1;
} finally {
  await browser.close();
}

async function step(name, fn) {
  failedStep = name;
  const started = Date.now();
  const detail = await fn();
  steps.push({ step: name, ms: Date.now() - started, ...(detail ? { detail } : {}) });
  failedStep = null;
  return detail;
}

// Does `action` (a click or a key press) and waits until `done()` holds. If the action
// started a page load (a plain form or link), waits for that page too, and fails on an
// error status; if JavaScript did it in place (fetch, pushState), there is none to wait for.
async function act(what, action, done) {
  let loading = false;
  const onRequest = (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) loading = true;
  };
  page.on('request', onRequest);
  const loaded = page.waitForNavigation({ timeout: TIMEOUT }).catch((err) => err);
  try {
    await action();
    const deadline = Date.now() + TIMEOUT;
    while (!(await done().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`${what}: nothing happened within ${TIMEOUT / 1000} s (page: ${page.url()})`);
      await page.waitForTimeout(100);
    }
    if (loading) {
      const response = await loaded;
      if (response instanceof Error) throw new Error(`${what}: ${response.message}`);
      await page.waitForLoadState('load');
      if (response && response.status() >= 400) {
        throw new Error(`${what}: ${response.request().method()} ${response.url()} answered ${response.status()}: ${(await page.innerText('body')).slice(0, 300)}`);
      }
    }
  } finally {
    page.off('request', onRequest);
  }
}

function urlHas(params) {
  return async () => {
    const url = new URL(page.url());
    return Object.entries(params).every(([k, v]) => url.searchParams.get(k) === v);
  };
}

// The list as the server keeps it for this browser (its cookie), from /list's HTML.
async function listHtml(request) {
  return (await request.get(`${base}/list`)).text();
}

function escapeHtml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Three variables from two sources: the first two hits of the top source and the first hit of
// another, with the page of results each is on (the API pages as the search page does).
async function choose(request) {
  const hits = [];
  for (let pageNo = 1; pageNo <= 10; pageNo++) {
    const url = `${base}/api/variables?q=${encodeURIComponent(QUERY)}&from=${FROM}&to=${TO}&page=${pageNo}`;
    const body = await (await request.get(url)).json();
    for (const item of body.items) hits.push({ id: item.id, source: item.source, source_name: item.source_name, page: pageNo });
    if (pageNo >= body.pages) break;
  }
  if (!hits.length) throw new Error(`the API finds nothing for ${QUERY} ${FROM}–${TO}`);
  const first = hits[0].source;
  const same = hits.filter((v) => v.source === first).slice(0, WANTED - 1);
  const other = hits.find((v) => v.source !== first);
  if (!other) throw new Error(`every hit for ${QUERY} ${FROM}–${TO} is from ${first}: no second source to pick`);
  return [...same, other].sort((a, b) => a.page - b.page);
}

async function journey() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true,
                                             javaScriptEnabled: javaScript });
  context.setDefaultTimeout(TIMEOUT);
  page = await context.newPage();

  const listStatus = (await page.request.get(`${base}/list`)).status();
  if (listStatus === 404) return { skipped: 'the variable list is not in this build yet', list_status: listStatus };

  await step('search', async () => {
    await page.goto(`${base}/`);
    const box = page.locator('input[type=search][name=q]');
    await box.fill(QUERY);
    await act('pressing Enter in the search box', () => box.press('Enter'), urlHas({ q: QUERY }));
    return { url: page.url() };
  });

  const chosen = await step('choose', async () => choose(page.request));

  await step('years', async () => {
    await page.locator('input[name=from]').first().fill(FROM);
    const to = page.locator('input[name=to]').first();
    await to.fill(TO);
    await act('pressing Enter in the "to" year', () => to.press('Enter'), urlHas({ q: QUERY, from: FROM, to: TO }));
    const rows = await page.locator('table tbody tr').count();
    if (!rows) throw new Error('no result rows (table tbody tr) after the search');
    return { url: page.url(), rows };
  });

  await step('add', async () => {
    let onPage = 1;
    const added = [];
    for (const variable of chosen) {
      // Page on through the results with the pager's "next" link, as a person would.
      while (onPage < variable.page) {
        const next = page.locator('a[rel=next]').first();
        if (!(await next.count())) throw new Error(`no a[rel=next] on results page ${onPage}; ${variable.id} is on page ${variable.page}`);
        await act(`following "next" to page ${onPage + 1}`, () => next.click(), urlHas({ page: String(onPage + 1) }));
        onPage += 1;
      }
      const here = page.url();
      const field = `form.add-to-list input[name=variable][value="${variable.id}"]`;
      const row = page.locator('table tbody tr').filter({ has: page.locator(field) });
      if ((await row.count()) !== 1) {
        throw new Error(`results page ${onPage} has ${await row.count()} table rows with ${field} (want 1)`);
      }
      const rowText = await row.innerText();
      if (!rowText.includes(variable.source_name)) {
        throw new Error(`the row of ${variable.id} does not show its source ${JSON.stringify(variable.source_name)}: ${rowText}`);
      }
      const form = row.locator('form.add-to-list').filter({ has: page.locator(`input[name=variable][value="${variable.id}"]`) });
      await act(`adding ${variable.id}`, () => form.locator(SUBMIT).first().click(),
                async () => (await listHtml(page.request)).includes(`data-variable="${variable.id}"`));
      added.push({ id: variable.id, then_on: page.url() });
      // Back to the results it was added from, if the form went elsewhere.
      if (page.url() !== here) await page.goto(here);
    }
    return added;
  });

  const notes = Object.fromEntries(chosen.map((v, i) => [v.id, `Merknad ${i + 1} om ${v.id}: trengs for søknaden (æøå «sitat» & <tegn>)`]));
  const yearsShown = {};
  await step('notes', async () => {
    await page.goto(`${base}/list`);
    const shown = await page.locator('li.list-item').evaluateAll((lis) => lis.map((li) => li.dataset.variable));
    for (const { id } of chosen) {
      if (!shown.includes(id)) throw new Error(`/list shows ${JSON.stringify(shown)}: no li.list-item[data-variable="${id}"]`);
    }
    for (const { id } of chosen) {
      const item = page.locator(`li.list-item[data-variable="${id}"]`);
      await item.locator('textarea[name=note]').fill(notes[id]);
      // The years wanted: kept from the search if the list carries them, else typed here.
      const from = item.locator('input[name=from]');
      const to = item.locator('input[name=to]');
      if (await from.count()) {
        yearsShown[id] = { from: await from.inputValue(), to: await to.inputValue() };
        if (!yearsShown[id].from) await from.fill(FROM);
        if (!yearsShown[id].to) await to.fill(TO);
      }
      await act(`saving the note of ${id}`, () => item.locator('button[name=action][value=save]').click(),
                async () => (await listHtml(page.request)).includes(escapeHtml(notes[id])));
    }
    await page.goto(`${base}/list`);
    for (const { id } of chosen) {
      const kept = await page.locator(`li.list-item[data-variable="${id}"] textarea[name=note]`).inputValue();
      if (kept !== notes[id]) throw new Error(`the note of ${id} reads ${JSON.stringify(kept)} after saving, not ${JSON.stringify(notes[id])}`);
    }
    return { years_before_typing: yearsShown };
  });

  const xlsx = await step('export', async () => {
    const link = page.locator('a[href="/list/export.xlsx"]');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = join(out, 'variabelliste.xlsx');
    await download.saveAs(file);
    const failure = await download.failure();
    if (failure) throw new Error(`the XLSX download failed: ${failure}`);
    return { path: file, suggested: download.suggestedFilename() };
  });

  const share = await step('share', async () => {
    const button = page.locator('form.share').locator(SUBMIT).first();
    await act('sharing the list', () => button.click(), async () => /^\/lists\/[^/]+$/.test(new URL(page.url()).pathname));
    return { url: page.url(), code: new URL(page.url()).pathname.split('/').pop() };
  });

  const shared = await step('open shared', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: javaScript });
    const other = await fresh.newPage();
    const response = await other.goto(share.url);
    if (!response || response.status() !== 200) throw new Error(`${share.url} answered ${response && response.status()} in a fresh browser`);
    const seen = [];
    for (const { id } of chosen) {
      const item = other.locator(`li.list-item[data-variable="${id}"]`);
      if ((await item.count()) !== 1) throw new Error(`the shared list has no li.list-item[data-variable="${id}"]`);
      const text = await item.innerText();
      const field = item.locator('textarea[name=note]');
      const note = (await field.count()) ? await field.inputValue() : null;
      seen.push({ id, note_shown: text.includes(notes[id]) || note === notes[id] });
    }
    const cookies = (await fresh.cookies()).map((c) => c.name);
    await fresh.close();
    return { items: seen, cookies_in_fresh_browser: cookies };
  });

  return { ok: true, javascript: javaScript, chosen: chosen.map((v) => ({ ...v, note: notes[v.id] })), from: FROM, to: TO,
           xlsx: xlsx.path, share_url: share.url, shared: shared.items, years_on_list_before_typing: yearsShown, steps };
}
