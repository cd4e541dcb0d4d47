// Headless Chromium for the console's browser tests: Debian's chromium package (/usr/bin/chromium,
// or FJORD_CHROMIUM) driven by puppeteer-core, which never downloads a browser. Without one the
// tests skip with the reason, except under CI=true, where a missing browser is a failure
// (.ci/run installs it). Screenshots go to FJORD_CONSOLE_SCREENSHOTS or .cache/console-screenshots/.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = process.env.FJORD_CONSOLE_SCREENSHOTS ?? join(root, '.cache', 'console-screenshots');

/** FJORD_CHROMIUM, when set, is the only place looked at. */
const CANDIDATES = process.env.FJORD_CHROMIUM ? [process.env.FJORD_CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The browser's path, or null; under CI a missing browser throws (the suite must not skip there). */
export function chromiumPath(): string | null {
  const found = CANDIDATES.find((p) => existsSync(p)) ?? null;
  if (found === null && process.env.CI === 'true') throw new Error(`no Chromium at ${CANDIDATES.join(', ')}: .ci/run installs Debian's chromium package`);
  return found;
}

export const SKIP_REASON = 'no Chromium (apt-get install chromium, or set FJORD_CHROMIUM): the console browser tests are skipped';

export async function launch(path: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath: path,
    headless: true,
    // Root in a container has no user namespaces for the sandbox; /dev/shm may be small.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--disable-extensions'],
  });
}

/** A page that records console errors, uncaught exceptions and failed requests. */
export async function openPage(browser: Browser, options: { dark?: boolean } = {}): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 860 });
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: options.dark ? 'dark' : 'light' }]);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.setDefaultTimeout(20_000);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the element matching `selector` has text matching `pattern`; returns the text. */
export async function waitForText(page: Page, selector: string, pattern: RegExp): Promise<string> {
  await page.waitForFunction((sel: string, src: string, flags: string) => {
    const el = document.querySelector(sel);
    return el !== null && new RegExp(src, flags).test(el.textContent ?? '');
  }, {}, selector, pattern.source, pattern.flags);
  return page.$eval(selector, (el) => el.textContent ?? '');
}

/** Clears an input or textarea and types `text` into it (the way a user would: input events). */
export async function fill(page: Page, selector: string, text: string): Promise<void> {
  await page.$eval(selector, (el) => {
    (el as HTMLInputElement).value = '';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.type(selector, text);
}
