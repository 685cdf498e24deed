/**
 * Embed pages and shared links of the diffusion and unCLIP widgets: forward diffusion, noise
 * schedules, the unCLIP pipeline, variations, interpolation and text diff. Links in these tests
 * ask for few denoising steps and frames, so each run stays short on a CPU-only runner.
 */
import type { BrowserContext, Locator, Page } from '@playwright/test';

import { seriousAxeViolations, waitForHydration } from './site';
import { expect, test } from './fixtures';

/** Loading CLIP, the prior, the decoder and the referee on a CPU-only CI runner takes tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 120_000;

const LOCKED_HINT = 'Set by the instructor';

test.describe.configure({ timeout: TEST_TIMEOUT_MS });

/** Opens a page, scrolls the widget into view (which hydrates it) and waits for its hydration. */
async function openWidget(page: Page, path: string, name: string): Promise<Locator> {
  await page.goto(path);
  const widget = page.getByRole('region', { name });
  await widget.scrollIntoViewIfNeeded();
  await waitForHydration(widget);
  return widget;
}

/** Presses the widget's share button and returns the link it wrote into the address bar. */
async function copyLink(page: Page, context: BrowserContext, widget: Locator): Promise<URL> {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await widget.getByRole('button', { name: 'Copy link to this state' }).click();
  await expect(widget.getByRole('status').filter({ hasText: 'Link copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(page.url());
  return new URL(page.url());
}

/** Reads the pixels of every canvas in a group of images. */
async function groupPixels(group: Locator): Promise<number[]> {
  return group.evaluate((element) =>
    Array.from(element.querySelectorAll('canvas')).flatMap((canvas) => {
      const context = canvas.getContext('2d')!;
      return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
    }),
  );
}

/** Types a value into a number field and leaves it, which fires its change event. */
async function setNumber(field: Locator, value: string): Promise<void> {
  await field.fill(value);
  await field.press('Tab');
}

test.describe('forward diffusion', () => {
  test('embed sets and locks digit, timestep and seed', async ({ page }) => {
    const forward = await openWidget(page, '/embed/diffusion-forward/?forward.testDigit=9&forward.timestep=120&forward.seed=7&lock=testDigit,timestep,seed', 'Forward diffusion');

    await expect(forward.getByTestId('forward-equation')).toHaveText(/^ᾱ_t = /, { timeout: MODEL_TIMEOUT_MS });
    await expect(forward.getByRole('group', { name: /^Test digits noised to t = / })).toHaveAccessibleName('Test digits noised to t = 120');
    const slider = forward.getByRole('slider', { name: 'Timestep t' });
    await expect(slider).toHaveValue('120');
    await expect(slider).toBeDisabled();
    await expect(slider).toHaveAccessibleDescription(LOCKED_HINT);
    const seed = forward.getByRole('spinbutton', { name: 'Noise seed' });
    await expect(seed).toHaveValue('7');
    await expect(seed).toBeDisabled();
    await expect(forward.getByRole('button', { name: 'New noise' })).toBeDisabled();
    await expect(forward.getByText('Test digit 9:')).toBeVisible();
    await expect(forward.getByRole('img', { name: /^Test digit 9, labelled \d$/ })).toBeVisible();
    await expect(forward.getByRole('button', { name: /^Test digit / })).toHaveCount(0);
    await expect(forward.getByText(LOCKED_HINT)).toHaveCount(3);
  });

  test('link restores digit, timestep and noise', async ({ page, context }) => {
    const forward = await openWidget(page, '/chapters/diffusion/', 'Forward diffusion');
    const equation = forward.getByTestId('forward-equation');
    await expect(equation).toHaveText(/^ᾱ_t = /, { timeout: MODEL_TIMEOUT_MS });

    const picked = forward.getByRole('button', { name: /^Test digit 3, labelled \d$/ });
    await picked.click();
    await expect(picked).toHaveAttribute('aria-pressed', 'true');
    await setNumber(forward.getByRole('spinbutton', { name: 'Noise seed' }), '5');
    const equationBefore = (await equation.textContent()) ?? '';
    const slider = forward.getByRole('slider', { name: 'Timestep t' });
    await slider.focus();
    await slider.press('End');
    // The equation and the noised row change together, when the last request, t = 199 with seed 5, returns.
    await expect(equation).not.toHaveText(equationBefore);
    const noised = forward.getByRole('group', { name: 'Test digits noised to t = 199' });
    const noisedPixels = await groupPixels(noised);

    const link = await copyLink(page, context, forward);

    expect(link.searchParams.get('forward.testDigit')).toBe('3');
    expect(link.searchParams.get('forward.timestep')).toBe('199');
    expect(link.searchParams.get('forward.seed')).toBe('5');
    await page.reload();
    const restored = page.getByRole('region', { name: 'Forward diffusion' });
    await restored.scrollIntoViewIfNeeded();
    await expect(restored.getByRole('button', { name: /^Test digit 3, labelled \d$/ })).toHaveAttribute('aria-pressed', 'true', { timeout: MODEL_TIMEOUT_MS });
    await expect(restored.getByRole('slider', { name: 'Timestep t' })).toHaveValue('199');
    await expect(restored.getByRole('spinbutton', { name: 'Noise seed' })).toHaveValue('5');
    const restoredNoised = restored.getByRole('group', { name: 'Test digits noised to t = 199' });
    await expect.poll(() => groupPixels(restoredNoised), { timeout: MODEL_TIMEOUT_MS }).toEqual(noisedPixels);
  });
});

test.describe('noise schedules', () => {
  test('embed sets and locks the timestep', async ({ page }) => {
    const schedule = await openWidget(page, '/embed/diffusion-schedule/?schedule.timestep=640&lock=timestep', 'Noise schedules');

    const slider = schedule.getByRole('slider', { name: 'Timestep t' });
    await expect(slider).toHaveValue('640');
    await expect(slider).toBeDisabled();
    await expect(slider).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(schedule.getByRole('table')).toContainText('Values at t = 640');
  });

  test('link restores the timestep', async ({ page, context }) => {
    const schedule = await openWidget(page, '/chapters/diffusion/', 'Noise schedules');
    const slider = schedule.getByRole('slider', { name: 'Timestep t' });
    await slider.focus();
    await slider.press('Home');
    await slider.press('ArrowRight');
    await slider.press('ArrowRight');
    await expect(schedule.getByRole('table')).toContainText('Values at t = 2');

    const link = await copyLink(page, context, schedule);

    expect(link.searchParams.get('schedule.timestep')).toBe('2');
    await page.reload();
    const restored = await openWidget(page, page.url(), 'Noise schedules');
    await expect(restored.getByRole('slider', { name: 'Timestep t' })).toHaveValue('2');
    await expect(restored.getByRole('table')).toContainText('Values at t = 2');
  });
});

test.describe('unCLIP pipeline', () => {
  const EMBED = '/embed/unclip-pipeline/?pipeline.prompt=a%20thick%20two&pipeline.count=2&pipeline.priorSteps=5&pipeline.steps=5&pipeline.seed=9&lock=prompt,count,steps';

  async function waitUntilReady(pipeline: Locator): Promise<void> {
    await expect(pipeline.getByRole('button', { name: 'Sample', exact: true })).toHaveAttribute('aria-disabled', 'false', { timeout: MODEL_TIMEOUT_MS });
  }

  /** Samples and returns the outcome and the cosine of the first sample. */
  async function sample(pipeline: Locator): Promise<string[]> {
    await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();
    const outcome = pipeline.getByTestId('unclip-outcome');
    await expect(outcome).toHaveText(/^Done in/, { timeout: MODEL_TIMEOUT_MS });
    const cosine = (await pipeline.getByTestId('text-image-cosine').textContent()) ?? '';
    const text = (await outcome.textContent()) ?? '';
    return [text.replace(/^Done in [\d.]+ s/, ''), cosine];
  }

  test('embed sets and locks prompt, images and steps', async ({ page }) => {
    const pipeline = await openWidget(page, EMBED, 'unCLIP pipeline');
    await waitUntilReady(pipeline);

    const prompt = pipeline.getByRole('textbox', { name: 'Prompt' });
    await expect(prompt).toHaveValue('a thick two');
    await expect(prompt).toBeDisabled();
    await expect(prompt).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(pipeline.getByRole('button', { name: '7: prompt "a handwritten seven"' })).toBeDisabled();
    const images = pipeline.getByRole('spinbutton', { name: 'Images' });
    await expect(images).toHaveValue('2');
    await expect(images).toBeDisabled();
    const steps = pipeline.getByRole('spinbutton', { name: 'Steps', exact: true });
    await expect(steps).toHaveValue('5');
    await expect(steps).toBeDisabled();
    await expect(pipeline.getByRole('spinbutton', { name: 'Prior steps' })).toHaveValue('5');
    await expect(pipeline.getByRole('spinbutton', { name: 'Prior steps' })).toBeEnabled();
    await expect(pipeline.getByRole('spinbutton', { name: 'Seed' })).toHaveValue('9');
    await expect(pipeline.getByText(LOCKED_HINT)).toHaveCount(3);

    const [outcome] = await sample(pipeline);
    expect(outcome).toBe(': 2 images, 5 DDIM decoder steps, w = 3.');
  });

  test('locked embed has no serious axe violations', async ({ page }) => {
    const pipeline = await openWidget(page, EMBED, 'unCLIP pipeline');
    await waitUntilReady(pipeline);
    await expect(pipeline.getByText(LOCKED_HINT).first()).toBeVisible();

    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  test('link restores prompt, settings and sample', async ({ page, context }) => {
    const pipeline = await openWidget(page, '/chapters/unclip/?pipeline.count=1&pipeline.priorSteps=3&pipeline.steps=3', 'unCLIP pipeline');
    await waitUntilReady(pipeline);
    await pipeline.getByRole('textbox', { name: 'Prompt' }).fill('a handwritten two');
    await pipeline.getByText('Settings of the prior and the decoder').click();
    await setNumber(pipeline.getByRole('spinbutton', { name: 'Prior guidance scale' }), '2');
    await setNumber(pipeline.getByRole('spinbutton', { name: 'Seed' }), '11');
    const result = await sample(pipeline);

    const link = await copyLink(page, context, pipeline);

    expect(link.searchParams.get('pipeline.prompt')).toBe('a handwritten two');
    expect(link.searchParams.get('pipeline.count')).toBe('1');
    expect(link.searchParams.get('pipeline.priorSteps')).toBe('3');
    expect(link.searchParams.get('pipeline.priorGuidanceScale')).toBe('2');
    expect(link.searchParams.get('pipeline.steps')).toBe('3');
    expect(link.searchParams.get('pipeline.seed')).toBe('11');
    await page.reload();
    const restored = await openWidget(page, page.url(), 'unCLIP pipeline');
    await waitUntilReady(restored);
    await expect(restored.getByRole('textbox', { name: 'Prompt' })).toHaveValue('a handwritten two');
    await restored.getByText('Settings of the prior and the decoder').click();
    await expect(restored.getByRole('spinbutton', { name: 'Prior guidance scale' })).toHaveValue('2');
    await expect(restored.getByRole('spinbutton', { name: 'Seed' })).toHaveValue('11');
    expect(await sample(restored)).toEqual(result);
  });
});

test.describe('unCLIP variations', () => {
  test('embed sets and locks digit and seed', async ({ page }) => {
    const variations = await openWidget(page, '/embed/unclip-variations/?variations.testDigit=14&variations.steps=3&variations.seed=4&lock=testDigit,seed', 'unCLIP variations');

    await expect(variations.getByText(/^8 variations of test digit 14 \(a \d\): 3 DDIM steps, w = 3, seed 4\.$/)).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(variations.getByText('Test digit 14:')).toBeVisible();
    await expect(variations.getByRole('img', { name: /^Test digit 14, labelled \d$/ })).toBeVisible();
    await expect(variations.getByRole('button', { name: /^Test digit / })).toHaveCount(0);
    await expect(variations.getByRole('button', { name: 'More digits' })).toBeDisabled();
    await expect(variations.getByRole('button', { name: 'Draw a digit' })).toBeDisabled();
    const seed = variations.getByRole('spinbutton', { name: 'Seed' });
    await expect(seed).toHaveValue('4');
    await expect(seed).toBeDisabled();
    await expect(variations.getByRole('button', { name: 'New seeds' })).toBeDisabled();
    await expect(variations.getByRole('spinbutton', { name: 'Steps', exact: true })).toBeEnabled();
    await expect(variations.getByText(LOCKED_HINT)).toHaveCount(2);
  });

  test('link restores digit, settings and variations', async ({ page, context }) => {
    const variations = await openWidget(page, '/chapters/unclip/?variations.steps=2', 'unCLIP variations');
    await expect(variations.getByText(/^8 variations of test digit 1 /)).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await variations.getByRole('button', { name: 'More digits' }).click();
    await setNumber(variations.getByRole('spinbutton', { name: 'Seed' }), '6');
    await variations.getByRole('button', { name: /^Test digit 13, labelled \d$/ }).click();
    const outcome = variations.getByText(/^8 variations of test digit 13 \(a \d\): 2 DDIM steps, w = 3, seed 6\.$/);
    await expect(outcome).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    const outcomeText = await outcome.textContent();
    const pixels = await groupPixels(variations.getByRole('group', { name: 'Variations of the picked digit' }));

    const link = await copyLink(page, context, variations);

    expect(link.searchParams.get('variations.testDigit')).toBe('13');
    expect(link.searchParams.get('variations.steps')).toBe('2');
    expect(link.searchParams.get('variations.seed')).toBe('6');
    await page.reload();
    const restored = await openWidget(page, page.url(), 'unCLIP variations');
    await expect(restored.getByText(outcomeText ?? '', { exact: true })).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(restored.getByRole('button', { name: /^Test digit 13, labelled \d$/ })).toHaveAttribute('aria-pressed', 'true');
    await expect.poll(() => groupPixels(restored.getByRole('group', { name: 'Variations of the picked digit' }))).toEqual(pixels);
  });
});

test.describe('unCLIP interpolation', () => {
  test('embed sets and locks ends and frames', async ({ page }) => {
    const interpolation = await openWidget(
      page,
      '/embed/unclip-interpolation/?interp.startTestDigit=12&interp.endTestDigit=25&interp.frames=3&interp.steps=2&lock=startTestDigit,frames',
      'unCLIP interpolation',
    );

    await expect(interpolation.getByTestId('interpolation-outcome')).toHaveText(
      /^Interpolated from test digit 12 \(a \d\) to test digit 25 \(a \d\) in 3 frames, all decoded from seed 1\.$/,
      { timeout: MODEL_TIMEOUT_MS },
    );
    const start = interpolation.getByRole('group', { name: 'Start digit', exact: true });
    await expect(start.getByText('Test digit 12:')).toBeVisible();
    await expect(start.getByRole('button', { name: /^Test digit / })).toHaveCount(0);
    await expect(start).toHaveAccessibleDescription(LOCKED_HINT);
    const end = interpolation.getByRole('group', { name: 'End digit', exact: true });
    await expect(end.getByRole('button', { name: /^Test digit 25, labelled \d$/ })).toHaveAttribute('aria-pressed', 'true');
    const frames = interpolation.getByRole('spinbutton', { name: 'Frames' });
    await expect(frames).toHaveValue('3');
    await expect(frames).toBeDisabled();
    await expect(frames).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(interpolation.getByRole('spinbutton', { name: 'Steps', exact: true })).toHaveValue('2');
    await expect(interpolation.getByText(LOCKED_HINT)).toHaveCount(2);
  });

  test('link restores ends, frames and strip', async ({ page, context }) => {
    const interpolation = await openWidget(page, '/chapters/unclip/?interp.frames=3&interp.steps=2', 'unCLIP interpolation');
    const outcome = interpolation.getByTestId('interpolation-outcome');
    await expect(outcome).toHaveText(/ in 3 frames, all decoded from seed 1\.$/, { timeout: MODEL_TIMEOUT_MS });
    await interpolation.getByRole('group', { name: 'End digit', exact: true }).getByRole('button', { name: /^Test digit 5, labelled \d$/ }).click();
    await interpolation.getByRole('spinbutton', { name: 'Frames' }).fill('4');
    await interpolation.getByRole('spinbutton', { name: 'Seed' }).fill('3');
    await interpolation.getByRole('button', { name: 'Interpolate' }).click();
    await expect(outcome).toHaveText(/^Interpolated from test digit 1 \(a \d\) to test digit 5 \(a \d\) in 4 frames, all decoded from seed 3\.$/, {
      timeout: MODEL_TIMEOUT_MS,
    });
    const outcomeText = await outcome.textContent();
    const pixels = await groupPixels(interpolation.getByRole('group', { name: 'Interpolation strip' }));

    const link = await copyLink(page, context, interpolation);

    expect(link.searchParams.get('interp.startTestDigit')).toBe('1');
    expect(link.searchParams.get('interp.endTestDigit')).toBe('5');
    expect(link.searchParams.get('interp.frames')).toBe('4');
    expect(link.searchParams.get('interp.seed')).toBe('3');
    await page.reload();
    const restored = await openWidget(page, page.url(), 'unCLIP interpolation');
    await expect(restored.getByTestId('interpolation-outcome')).toHaveText(outcomeText ?? '', { timeout: MODEL_TIMEOUT_MS });
    await expect.poll(() => groupPixels(restored.getByRole('group', { name: 'Interpolation strip' }))).toEqual(pixels);
  });
});

test.describe('unCLIP text diff', () => {
  test('embed sets and locks prompts and θ', async ({ page }) => {
    const textDiff = await openWidget(
      page,
      '/embed/unclip-text-diff/?textdiff.testDigit=6&textdiff.fromPrompt=a%20handwritten%20four&textdiff.toPrompt=a%20handwritten%20nine' +
        '&textdiff.maxTheta=0.3&textdiff.frames=2&textdiff.steps=2&lock=fromPrompt,toPrompt,maxTheta',
      'unCLIP text diff',
    );

    await expect(textDiff.getByTestId('text-diff-outcome')).toHaveText(
      /^Moved test digit 6 \(a \d\) from "a handwritten four" toward "a handwritten nine" in 2 frames, all decoded from seed 1\.$/,
      { timeout: MODEL_TIMEOUT_MS },
    );
    const from = textDiff.getByRole('textbox', { name: 'The image shows' });
    await expect(from).toHaveValue('a handwritten four');
    await expect(from).toBeDisabled();
    await expect(from).toHaveAccessibleDescription(LOCKED_HINT);
    const to = textDiff.getByRole('textbox', { name: 'Move it toward' });
    await expect(to).toHaveValue('a handwritten nine');
    await expect(to).toBeDisabled();
    const theta = textDiff.getByRole('spinbutton', { name: 'Largest θ' });
    await expect(theta).toHaveValue('0.3');
    await expect(theta).toBeDisabled();
    await expect(textDiff.getByRole('spinbutton', { name: 'Frames' })).toBeEnabled();
    await expect(textDiff.getByRole('button', { name: /^Test digit 6, labelled \d$/ })).toHaveAttribute('aria-pressed', 'true');
    await expect(textDiff.getByText(LOCKED_HINT)).toHaveCount(3);
  });

  test('link restores prompts, θ and strip', async ({ page, context }) => {
    const textDiff = await openWidget(page, '/chapters/unclip/?textdiff.frames=2&textdiff.steps=2', 'unCLIP text diff');
    const outcome = textDiff.getByTestId('text-diff-outcome');
    await expect(outcome).toHaveText(/ in 2 frames, all decoded from seed 1\.$/, { timeout: MODEL_TIMEOUT_MS });
    await textDiff.getByRole('textbox', { name: 'Move it toward' }).fill('a handwritten four');
    await textDiff.getByRole('spinbutton', { name: 'Largest θ' }).fill('0.4');
    await textDiff.getByRole('button', { name: 'Apply text diff' }).click();
    await expect(outcome).toHaveText(/toward "a handwritten four" in 2 frames/, { timeout: MODEL_TIMEOUT_MS });
    const outcomeText = await outcome.textContent();
    const pixels = await groupPixels(textDiff.getByRole('group', { name: 'Text diff strip' }));

    const link = await copyLink(page, context, textDiff);

    expect(link.searchParams.get('textdiff.testDigit')).toBe('3');
    expect(link.searchParams.get('textdiff.fromPrompt')).toBe('a handwritten one');
    expect(link.searchParams.get('textdiff.toPrompt')).toBe('a handwritten four');
    expect(link.searchParams.get('textdiff.maxTheta')).toBe('0.4');
    expect(link.searchParams.get('textdiff.frames')).toBe('2');
    await page.reload();
    const restored = await openWidget(page, page.url(), 'unCLIP text diff');
    await expect(restored.getByTestId('text-diff-outcome')).toHaveText(outcomeText ?? '', { timeout: MODEL_TIMEOUT_MS });
    await expect(restored.getByRole('textbox', { name: 'Move it toward' })).toHaveValue('a handwritten four');
    await expect(restored.getByRole('spinbutton', { name: 'Largest θ' })).toHaveValue('0.4');
    await expect.poll(() => groupPixels(restored.getByRole('group', { name: 'Text diff strip' }))).toEqual(pixels);
  });
});
