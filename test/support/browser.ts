/**
 * Real Chromium for the console's browser tests: Debian's `chromium` package driven by
 * playwright-core (Playwright's own browser downloads fail here, so its installer is never run).
 * Like kafkaBrokers(), a missing browser fails the test with a line saying how to install it.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './router.js';

/** The two widths every page is checked and photographed at. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

/** Where the tests write screenshots (gitignored); UPDATE_SCREENSHOTS=1 also copies them to docs/. */
export const SCREENSHOT_DIR = join(ROOT, 'test-artifacts', 'screenshots');
export const DOCS_SCREENSHOT_DIR = join(ROOT, 'docs', 'screenshots');

/**
 * The Chromium executable: CHROMIUM_PATH, else Debian's /usr/bin/chromium. Throws when it is
 * not there: a browser test that cannot run fails, it never skips.
 * @example chromiumPath() // '/usr/bin/chromium'
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(path)) {
    const where = env.CI === 'true' ? 'npm test (scripts/test.sh) installs it as root; that step did not run or failed' : 'install it with `apt-get install -y --no-install-recommends chromium`';
    throw new Error(`Chromium not found at ${path} (set CHROMIUM_PATH to another): the console's browser tests need a real browser; ${where}`);
  }
  return path;
}

/**
 * One headless Chromium for a test file. --no-sandbox: CI containers run as root, where
 * Chromium's sandbox refuses to start.
 * @example const browser = await launchChromium(); ...; await browser.close();
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'], timeout: 20_000 });
}

/**
 * A fresh browser profile (no cookies) at one of the two widths. The phone is a touch screen
 * that honours the page's viewport meta tag, as a real phone does.
 * @example const page = await (await newContext(browser, 'phone')).newPage();
 */
export async function newContext(browser: Browser, viewport: ViewportName = 'desktop'): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: VIEWPORTS[viewport],
    deviceScaleFactor: 1,
    isMobile: viewport === 'phone',
    hasTouch: viewport === 'phone',
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(10_000);
  return context;
}

/**
 * Logs in through the console's form, as an operator does, and waits for the overview.
 * @example await logIn(page, router.url, ADMIN_TOKEN);
 */
export async function logIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('Admin token').fill(token);
  await Promise.all([page.waitForURL(/\/console\/overview$/), page.getByRole('button', { name: 'Log in' }).click()]);
}

/**
 * Saves the whole page as test-artifacts/screenshots/<name>-<viewport>.png; with
 * UPDATE_SCREENSHOTS=1 also as docs/screenshots/<same>, the images the README shows.
 * @example await screenshot(page, 'events', 'phone') // '.../test-artifacts/screenshots/events-phone.png'
 */
export async function screenshot(page: Page, name: string, viewport: ViewportName): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = `${name}-${viewport}.png`;
  const path = join(SCREENSHOT_DIR, file);
  // Animations off: the same page gives the same picture, so a regenerated image differs only when the page did.
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
    copyFileSync(path, join(DOCS_SCREENSHOT_DIR, file));
  }
  return path;
}
