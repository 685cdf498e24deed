import { readFileSync } from 'node:fs';

import type { Locator, Page } from '@playwright/test';

import { BASE_PATH, basePathOrigin, seriousAxeViolations } from './site';
import { expect, test } from './fixtures';

/** Reads a shipped model card, whose numbers the pages show. */
function readCard(model: string) {
  return JSON.parse(readFileSync(`public/models/${model}/card.json`, 'utf8'));
}

const clipCard = readCard('clip');
const dalleCard = readCard('dalle');

/** Model loading and sampling on a CPU-only CI runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;

const LOCKED_HINT = 'Set by the instructor';

/** Waits until the DALL·E generator has loaded its model and read the first prompt. */
async function openGenerator(page: Page, path: string): Promise<Locator> {
  await page.goto(path);
  const generator = page.getByRole('region', { name: 'DALL·E generation' });
  await generator.scrollIntoViewIfNeeded();
  await expect(generator.getByRole('list', { name: 'Tokens the model reads' })).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
  return generator;
}

/** Draws one sample and returns the 49 codes of its grid. */
async function generate(generator: Locator): Promise<string[]> {
  await generator.getByRole('button', { name: 'Generate' }).click();
  await expect(generator.getByTestId('drawn-count')).toHaveText('49', { timeout: MODEL_TIMEOUT_MS });
  await expect(generator.getByRole('list', { name: /^Five most likely codes at position/ })).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
  const cells = await generator.getByRole('table', { name: /image tokens, drawn one at a time/ }).getByRole('cell').allTextContents();
  return cells.map((text) => text.trim());
}

/** Waits until a test digit picker (dVAE tokenizer or CLIP zero-shot) shows its strip. */
async function waitForStrip(widget: Locator): Promise<void> {
  await expect(widget.getByRole('group', { name: /^MNIST test digits to/ }).locator('canvas').first()).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
}

test.describe('instructor pages', () => {
  const pages = [
    ['/instructors/hosting/', 'Hosting the course'],
    ['/instructors/authoring/', 'Authoring chapters and embedding widgets'],
  ] as const;

  for (const [path, title] of pages) {
    test(`${path} renders`, async ({ page }) => {
      const response = await page.goto(path);

      expect(response?.status()).toBe(200);
      await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
      await expect(page.locator('nav.sidebar').getByRole('link', { name: title })).toHaveAttribute('aria-current', 'page');
      // The fixture fails the test on console errors and requests to other hosts.
    });
  }

  test('hosting page lists the built pages', async ({ page }) => {
    await page.goto('/instructors/hosting/');

    const table = page.getByRole('table', { name: 'Pages of this build' });
    await expect(table.getByRole('link', { name: 'DALL·E', exact: true })).toHaveAttribute('href', '/chapters/dalle/');
    await expect(table.getByRole('link', { name: 'Embed: dVAE tokenizer' })).toHaveAttribute('href', '/embed/dvae-tokenizer/');
    await expect(table.getByRole('link', { name: 'Hosting the course' })).toHaveAttribute('href', '/instructors/hosting/');
  });

  test('authoring page reads the card number', async ({ page }) => {
    await page.goto('/instructors/authoring/');

    const accuracy = `${(100 * clipCard.metrics.zeroShotAccuracy).toFixed(1)} %`;
    await expect(page.getByText(`the tiny CLIP labels ${accuracy} of the test digits correctly`)).toBeVisible();
    const settings = page.getByRole('table', { name: 'Settings of DALL·E-mini, one token at a time' });
    await expect(settings.getByRole('row', { name: /dalle\.topK/ })).toContainText(`a whole number from 0 to ${dalleCard.config.imageVocabSize}`);
  });

  test('authoring example locks the picker', async ({ page }) => {
    await page.goto('/instructors/authoring/');
    const tokenizer = page.getByRole('region', { name: 'dVAE tokenizer' });
    await tokenizer.scrollIntoViewIfNeeded();

    await expect(tokenizer.getByRole('gridcell').first()).toHaveText(/^\d+$/, { timeout: MODEL_TIMEOUT_MS });
    await expect(tokenizer.getByText(LOCKED_HINT)).toBeVisible();
    await expect(tokenizer.getByText('Test digit 8:')).toBeVisible();
    await expect(tokenizer.getByRole('img', { name: /^Test digit 8, labelled \d$/ })).toBeVisible();
    await expect(tokenizer.getByRole('button', { name: /^Test digit / })).toHaveCount(0);
    await expect(tokenizer.getByRole('button', { name: 'More digits' })).toBeDisabled();
  });
});

