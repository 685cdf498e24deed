import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';

import { VOTES_STORAGE_KEY } from '../../src/components/widgets/ab-votes';
import { seriousAxeViolations, waitForHydration } from './site';
import { expect, test } from './fixtures';

const CHAPTER = '/chapters/evaluation/';

/** Model loading and sampling on a CPU-only runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 90_000;

/** Directory names under public/models that hold a card.json, read from disk. */
function cardDirectories(): string[] {
  const models = join(process.cwd(), 'public/models');
  return readdirSync(models, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(models, entry.name, 'card.json')))
    .map((entry) => entry.name);
}

/** Scrolls a widget into view, which hydrates it (`client:visible`), and returns its root. */
async function openWidget(page: Page, name: 'Blind A/B comparison' | 'Metric lab'): Promise<Locator> {
  await page.goto(CHAPTER);
  const widget = page.getByRole('region', { name, exact: true });
  await widget.scrollIntoViewIfNeeded();
  await waitForHydration(widget);
  return widget;
}

/** Waits until the A/B widget shows a pair that can be voted on. */
async function waitForPair(widget: Locator): Promise<void> {
  await expect(widget.getByRole('button', { name: '← Left' })).toHaveAttribute('aria-disabled', 'false', { timeout: MODEL_TIMEOUT_MS });
}

/** FNV-1a hash of both canvases of the pair on screen. */
async function pairDigest(widget: Locator): Promise<number> {
  return widget
    .getByRole('group', { name: 'The two images of this pair' })
    .evaluate((element) => {
      let hash = 0x811c9dc5;
      for (const canvas of element.querySelectorAll('canvas')) {
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        for (const byte of data) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      }
      return hash;
    });
}

