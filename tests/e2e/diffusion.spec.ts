import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Locator, Page } from '@playwright/test';

import { DIST_DIR, seriousAxeViolations } from './site';
import { expect, test } from './fixtures';

const CHAPTER = '/chapters/diffusion/';

/** Model loading and sampling on a CPU-only CI runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;
const SAMPLING_TIMEOUT_MS = 120_000;

/**
 * Fails the calling tests with the fix when the built site has no shipped weights for a
 * model, so a missing checkpoint reads as such instead of as a widget that never loads.
 */
function expectShippedWeights(models: string[]): void {
  for (const model of models) {
    const path = join(DIST_DIR, 'models', model, 'model.json');
    expect(
      existsSync(path),
      `${path} is missing: the ${model} has no shipped weights. Train it (npm run train -- ${model}) and rebuild the site before these tests.`,
    ).toBe(true);
  }
}

/** Scrolls a widget into view, which hydrates it (`client:visible`), and returns its root. */
async function openWidget(page: Page, name: string): Promise<Locator> {
  await page.goto(CHAPTER);
  const widget = page.getByRole('region', { name });
  await widget.scrollIntoViewIfNeeded();
  return widget;
}

async function openSampler(page: Page): Promise<Locator> {
  const sampler = await openWidget(page, 'Reverse diffusion');
  await expect(sampler.getByRole('button', { name: 'Sample', exact: true })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
  return sampler;
}

async function sample(sampler: Locator): Promise<void> {
  await sampler.getByRole('button', { name: 'Sample', exact: true }).click();
  await expect(sampler.getByTestId('sampling-outcome')).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
}

/** Reads "Step i of n" from the stepper's position line. */
async function shownStep(widget: Locator): Promise<{ index: number; count: number }> {
  const text = (await widget.getByTestId('diffusion-step').textContent()) ?? '';
  const match = /^Step (\d+) of (\d+)/.exec(text);
  if (!match) throw new Error(`The stepper shows no step: "${text}".`);
  return { index: Number(match[1]), count: Number(match[2]) };
}

/** RGBA pixels of every canvas in a group of images, concatenated. */
async function groupPixels(group: Locator): Promise<number[]> {
  return group.evaluate((element) =>
    Array.from(element.querySelectorAll('canvas')).flatMap((canvas) => {
      const context = canvas.getContext('2d')!;
      return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
    }),
  );
}

test.describe('noise schedules', () => {
  test('slider reads both schedules at a timestep', async ({ page }) => {
    const widget = await openWidget(page, 'Noise schedules');
    const chart = widget.getByRole('img', { name: /linear and cosine schedules over T = 1000 steps/ });
    await expect(chart).toHaveAccessibleName(/linear: ᾱ falls from 1 at t = 0 .* below 0\.5 from t = \d+/);

    const slider = widget.getByRole('slider', { name: 'Timestep t' });
    await slider.focus();
    await slider.press('End');

    await expect(widget.getByRole('table')).toContainText('Values at t = 999');
    const linearRow = widget.getByRole('row', { name: /Linear β/ });
    const cosineRow = widget.getByRole('row', { name: /Cosine ᾱ/ });
    // At the last step the linear schedule keeps about 4e-5 of the signal and the cosine one far less.
    await expect(linearRow).toContainText(/4\.0\de-5/);
    await expect(cosineRow).toContainText(/e-9/);

    await slider.press('Home');
    await expect(widget.getByRole('table')).toContainText('Values at t = 0');
  });
});

test.describe('diffusion widgets with shipped weights', () => {
  test.describe.configure({ timeout: 240_000 });
  test.beforeEach(() => expectShippedWeights(['clip', 'prior', 'decoder']));

  test('forward process noises test digits', async ({ page }) => {
    const widget = await openWidget(page, 'Forward diffusion');
    const equation = widget.getByTestId('forward-equation');
    await expect(equation).toHaveText(/^ᾱ_t = [\d.]+: x_t = [\d.]+ · x_0 \+ [\d.]+ · ε/, { timeout: MODEL_TIMEOUT_MS });
    // The slider starts a quarter of the way along the decoder's chain.
    await expect(widget.getByRole('group', { name: /^Test digits noised to t = / })).toHaveAccessibleName(/t = 50$/);
    await expect(widget.getByRole('img', { name: /^t = 0, ᾱ_t = / })).toBeVisible();
    const noised = widget.getByRole('group', { name: /^Test digits noised to t = / });
    const before = await groupPixels(noised);
    const equationBefore = await equation.textContent();

    const slider = widget.getByRole('slider', { name: 'Timestep t' });
    await slider.focus();
    await slider.press('End');

    await expect(equation).not.toHaveText(equationBefore ?? '');
    await expect(noised).not.toHaveAccessibleName('Test digits noised to t = 50');
    await expect.poll(() => groupPixels(noised), { message: 'noised digits after moving to the last timestep' }).not.toEqual(before);
  });

  test('stepper replays streamed steps', async ({ page }) => {
    const sampler = await openSampler(page);
    await sampler.getByLabel('Steps', { exact: true }).fill('25');

    await sample(sampler);

    await expect(sampler.getByTestId('sampling-outcome')).toHaveText(/^Done: 25 steps in [\d.]+ s \(DDIM, 25 steps/);
    expect(await shownStep(sampler)).toEqual({ index: 25, count: 25 });
    const samples = sampler.getByRole('group', { name: 'The samples after this step' });
    const finalSamples = await groupPixels(samples);

    await sampler.getByRole('button', { name: 'First' }).click();
    expect(await shownStep(sampler)).toEqual({ index: 1, count: 25 });
    await expect(sampler.getByRole('img', { name: /^Sample 1, predicted clean image at step 1, t = \d+$/ })).toBeVisible();
    await expect.poll(() => groupPixels(samples), { message: 'samples after step 1 differ from the final ones' }).not.toEqual(finalSamples);

    await sampler.getByRole('button', { name: 'Next step' }).click();
    expect(await shownStep(sampler)).toEqual({ index: 2, count: 25 });

    await sampler.getByRole('button', { name: 'Play' }).click();
    await expect.poll(async () => (await shownStep(sampler)).index, { message: 'step shown during playback' }).toBe(25);
    await expect(sampler.getByRole('button', { name: 'Play' })).toHaveAttribute('aria-pressed', 'false');

    const slider = sampler.getByRole('slider', { name: 'Denoising step' });
    await slider.focus();
    await slider.press('ArrowLeft');
    expect(await shownStep(sampler)).toEqual({ index: 24, count: 25 });
  });

  test('DDPM and DDIM runs with one step each', async ({ page }) => {
    const sampler = await openSampler(page);
    await sampler.getByLabel('Steps', { exact: true }).fill('1');
    await sample(sampler);
    await expect(sampler.getByTestId('sampling-outcome')).toHaveText(/^Done: 1 step in/);
    expect(await shownStep(sampler)).toEqual({ index: 1, count: 1 });

    await sampler.getByRole('radio', { name: 'DDPM (ancestral)' }).check();
    await sampler.getByLabel('Steps', { exact: true }).fill('10');
    await sample(sampler);
    await expect(sampler.getByTestId('sampling-outcome')).toHaveText(/^Done: 10 steps in .*\(DDPM, 10 steps, w = /);

    const runs = sampler.getByRole('table', { name: /Latest runs/ });
    await expect(runs.getByRole('row')).toHaveCount(3);
    await expect(runs.getByRole('row').nth(1)).toContainText('DDPM, 10 steps');
    await expect(runs.getByRole('row').nth(2)).toContainText('DDIM, 1 step, η = 0');
  });

  test('out-of-range settings are clamped with notices', async ({ page }) => {
    const sampler = await openSampler(page);
    await sampler.getByLabel('Steps', { exact: true }).fill('0');
    await sampler.getByLabel('Guidance scale w').fill('50');
    await sampler.getByLabel('η (DDIM)').fill('-2');

    await sample(sampler);

    await expect(sampler.getByText(/^The number of denoising steps 0 is outside 1–\d+, so 1 was used\.$/)).toBeVisible();
    await expect(sampler.getByText('The guidance scale 50 is outside 0–10, so 10 was used.')).toBeVisible();
    await expect(sampler.getByText('DDIM’s η -2 is outside 0–1, so 0 was used.')).toBeVisible();
    await expect(sampler.getByTestId('sampling-outcome')).toHaveText(/\(DDIM, 1 step, η = 0, w = 10, seed 1\)/);
  });

  test('Stop interrupts a run midway', async ({ page }) => {
    const sampler = await openSampler(page);
    await sampler.getByLabel('Steps', { exact: true }).fill('200');
    await sampler.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect.poll(async () => (await shownStep(sampler).catch(() => ({ index: 0 }))).index, { timeout: SAMPLING_TIMEOUT_MS }).toBeGreaterThanOrEqual(3);

    await sampler.getByRole('button', { name: 'Stop' }).click();

    const outcome = sampler.getByTestId('sampling-outcome');
    await expect(outcome).toHaveText(/^Stopped after \d+ of \d+ steps/, { timeout: SAMPLING_TIMEOUT_MS });
    const [, stoppedAt, planned] = /after (\d+) of (\d+)/.exec((await outcome.textContent()) ?? '')!;
    expect(Number(stoppedAt), 'steps run before the stop').toBeLessThan(Number(planned));
    await expect(sampler.getByRole('button', { name: 'Sample', exact: true })).toBeEnabled();
    await expect(sampler.getByRole('table', { name: /Latest runs/ })).toContainText('(stopped early)');
  });
});

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`diffusion chapter in the ${colorScheme} theme`, () => {
    test.use({ colorScheme });
    test.describe.configure({ timeout: 240_000 });
    test.beforeEach(() => expectShippedWeights(['clip', 'prior', 'decoder']));

    test('has no serious axe violations after sampling', async ({ page }) => {
      await openWidget(page, 'Noise schedules');
      const forward = page.getByRole('region', { name: 'Forward diffusion' });
      await forward.scrollIntoViewIfNeeded();
      await expect(forward.getByTestId('forward-equation')).toHaveText(/ᾱ_t/, { timeout: MODEL_TIMEOUT_MS });
      const sampler = page.getByRole('region', { name: 'Reverse diffusion' });
      await sampler.scrollIntoViewIfNeeded();
      await expect(sampler.getByRole('button', { name: 'Sample', exact: true })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
      await sample(sampler);

      expect(await seriousAxeViolations(page)).toEqual([]);
    });
  });
}
