/**
 * Checks that hold for every embed page of the build, so a widget added to the registry is
 * covered without a test of its own. The embed index lists it with its settings, every one of
 * those settings can be locked, and the link the widget writes reads back unchanged. The
 * widget-specific specs check what each restored setting shows.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from '@playwright/test';

import { DIST_DIR, waitForHydration } from './site';
import { expect, test } from './fixtures';

const LOCKED_HINT = 'Set by the instructor';

/** Model loading on a CPU-only CI runner takes tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;

/** Embed names, one folder each under dist/embed/, which `npm run test:e2e` builds before the tests. */
const EMBED_NAMES = readdirSync(join(DIST_DIR, 'embed'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** Reads the setting names of one embed page from the table on the embed index. */
async function settingsOf(page: Page, name: string): Promise<string[]> {
  await page.goto('/embed/');
  const section = page.locator(`section:has(> p a[href="/embed/${name}/"])`);
  await expect(section).toHaveCount(1);
  return section.locator('tbody tr td:first-child code').allTextContents();
}

/** Waits until the widget has loaded what it loads on start, and checks that nothing failed. */
async function waitForWidget(page: Page): Promise<void> {
  const widget = page.locator('.model-widget').first();
  await expect(widget).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
  await expect(widget.locator('.spinner')).toHaveCount(0, { timeout: MODEL_TIMEOUT_MS });
  // Pickers fetch their test digits after the model has loaded, without a spinner.
  await page.waitForLoadState('networkidle');
  await expect(widget.locator('[role="alert"].error')).toHaveCount(0);
}

/** Presses the widget's share button and returns the address it wrote. */
async function copyLink(page: Page): Promise<URL> {
  const button = page.getByRole('button', { name: 'Copy link to this state' });
  await waitForHydration(button);
  await button.click();
  await expect(page.getByRole('status').filter({ hasText: /^(Link copied|The browser did not allow copying)/ })).toBeVisible();
  return new URL(page.url());
}

test('the embed index links to every embed page', async ({ page }) => {
  // More than the first four, so a registry that lost its chapter groups fails here.
  expect(EMBED_NAMES.length, EMBED_NAMES.join(', ')).toBeGreaterThan(4);

  await page.goto('/embed/');
  const hrefs = await page.locator('main a[href^="/embed/"]').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
  expect([...new Set(hrefs)].sort()).toEqual(EMBED_NAMES.map((name) => `/embed/${name}/`));
});

for (const name of EMBED_NAMES) {
  test(`embed ${name} locks every setting and its link reads back`, async ({ page, context }) => {
    test.setTimeout(3 * MODEL_TIMEOUT_MS);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const settings = await settingsOf(page, name);
    expect(settings.length, 'settings listed on the embed index').toBeGreaterThan(0);

    await page.goto(`/embed/${name}/?lock=${settings.join(',')}`);
    await waitForWidget(page);
    await expect(page.getByRole('list', { name: 'Notes on the link' })).toHaveCount(0);
    await expect(page.getByText('does not exist in this widget')).toHaveCount(0);
    await expect(page.getByText(LOCKED_HINT).first()).toBeVisible();

    const written = await copyLink(page);
    expect(written.searchParams.get('lock')).toBe(settings.join(','));

    // The written link opens without a note, and the widget writes the same link again.
    await page.goto(written.href);
    await waitForWidget(page);
    await expect(page.getByRole('list', { name: 'Notes on settings from the link or the page' })).toHaveCount(0);
    // Polled, because a value the widget shows only once its data has arrived may be missing from a link copied before.
    await expect.poll(async () => (await copyLink(page)).href, { timeout: MODEL_TIMEOUT_MS }).toBe(written.href);
  });
}
