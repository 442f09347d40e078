// What the browser scripts share: their arguments, Debian's chromium, and one JSON answer.
// Each script is run as `node SCRIPT.mjs BASE_URL OUT_DIR` and prints one JSON object on
// stdout (tests/test_browser.py parses it); anything else goes to stderr.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function args() {
  const [base, out] = process.argv.slice(2);
  if (!base || !out) {
    process.stderr.write(`usage: node ${process.argv[1]} BASE_URL OUT_DIR\n`);
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  return { base: base.replace(/\/+$/, ''), out };
}

export async function launch() {
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 });
}

export function answer(result) {
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

// Runs `main(browser)`; whatever it throws becomes {"error": ...} in the answer, so the
// pytest shows what went wrong instead of a bare exit code.
export async function run(main) {
  let browser;
  try {
    browser = await launch();
    answer(await main(browser));
  } catch (err) {
    answer({ error: String(err && err.stack || err) });
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
  }
}
