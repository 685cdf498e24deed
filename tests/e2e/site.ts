import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import AxeBuilder from '@axe-core/playwright';
import { expect, type Locator, type Page } from '@playwright/test';

/** Base path of the second build that playwright.config.ts serves on its own port. */
export const BASE_PATH = '/course/';

/** Origin of the base-path build; the port is chosen in playwright.config.ts. */
export function basePathOrigin(): string {
  const port = process.env.E2E_BASE_PORT;
  if (!port) {
    throw new Error('E2E_BASE_PORT is not set: run the tests with `npx playwright test`, which sets it.');
  }
  return `http://127.0.0.1:${port}`;
}

/** Output folder of the root build, which `npm run test:e2e` creates before the tests. */
export const DIST_DIR = 'dist';

/**
 * Lists the URL path of every HTML page in the root build: `index.html` files as their
 * folder ("/about/credits/") and other HTML files by name ("/404.html").
 * Skips the asset folders: _astro, pagefind, data, models and tfjs-wasm.
 */
export function listBuiltPages(distDir = DIST_DIR): string[] {
  const skippedFolders = new Set(['_astro', 'pagefind', 'data', 'models', 'tfjs-wasm']);
  const pages: string[] = [];

  function walk(folder: string): void {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!skippedFolders.has(entry.name) && !entry.name.startsWith('.')) walk(path);
        continue;
      }
      if (!entry.name.endsWith('.html')) continue;

      const urlPath = '/' + relative(distDir, path).split(sep).join('/');
      pages.push(urlPath.endsWith('/index.html') ? urlPath.slice(0, -'index.html'.length) : urlPath);
    }
  }

  walk(distDir);
  if (pages.length === 0) {
    throw new Error(`No HTML pages found in ${distDir}/: build the site first (npm run test:e2e does).`);
  }
  return pages.sort();
}

/** Opens Starlight's search dialog and types a query into the Pagefind input. */
export async function searchSite(page: Page, query: string): Promise<void> {
  await page.getByRole('button', { name: 'Search' }).first().click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();

  // Pagefind's input is a plain text field whose placeholder is the search label.
  await dialog.getByPlaceholder('Search').fill(query);
}

/** Runs axe on the page and returns its serious and critical violations, in a readable form. */
export async function seriousAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
}

/**
 * Waits until Astro has hydrated the island around `locator`: the island element drops its
 * `ssr` attribute once its component runs. Before that, clicks and typing reach only the
 * server-rendered HTML and do nothing.
 */
export async function waitForHydration(locator: Locator): Promise<void> {
  await expect(locator.locator('xpath=ancestor-or-self::astro-island[1]')).not.toHaveAttribute('ssr', { timeout: 60_000 });
}
