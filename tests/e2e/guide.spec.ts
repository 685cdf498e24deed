import type { Locator, Page } from '@playwright/test';

import { timeline } from '../../src/data/timeline';
import { searchSite } from './site';
import { expect, test } from './fixtures';

const OVERVIEW = '/guide/overview/';
const GUIDE_PAGES = ['overview', 'architectures', 'datasets', 'insights', 'glossary', 'bibliography'].map((name) => `/guide/${name}/`);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Scrolls the timeline into view, which hydrates it (`client:visible`), and waits until its keys work. */
async function openTimeline(page: Page): Promise<Locator> {
  await page.goto(OVERVIEW);
  const figure = page.locator('figure.timeline');
  await figure.scrollIntoViewIfNeeded();
  await expect(figure).toHaveAttribute('data-interactive', 'true');
  return figure;
}

test.describe('guide timeline', () => {
  test('draws every entry as a tab', async ({ page }) => {
    const figure = await openTimeline(page);

    const tabs = figure.getByRole('tab');
    await expect(tabs).toHaveCount(timeline.length);
    for (const [index, entry] of timeline.entries()) {
      await expect(tabs.nth(index), entry.id).toHaveAccessibleName(new RegExp(`^${escapeRegExp(entry.name)}, `));
      await expect(tabs.nth(index), entry.id).toBeVisible();
    }
  });

  test('arrow keys move through the entries', async ({ page }) => {
    const figure = await openTimeline(page);
    const tabs = figure.getByRole('tab');
    const panel = figure.getByRole('tabpanel');

    await tabs.first().focus();
    await expect(tabs.first()).toHaveAttribute('aria-selected', 'true');
    await expect(panel).toContainText(timeline[0].summary);

    await page.keyboard.press('ArrowRight');
    await expect(tabs.nth(1)).toBeFocused();
    await expect(tabs.nth(1)).toHaveAttribute('aria-selected', 'true');
    await expect(tabs.first()).toHaveAttribute('aria-selected', 'false');
    await expect(panel).toContainText(timeline[1].summary);

    await page.keyboard.press('End');
    await expect(tabs.last()).toBeFocused();
    await expect(panel).toContainText(timeline[timeline.length - 1].summary);

    await page.keyboard.press('Home');
    await expect(tabs.first()).toBeFocused();

    // Only the selected tab is in the Tab order, so Tab leaves the timeline in one step.
    await expect(figure.locator('[role="tab"][tabindex="0"]')).toHaveCount(1);
  });

  test('the selected tab is described by its summary', async ({ page }) => {
    const figure = await openTimeline(page);
    const clipIndex = timeline.findIndex((entry) => entry.id === 'clip');

    await figure.getByRole('tab').nth(clipIndex).click();

    const tab = figure.getByRole('tab').nth(clipIndex);
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    await expect(tab).toHaveAccessibleDescription(timeline[clipIndex].summary);
    await expect(figure.getByRole('tabpanel').getByRole('link', { name: 'Radford et al. 2021' })).toHaveAttribute(
      'href',
      '/guide/bibliography/#radford2021',
    );
  });

  test('lists every entry as text', async ({ page }) => {
    await page.goto(OVERVIEW);
    const list = page.locator('figure.timeline details.as-list');

    await list.locator('summary').click();

    const items = list.locator('li');
    await expect(items).toHaveCount(timeline.length);
    for (const [index, entry] of timeline.entries()) {
      await expect(items.nth(index), entry.id).toContainText(entry.name);
      await expect(items.nth(index), entry.id).toContainText(entry.summary);
    }
  });

  test('keeps its markers still under reduced motion', async ({ page }) => {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    const figure = await openTimeline(page);

    const duration = await figure.locator('.marker').first().evaluate((element) => getComputedStyle(element).transitionDuration);
    expect(duration).toBe('0s');
  });
});

test('search finds the glossary', async ({ page }) => {
  await page.goto('/');
  await searchSite(page, 'Gumbel-softmax');

  const result = page.locator('.pagefind-ui__result-link', { hasText: 'Glossary' }).first();
  await expect(result).toBeVisible();
  await expect(result).toHaveAttribute('href', /^\/guide\/glossary\//);
});

test('guide links reach their targets', async ({ page }) => {
  const targets = new Map<string, Set<string>>();
  for (const path of GUIDE_PAGES) {
    await page.goto(path);
    const hrefs = await page.locator('.sl-markdown-content a[href]').evaluateAll((links) =>
      links.map((link) => (link as HTMLAnchorElement).href),
    );
    for (const href of hrefs) {
      const url = new URL(href);
      if (url.origin !== new URL(page.url()).origin) continue;
      const ids = targets.get(url.pathname) ?? new Set<string>();
      if (url.hash) ids.add(decodeURIComponent(url.hash.slice(1)));
      targets.set(url.pathname, ids);
    }
  }

  expect(targets.size).toBeGreaterThan(6);
  for (const [path, ids] of targets) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(200);
    for (const id of ids) {
      await expect(page.locator(`[id="${id}"]`), `${path}#${id}`).toHaveCount(1);
    }
  }
});
