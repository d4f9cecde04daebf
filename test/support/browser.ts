import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

// Debian's chromium package (`apt-get install chromium`; .ci/run installs it when missing). Nothing is downloaded.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const OUT_DIR = path.resolve(__dirname, '../../test-output');

export interface Browser {
  page: Page;
  /** Script errors and CSP violations seen so far (the tests expect none). */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\` (Debian's package; .ci/run does this) or set CHROMIUM_PATH`);
  }
}

/** Headless Chromium with a profile of its own, one page, its console errors collected. */
export async function openBrowser(): Promise<Browser> {
  requireChromium();
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'abono-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  const page: Page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return {
    page,
    problems,
    async screenshot(name) {
      mkdirSync(OUT_DIR, { recursive: true });
      const file = path.join(OUT_DIR, name);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens the dashboard at `hash` and pastes `key`, waiting until the page has loaded its data. */
export async function signIn(page: Page, url: string, key: string, hash = ''): Promise<void> {
  const res = await page.goto(`${url}/dashboard${hash}`);
  if (res?.status() !== 200) throw new Error(`/dashboard answered ${res?.status()}`);
  await page.fill('#key', key);
  await page.click('#show');
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
}