test.describe('embed pages', () => {
  test('DALL·E embed locks prompt and seed', async ({ page }) => {
    const generator = await openGenerator(page, '/embed/dalle-generator/?dalle.prompt=a%20thick%20seven&lock=prompt,seed');

    await expect(page.locator('nav.sidebar')).toHaveCount(0);
    const prompt = generator.getByRole('textbox', { name: 'Prompt' });
    await expect(prompt).toHaveValue('a thick seven');
    await expect(prompt).toBeDisabled();
    await expect(generator.getByRole('spinbutton', { name: 'Seed' })).toBeDisabled();
    await expect(generator.getByRole('button', { name: 'New seed' })).toBeDisabled();
    await expect(generator.getByRole('button', { name: 'a cat' })).toBeDisabled();
    await expect(generator.getByRole('spinbutton', { name: 'Temperature' })).toBeEnabled();
    await expect(generator.getByText(LOCKED_HINT)).toHaveCount(2);
    await expect(prompt).toHaveAccessibleDescription(new RegExp(LOCKED_HINT));

    const codes = await generate(generator);
    expect(codes.every((code) => /^\d+$/.test(code)), `codes ${codes.join(' ')}`).toBe(true);
  });

  test('tampered link shows notes and samples', async ({ page }) => {
    const generator = await openGenerator(page, '/embed/dalle-generator/?dalle.seed=abc&dalle.topK=99999&bogus=1');

    await expect(page.getByRole('list', { name: 'Notes on the link' })).toContainText('Link parameter "bogus" is not used on this page');
    const notes = generator.getByRole('list', { name: 'Notes on settings from the link or the page' });
    await expect(notes).toContainText('Link parameter dalle.seed "abc" is not a number');
    await expect(notes).toContainText(`Link parameter dalle.topK "99999" is above ${dalleCard.config.imageVocabSize}`);
    await expect(generator.getByRole('spinbutton', { name: 'Seed' })).toHaveValue('1');
    await expect(generator.getByRole('spinbutton', { name: 'Top-k' })).toHaveValue(String(dalleCard.config.imageVocabSize));

    const codes = await generate(generator);
    expect(codes).toHaveLength(49);
  });

  test('HTML in a linked prompt stays text', async ({ page }) => {
    const markup = '<img src="x" onerror="window.injected = 1"><b>seven</b>';
    const generator = await openGenerator(page, `/embed/dalle-generator/?dalle.prompt=${encodeURIComponent(markup)}`);

    await expect(generator.getByRole('textbox', { name: 'Prompt' })).toHaveValue(markup);
    await expect(page.locator('img[src="x"]')).toHaveCount(0);
    await expect(page.locator('b', { hasText: 'seven' })).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
  });

  test('unknown lock name gets a note', async ({ page }) => {
    await page.goto('/embed/dvae-tokenizer/?lock=digit,testDigit');
    const tokenizer = page.getByRole('region', { name: 'dVAE tokenizer' });

    await expect(tokenizer.getByText('The locked control "digit" does not exist in this widget')).toBeVisible();
    await waitForStrip(tokenizer);
    await expect(tokenizer.getByText(LOCKED_HINT)).toBeVisible();
    await expect(tokenizer.getByRole('button', { name: 'More digits' })).toBeDisabled();
  });

  test('CLIP embed restores template and test digit', async ({ page }) => {
    await page.goto('/embed/clip-zero-shot/?clip.template=digit&clip.testDigit=38&lock=template');
    const classifier = page.getByRole('region', { name: 'CLIP zero-shot classifier' });

    await expect(classifier.getByTestId('zero-shot-prediction')).toHaveText(/^\d$/, { timeout: MODEL_TIMEOUT_MS });
    const template = classifier.getByRole('combobox', { name: /Prompt template/ });
    await expect(template).toHaveValue('digit');
    await expect(template).toBeDisabled();
    await expect(classifier.getByRole('button', { name: /^Test digit 38, labelled \d$/ })).toHaveAttribute('aria-pressed', 'true');
    await expect(classifier.getByRole('group', { name: 'The classified digit' }).getByRole('img')).toHaveAccessibleName(/^Test digit labelled \d$/);
  });

  test('diffusion embed locks its settings', async ({ page }) => {
    await page.goto('/embed/diffusion-sampler/?diffusion.digit=7&diffusion.method=ddpm&diffusion.steps=10&lock=digit,method,steps');
    const sampler = page.getByRole('region', { name: 'Reverse diffusion' });

    await expect(sampler.getByRole('button', { name: 'Sample', exact: true })).toHaveAttribute('aria-disabled', 'false', { timeout: MODEL_TIMEOUT_MS });
    const seven = sampler.getByRole('radio', { name: '7', exact: true });
    await expect(seven).toBeChecked();
    await expect(seven).toBeDisabled();
    await expect(sampler.getByText('a handwritten seven', { exact: true })).toBeVisible();
    const ddpm = sampler.getByRole('radio', { name: 'DDPM (ancestral)' });
    await expect(ddpm).toBeChecked();
    await expect(ddpm).toBeDisabled();
    const steps = sampler.getByRole('spinbutton', { name: 'Steps' });
    await expect(steps).toHaveValue('10');
    await expect(steps).toBeDisabled();
    await expect(sampler.getByRole('spinbutton', { name: 'Guidance scale w' })).toBeEnabled();
    await expect(sampler.getByText(LOCKED_HINT)).toHaveCount(3);
  });

  test.describe('unknown widget', () => {
    // Chromium reports the 404 status of the document as a console error.
    test.use({ expectedConsoleErrors: [/status of 404/] });

    test('name gets the 404 page', async ({ page }) => {
      const response = await page.goto('/embed/no-such-widget/?dalle.seed=1');

      expect(response?.status()).toBe(404);
      await expect(page.getByRole('heading', { level: 1, name: '404' })).toBeVisible();
    });
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    test(`locked embed has no serious axe violations in ${colorScheme}`, async ({ page }) => {
      await page.emulateMedia({ colorScheme });
      const generator = await openGenerator(page, '/embed/dalle-generator/?dalle.prompt=a%20thick%20seven&dalle.seed=abc&bogus=1&lock=prompt,seed');
      await expect(page.locator('html')).toHaveAttribute('data-theme', colorScheme);
      await expect(generator.getByText(LOCKED_HINT).first()).toBeVisible();

      expect(await seriousAxeViolations(page)).toEqual([]);
    });
  }
});

test.describe('shared links', () => {
  test('DALL·E link restores prompt, seed and sample', async ({ page, context }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const generator = await openGenerator(page, '/chapters/dalle/');
    await generator.getByRole('textbox', { name: 'Prompt' }).fill('the digit 3');
    const seed = generator.getByRole('spinbutton', { name: 'Seed' });
    await seed.fill('42');
    await seed.press('Tab');
    const codes = await generate(generator);

    await generator.getByRole('button', { name: 'Copy link to this state' }).click();

    await expect(generator.getByRole('status').filter({ hasText: 'Link copied' })).toBeVisible();
    const link = new URL(page.url());
    expect(link.pathname).toBe('/chapters/dalle/');
    expect(link.searchParams.get('dalle.prompt')).toBe('the digit 3');
    expect(link.searchParams.get('dalle.seed')).toBe('42');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(page.url());

    await page.reload();
    const restored = await openGenerator(page, page.url());
    await expect(restored.getByRole('textbox', { name: 'Prompt' })).toHaveValue('the digit 3');
    await expect(restored.getByRole('spinbutton', { name: 'Seed' })).toHaveValue('42');
    expect(await generate(restored)).toEqual(codes);
  });

  test('refused copy shows the link', async ({ page }) => {
    // Stands in for a browser that refuses clipboard access (plain http, or a frame without permission).
    await page.addInitScript(() => {
      Object.defineProperty(navigator, 'clipboard', {
        value: { writeText: () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError')) },
      });
    });
    await page.goto('/embed/dvae-tokenizer/?dvae.testDigit=4');
    const tokenizer = page.getByRole('region', { name: 'dVAE tokenizer' });
    await waitForStrip(tokenizer);

    await tokenizer.getByRole('button', { name: 'Copy link to this state' }).click();

    await expect(tokenizer.getByRole('status').filter({ hasText: 'The browser did not allow copying' })).toBeVisible();
    await expect(tokenizer.getByRole('textbox', { name: 'Link to this state' })).toHaveValue(page.url());
    expect(new URL(page.url()).searchParams.get('dvae.testDigit')).toBe('4');
  });

  test('tokenizer link restores test digit', async ({ page }) => {
    await page.goto('/chapters/images-as-tokens/');
    const tokenizer = page.getByRole('region', { name: 'dVAE tokenizer' });
    await tokenizer.scrollIntoViewIfNeeded();
    await waitForStrip(tokenizer);
    await tokenizer.getByRole('button', { name: 'More digits' }).click();
    const picked = tokenizer.getByRole('button', { name: /^Test digit 17, labelled \d$/ });
    await picked.click();
    await expect(picked).toHaveAttribute('aria-pressed', 'true');

    await tokenizer.getByRole('button', { name: 'Copy link to this state' }).click();
    expect(new URL(page.url()).searchParams.get('dvae.testDigit')).toBe('17');
    await page.reload();

    const restored = page.getByRole('region', { name: 'dVAE tokenizer' });
    await restored.scrollIntoViewIfNeeded();
    await expect(restored.getByRole('button', { name: /^Test digit 17, labelled \d$/ })).toHaveAttribute('aria-pressed', 'true', { timeout: MODEL_TIMEOUT_MS });
  });
});

test.describe('base path', () => {
  // The site built with BASE_PATH=/course, served by the second web server in playwright.config.ts.
  test.use({ baseURL: basePathOrigin() });

  test('embed page works under the base path', async ({ page }) => {
    const requestedPaths: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol.startsWith('http')) requestedPaths.push(url.pathname);
    });

    await page.goto(`${BASE_PATH}embed/dvae-tokenizer/?dvae.testDigit=3&lock=testDigit`);
    const tokenizer = page.getByRole('region', { name: 'dVAE tokenizer' });
    await expect(tokenizer.getByRole('gridcell').first()).toHaveText(/^\d+$/, { timeout: MODEL_TIMEOUT_MS });

    await expect(tokenizer.getByText('Test digit 3:')).toBeVisible();
    await expect(page.getByRole('link', { name: /Images as tokens/ })).toHaveAttribute('href', `${BASE_PATH}chapters/images-as-tokens/`);
    await tokenizer.getByRole('button', { name: 'Copy link to this state' }).click();
    const link = new URL(page.url());
    expect(link.pathname).toBe(`${BASE_PATH}embed/dvae-tokenizer/`);
    expect(link.searchParams.get('lock')).toBe('testDigit');
    expect(link.searchParams.get('dvae.testDigit')).toBe('3');
    expect(requestedPaths.filter((path) => !path.startsWith(BASE_PATH))).toEqual([]);
  });
});