test.describe('Evaluation chapter', () => {
  test('renders with its sections', async ({ page }) => {
    const response = await page.goto(CHAPTER);

    expect(response?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1, name: 'Evaluation' })).toBeVisible();
    for (const heading of ['CLIP score', 'FID and its floor', 'Precision and recall', 'The leaderboard']) {
      await expect(page.getByRole('heading', { level: 2, name: heading })).toBeVisible();
    }
    await expect(page.locator('nav.sidebar a[href="/chapters/evaluation/"]')).toBeVisible();
  });

  test('leaderboard lists every card directory', async ({ page }) => {
    await page.goto(CHAPTER);
    const table = page.getByRole('region', { name: /^Every model card in public\/models/ });

    const directories = cardDirectories();
    expect(directories.length).toBeGreaterThan(0);
    await expect(table.locator('tbody tr')).toHaveCount(directories.length);
    for (const directory of directories) {
      await expect(table.locator(`tr[data-model="${directory}"] code`)).toHaveText(directory);
    }
    // The referee has no prompt accuracy: its cell shows a dash, never 0.
    await expect(table.locator('tr[data-model="classifier"] td').first()).toContainText('—');
  });

  test('leaderboard chart switches metric', async ({ page }) => {
    await page.goto(CHAPTER);
    const picker = page.getByRole('combobox', { name: 'Metric' });
    await picker.scrollIntoViewIfNeeded();
    await waitForHydration(picker);
    const chart = page.locator('.leaderboard-chart svg[role="img"]');
    await expect(chart).toHaveAttribute('aria-label', /^Prompt accuracy, higher is better\./);

    await picker.selectOption({ label: 'FID' });

    await expect(chart).toHaveAttribute('aria-label', /^FID, lower is better\..*floor \(real digits\)/);
    for (const directory of cardDirectories()) {
      await expect(chart.locator(`g.row[data-model="${directory}"]`)).toHaveCount(1);
    }
  });

  test('leaderboard reference markers leave value labels readable', async ({ page }) => {
    await page.goto(CHAPTER);
    const picker = page.getByRole('combobox', { name: 'Metric' });
    await picker.scrollIntoViewIfNeeded();
    await waitForHydration(picker);
    const chart = page.locator('.leaderboard-chart svg[role="img"]');

    for (const label of ['Prompt accuracy', 'FID', 'Attribute accuracy']) {
      await picker.selectOption({ label });
      await expect(chart).toHaveAttribute('aria-label', new RegExp(`^${label},`));
      const markers = await chart.locator('line.reference').count();
      expect(markers, `${label} draws its reference marker`).toBeGreaterThan(0);
      // Each marker against every value label of its row, in screen pixels.
      const overlaps = await chart.evaluate((svg) => {
        const found: string[] = [];
        for (const row of svg.querySelectorAll('g.row')) {
          const marker = row.querySelector('line.reference');
          if (!marker) continue;
          const line = marker.getBoundingClientRect();
          for (const text of row.querySelectorAll('text.value')) {
            const box = text.getBoundingClientRect();
            const crosses = line.right > box.left && line.left < box.right && line.bottom > box.top && line.top < box.bottom;
            if (crosses) found.push(`${row.getAttribute('data-model')}: ${text.textContent}`);
          }
        }
        return found;
      });
      expect(overlaps, `${label}: markers crossing value labels`).toEqual([]);
    }
  });

  test('A/B vote by keyboard updates the counts', async ({ page }) => {
    const widget = await openWidget(page, 'Blind A/B comparison');
    await waitForPair(widget);
    const firstPair = await pairDigest(widget);

    await widget.getByRole('group', { name: 'Vote' }).focus();
    await page.keyboard.press('ArrowLeft');

    await expect(widget.getByTestId('votes-total')).toHaveText('1');
    await expect(widget.getByText(/^You chose the left image, .*\. Left was .*, right was .*\.$/)).toBeVisible();
    const chosen = Number(await widget.getByTestId('votes-a').textContent()) + Number(await widget.getByTestId('votes-b').textContent());
    expect(chosen).toBe(1);
    // One vote: the chosen source's share is 100 % with a Wilson interval well below it.
    await expect(widget.getByRole('cell', { name: '100 %', exact: true })).toHaveCount(1);
    await expect(widget.getByRole('cell', { name: '21–100 %', exact: true })).toHaveCount(1);

    await waitForPair(widget);
    await page.keyboard.press('ArrowDown');
    await expect(widget.getByTestId('votes-total')).toHaveText('2');
    await expect(widget.getByTestId('votes-tie')).toHaveText('1');

    // Reset replays the same seeded pairs, starting with the first.
    await widget.getByRole('button', { name: 'Reset and replay' }).click();
    await expect(widget.getByTestId('votes-total')).toHaveText('0');
    await waitForPair(widget);
    await expect.poll(() => pairDigest(widget)).toBe(firstPair);
  });

  test('A/B vote by mouse', async ({ page }) => {
    const widget = await openWidget(page, 'Blind A/B comparison');
    await waitForPair(widget);

    await widget.getByRole('button', { name: 'Right →' }).click();

    await expect(widget.getByTestId('votes-total')).toHaveText('1');
    await expect(widget.getByText(/^You chose the right image/)).toBeVisible();
  });

  test('A/B reports a full storage', async ({ page }) => {
    // Only the widget's own key fails, so the theme picker's storage keeps working.
    await page.addInitScript((key) => {
      const setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function setItemUnlessVotes(this: Storage, name: string, value: string) {
        if (name === key) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        setItem.call(this, name, value);
      };
    }, VOTES_STORAGE_KEY);
    const widget = await openWidget(page, 'Blind A/B comparison');
    await waitForPair(widget);

    // The widget unticks the box again at once, so a plain click (not check()) turns it on.
    await widget.getByRole('checkbox', { name: 'Keep my votes in this browser' }).click();

    await expect(widget.getByText(/storage for this site is full \(QuotaExceededError\)/)).toBeVisible();
    await expect(widget.getByRole('checkbox', { name: 'Keep my votes in this browser' })).not.toBeChecked();
    // Voting still works, in memory.
    await widget.getByRole('button', { name: '← Left' }).click();
    await expect(widget.getByTestId('votes-total')).toHaveText('1');
  });

  test('A/B keeps votes across a reload when asked', async ({ page }) => {
    const widget = await openWidget(page, 'Blind A/B comparison');
    await waitForPair(widget);
    await widget.getByRole('checkbox', { name: 'Keep my votes in this browser' }).check();
    await widget.getByRole('button', { name: '← Left' }).click();
    await expect(widget.getByTestId('votes-total')).toHaveText('1');

    await page.reload();
    const reloaded = page.getByRole('region', { name: 'Blind A/B comparison', exact: true });
    await reloaded.scrollIntoViewIfNeeded();

    await expect(reloaded.getByTestId('votes-total')).toHaveText('1', { timeout: MODEL_TIMEOUT_MS });
    await expect(reloaded.getByRole('checkbox', { name: 'Keep my votes in this browser' })).toBeChecked();
  });

  test('metric lab exposes mean-pooled cosine', async ({ page }) => {
    test.setTimeout(240_000);
    const lab = await openWidget(page, 'Metric lab');
    const compute = lab.getByRole('button', { name: 'Compute the metrics' });
    await expect(compute).toHaveAttribute('aria-disabled', 'false', { timeout: MODEL_TIMEOUT_MS });

    await compute.click();

    await expect(lab.getByTestId('lab-summary')).toBeVisible({ timeout: 200_000 });
    const cell = (set: string, metric: string) => lab.locator(`tr[data-set="${set}"] td[data-metric="${metric}"]`);
    for (const set of ['real', 'dalle', 'wrongPrompt', 'meanImage', 'copiedDigit']) await expect(cell(set, 'fid')).toHaveText(/^\d+\.\d{3}$/);
    // The blur has the same mean as the real digits, so the same mean-pooled pixel cosine.
    const realPixels = await cell('real', 'pixelMeanCosine').textContent();
    await expect(cell('meanImage', 'pixelMeanCosine')).toHaveText(realPixels!);
    await expect(cell('wrongPrompt', 'pixelMeanCosine')).toHaveText(realPixels!);
    // Prompt accuracy catches the wrong prompts; FID does not.
    expect(Number((await cell('wrongPrompt', 'promptAccuracy').textContent())!.replace(' %', ''))).toBeLessThan(10);
    await expect(cell('wrongPrompt', 'fid')).toHaveText((await cell('real', 'fid').textContent())!);
    // Recall catches the copied digit; its precision stays high.
    expect(Number(await cell('copiedDigit', 'recall').textContent())).toBeLessThan(0.1);
    expect(Number(await cell('copiedDigit', 'precision').textContent())).toBeGreaterThan(0.5);
  });

  test('has no serious axe violations with widgets running', async ({ page }) => {
    const widget = await openWidget(page, 'Blind A/B comparison');
    await waitForPair(widget);
    await widget.getByRole('button', { name: 'Right →' }).click();
    await expect(widget.getByTestId('votes-total')).toHaveText('1');
    await page.getByRole('region', { name: 'Metric lab', exact: true }).scrollIntoViewIfNeeded();
    await page.getByRole('combobox', { name: 'Metric' }).selectOption({ label: 'FID' });

    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});
