import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Locator, Page } from '@playwright/test';

import { DIST_DIR, seriousAxeViolations } from './site';
import { expect, test } from './fixtures';

const CHAPTER = '/chapters/unclip/';

/** Model loading, sampling and training on a CPU-only CI runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;
const SAMPLING_TIMEOUT_MS = 120_000;
const TRAINING_TIMEOUT_MS = 180_000;

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

async function openPipeline(page: Page): Promise<Locator> {
  const pipeline = await openWidget(page, 'unCLIP pipeline');
  await expect(pipeline.getByRole('button', { name: 'Sample', exact: true })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
  return pipeline;
}

async function shownStep(widget: Locator): Promise<number> {
  const text = (await widget.getByTestId('diffusion-step').textContent()) ?? '';
  const match = /^Step (\d+) of \d+/.exec(text);
  return match ? Number(match[1]) : 0;
}

test.describe('unCLIP widgets with shipped weights', () => {
  test.describe.configure({ timeout: 240_000 });
  test.beforeEach(() => expectShippedWeights(['clip', 'prior', 'decoder', 'classifier']));

  test('pipeline samples and shows every stage', async ({ page }) => {
    const pipeline = await openPipeline(page);
    await expect(pipeline.getByRole('listitem').filter({ hasText: '1 · Prompt y' })).toContainText('seven');

    await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();

    await expect(pipeline.getByTestId('unclip-outcome')).toHaveText(/^Done in [\d.]+ s: 4 images, 25 DDIM decoder steps, w = 3\./, {
      timeout: SAMPLING_TIMEOUT_MS,
    });
    await expect(pipeline.getByRole('img', { name: /^Text embedding z_t of the prompt: 64 values, length 1/ })).toBeVisible();
    await expect(pipeline.getByRole('img', { name: /^Prior's image embedding z_i for sample 1: 64 values, length 1/ })).toBeVisible();
    await expect(pipeline.getByTestId('text-image-cosine')).toHaveText(/^cos\(zt, zi\) = -?[\d.]+$/);
    await expect(pipeline.getByRole('img', { name: /^Final image 1, CLIP score -?[\d.]+$/ })).toBeVisible();
    await expect(pipeline.getByRole('table', { name: /Every sample/ }).getByRole('row')).toHaveCount(5);

    await pipeline.getByRole('button', { name: '3', exact: true }).click();
    await expect(pipeline.getByRole('img', { name: /^Final image 3, CLIP score/ })).toBeVisible();

    const map = pipeline.getByRole('application', { name: /^unCLIP embedding map/ });
    await expect(map).toHaveAccessibleName(/300 test digits' CLIP image embeddings .* The prior's 4 image embeddings are nearest to test digits of class/);
  });

  test('pipeline steps through the decoder', async ({ page }) => {
    const pipeline = await openPipeline(page);
    await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect(pipeline.getByTestId('unclip-outcome')).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
    expect(await shownStep(pipeline)).toBe(25);

    await pipeline.getByRole('button', { name: 'Previous step' }).click();
    expect(await shownStep(pipeline)).toBe(24);
    await pipeline.getByRole('button', { name: 'First' }).click();
    expect(await shownStep(pipeline)).toBe(1);
    await pipeline.getByRole('button', { name: 'Play' }).click();
    await expect.poll(() => shownStep(pipeline), { message: 'step shown during playback' }).toBe(25);
  });

  test('pipeline clamps settings and rejects an empty prompt', async ({ page }) => {
    const pipeline = await openPipeline(page);
    await pipeline.getByText('Settings of the prior and the decoder').click();
    await pipeline.getByLabel('Images', { exact: true }).fill('0');
    await pipeline.getByLabel('Candidates per image').fill('20');

    await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();

    await expect(pipeline.getByTestId('unclip-outcome')).toHaveText(/: 1 image,/, { timeout: SAMPLING_TIMEOUT_MS });
    await expect(pipeline.getByText('The number of images 0 is outside 1–16, so 1 was used.')).toBeVisible();
    await expect(pipeline.getByText('The number of prior candidates 20 is outside 1–8, so 8 was used.')).toBeVisible();

    await pipeline.getByLabel('Prompt', { exact: true }).fill('   ');
    await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect(pipeline.getByRole('alert')).toHaveText(/The prompt is empty/);
  });

  test('pipeline Stop interrupts the decoder', async ({ page }) => {
    const pipeline = await openPipeline(page);
    await pipeline.getByText('Settings of the prior and the decoder').click();
    await pipeline.getByLabel('Steps', { exact: true }).fill('200');
    await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect.poll(() => shownStep(pipeline), { timeout: SAMPLING_TIMEOUT_MS }).toBeGreaterThanOrEqual(3);

    await pipeline.getByRole('button', { name: 'Stop' }).click();

    const outcome = pipeline.getByTestId('unclip-outcome');
    await expect(outcome).toHaveText(/^Stopped after \d+ of \d+ decoder steps/, { timeout: SAMPLING_TIMEOUT_MS });
    const [, stoppedAt, planned] = /after (\d+) of (\d+)/.exec((await outcome.textContent()) ?? '')!;
    expect(Number(stoppedAt), 'decoder steps run before the stop').toBeLessThan(Number(planned));
  });

  test('variations of a test digit and new seeds', async ({ page }) => {
    const variations = await openWidget(page, 'unCLIP variations');
    const keptSummary = variations.getByTestId('variations-kept');
    await expect(keptSummary).toHaveText(/^The referee classifier reads the picked digit as 7 and \d of 8 variations as the same digit\.$/, {
      timeout: SAMPLING_TIMEOUT_MS,
    });
    await expect(variations.getByRole('group', { name: 'Variations of the picked digit' }).getByRole('img')).toHaveCount(8);

    await variations.getByRole('button', { name: 'New seeds' }).click();

    await expect(variations.getByText(/^8 variations of test digit 1 \(a 7\): 25 DDIM steps, w = 3, seed 2\.$/)).toBeVisible({
      timeout: SAMPLING_TIMEOUT_MS,
    });
  });

  test('variations of a blank drawing get a message', async ({ page }) => {
    const variations = await openWidget(page, 'unCLIP variations');
    await expect(variations.getByTestId('variations-kept')).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });

    await variations.getByRole('button', { name: 'Draw a digit' }).click();
    await variations.getByRole('button', { name: 'Use drawing' }).click();

    await expect(variations.getByRole('alert')).toHaveText('Draw a digit first: the pad is empty, so there is no image to embed.');
  });

  test('variations of a drawn digit', async ({ page }) => {
    const variations = await openWidget(page, 'unCLIP variations');
    await expect(variations.getByTestId('variations-kept')).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
    await variations.getByRole('button', { name: 'Draw a digit' }).click();

    // A vertical stroke, roughly a "1", drawn with the mouse.
    const pad = variations.getByRole('application', { name: /drawing pad/ });
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85, { steps: 12 });
    await page.mouse.up();
    await variations.getByRole('button', { name: 'Use drawing' }).click();

    await expect(variations.getByText(/^8 variations of your drawing: /)).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
  });

  test('interpolation strip between two test digits', async ({ page }) => {
    const interpolation = await openWidget(page, 'unCLIP interpolation');
    const outcome = interpolation.getByTestId('interpolation-outcome');
    await expect(outcome).toHaveText('Interpolated from test digit 1 (a 7) to test digit 2 (a 2) in 7 frames, all decoded from seed 1.', {
      timeout: SAMPLING_TIMEOUT_MS,
    });
    const frames = interpolation.getByRole('group', { name: 'Interpolation strip' }).getByRole('img');
    await expect(frames).toHaveCount(7);
    await expect(frames.first()).toHaveAccessibleName(/^Frame 1, slerp fraction 0\.00, cosine 1\.00 with the start and -?[\d.]+ with the end embedding, read by the referee as \d$/);
    await expect(frames.last()).toHaveAccessibleName(/^Frame 7, slerp fraction 1\.00, cosine -?[\d.]+ with the start and 1\.00 with the end embedding/);

    await interpolation.getByLabel('Frames').fill('3');
    await interpolation.getByRole('group', { name: 'End digit' }).getByRole('button', { name: /^Test digit 4, labelled 0$/ }).click();
    await interpolation.getByRole('button', { name: 'Interpolate' }).click();

    await expect(outcome).toHaveText('Interpolated from test digit 1 (a 7) to test digit 4 (a 0) in 3 frames, all decoded from seed 1.', {
      timeout: SAMPLING_TIMEOUT_MS,
    });
    await expect(frames).toHaveCount(3);
  });

  test('interpolation Stop keeps the frames done', async ({ page }) => {
    const interpolation = await openWidget(page, 'unCLIP interpolation');
    const outcome = interpolation.getByTestId('interpolation-outcome');
    await expect(outcome).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
    await interpolation.getByLabel('Frames').fill('11');
    await interpolation.getByLabel('Steps', { exact: true }).fill('200');

    await interpolation.getByRole('button', { name: 'Interpolate' }).click();
    await expect(interpolation.getByText(/^Decoding frame 2 of 11/)).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
    await interpolation.getByRole('button', { name: 'Stop' }).click();

    await expect(outcome).toHaveText(/^Stopped after [1-9]\d* of 11 frames\.$/, { timeout: SAMPLING_TIMEOUT_MS });
  });

  test('text diff moves a one toward a seven', async ({ page }) => {
    const textDiff = await openWidget(page, 'unCLIP text diff');
    await expect(textDiff.getByTestId('text-diff-outcome')).toHaveText(
      'Moved test digit 3 (a 1) from "a handwritten one" toward "a handwritten seven" in 6 frames, all decoded from seed 1.',
      { timeout: SAMPLING_TIMEOUT_MS },
    );
    const frames = textDiff.getByRole('group', { name: 'Text diff strip' }).getByRole('img');
    await expect(frames).toHaveCount(6);
    await expect(frames.first()).toHaveAccessibleName(/^θ = 0\.00, cosine 1\.00 with the image embedding/);

    await textDiff.getByLabel('Move it toward').fill('a handwritten one');
    await textDiff.getByRole('button', { name: 'Apply text diff' }).click();
    await expect(textDiff.getByRole('alert')).toHaveText(/The two text embeddings are equal/);
  });
});

test.describe('unCLIP trainer', () => {
  // Each test trains in the browser, and two at once on a small runner slow both down.
  test.describe.configure({ mode: 'serial', timeout: 300_000 });

  async function openTrainer(page: Page): Promise<Locator> {
    const trainer = await openWidget(page, 'unCLIP trainer');
    await expect(trainer.getByRole('button', { name: 'Start' })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
    return trainer;
  }

  async function waitForStep(trainer: Locator, minimum: number): Promise<void> {
    await expect
      .poll(async () => Number(await trainer.getByTestId('training-step').textContent()), { timeout: TRAINING_TIMEOUT_MS, message: `training step ≥ ${minimum}` })
      .toBeGreaterThanOrEqual(minimum);
  }

  test('prior trains with live loss and cosines', async ({ page }) => {
    const trainer = await openTrainer(page);
    await trainer.getByRole('button', { name: 'Start' }).click();
    await waitForStep(trainer, 10);
    await trainer.getByRole('button', { name: 'Pause' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');

    await expect(trainer.getByRole('img', { name: /^Prior training loss by step\. Latest values: Prior loss .* \d/ })).toBeVisible();
    const cosines = trainer.getByRole('table', { name: /^Cosine between the prior's prediction .*, step \d+$/ });
    await expect(cosines.getByRole('row')).toHaveCount(11);
    await expect(trainer.getByRole('button', { name: 'Decoder' })).toHaveAttribute('aria-disabled', 'true');

    await trainer.getByRole('button', { name: 'Reset' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('not started');
    await expect(trainer.getByTestId('training-step')).toHaveText('0');
  });

  test('decoder trains with sample previews', async ({ page }) => {
    const trainer = await openTrainer(page);
    await trainer.getByRole('button', { name: 'Decoder' }).click();
    await expect(trainer.getByRole('button', { name: 'Decoder' })).toHaveAttribute('aria-pressed', 'true');

    await trainer.getByRole('button', { name: 'Start' }).click();
    await waitForStep(trainer, 3);
    await trainer.getByRole('button', { name: 'Pause' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    await trainer.getByRole('button', { name: 'Run one training step' }).click();

    await expect(trainer.getByRole('img', { name: /^Decoder training loss by step\. Latest values: Decoder loss/ })).toBeVisible();
    await expect(trainer.getByRole('img', { name: 'Preview digit 1, decoded from its embedding' })).toBeVisible({ timeout: TRAINING_TIMEOUT_MS });
  });

  /** Sets the chosen model's next run, which ends on its own after `steps` steps. */
  async function setRun(trainer: Locator, steps: number, batchSize: number): Promise<void> {
    await trainer.getByLabel('Steps', { exact: true }).fill(String(steps));
    await trainer.getByLabel('Batch size', { exact: true }).fill(String(batchSize));
  }

  test('saved prior weights survive a page reload', async ({ page }) => {
    const trainer = await openTrainer(page);
    await setRun(trainer, 3, 8);
    await trainer.getByRole('button', { name: 'Start' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('finished', { timeout: TRAINING_TIMEOUT_MS });
    await trainer.getByRole('button', { name: 'Save in this browser' }).click();
    await expect(trainer.getByText('Saved the weights of step 3 in this browser')).toBeVisible();

    await page.reload();
    const reloaded = page.getByRole('region', { name: 'unCLIP trainer' });
    await reloaded.scrollIntoViewIfNeeded();
    await expect(reloaded.getByText('Saved prior weights in this browser: step 3,')).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(reloaded.getByTestId('training-step')).toHaveText('0');

    await reloaded.getByRole('button', { name: 'Load saved' }).click();
    await expect(reloaded.getByText('Loaded the weights saved in this browser: trained for 3 steps.')).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(reloaded.getByTestId('training-step')).toHaveText('3');
    await expect(reloaded.getByTestId('training-state')).toHaveText('weights loaded, not training');
    const cosines = reloaded.getByRole('table', { name: /^Cosine between the prior's prediction .*, step 3$/ });
    await expect(cosines.getByRole('row')).toHaveCount(11);

    // Training continues from the loaded weights, and the counter continues from their step.
    await setRun(reloaded, 2, 8);
    await reloaded.getByRole('button', { name: 'Start from loaded weights' }).click();
    await expect(reloaded.getByTestId('training-state')).toHaveText('finished', { timeout: TRAINING_TIMEOUT_MS });
    await expect(reloaded.getByTestId('training-step')).toHaveText('5');
  });

  test('decoder file uploaded into the prior is rejected', async ({ page }) => {
    const trainer = await openTrainer(page);
    await trainer.getByRole('button', { name: 'Decoder' }).click();
    await setRun(trainer, 1, 2);
    await trainer.getByRole('button', { name: 'Start' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('finished', { timeout: TRAINING_TIMEOUT_MS });
    const downloading = page.waitForEvent('download');
    await trainer.getByRole('button', { name: 'Download' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/^decoder-step1-.*\.udalle$/);
    const bytes = await readFile(await download.path());

    await trainer.getByRole('button', { name: 'Prior' }).click();
    await expect(trainer.getByRole('button', { name: 'Prior' })).toHaveAttribute('aria-pressed', 'true');
    await trainer.getByLabel('Upload a checkpoint file (.udalle) of the chosen unCLIP model').setInputFiles({ name: 'decoder.udalle', mimeType: 'application/octet-stream', buffer: bytes });

    await expect(trainer.getByRole('alert')).toHaveText(/The checkpoint could not be loaded\. .*decoder\.udalle is for model "decoder" \(unCLIP decoder\), this widget needs "prior" \(unCLIP diffusion prior\)/);
    await expect(trainer.getByTestId('training-step')).toHaveText('0');
    await expect(trainer.getByTestId('training-state')).toHaveText('not started');
    await expect(trainer.getByText(/^Loaded /)).toHaveCount(0);
  });
});

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`unCLIP chapter in the ${colorScheme} theme`, () => {
    test.use({ colorScheme });
    test.describe.configure({ timeout: 300_000 });
    test.beforeEach(() => expectShippedWeights(['clip', 'prior', 'decoder', 'classifier']));

    test('has no serious axe violations after sampling', async ({ page }) => {
      const pipeline = await openPipeline(page);
      await pipeline.getByRole('button', { name: 'Sample', exact: true }).click();
      await expect(pipeline.getByTestId('unclip-outcome')).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
      for (const [name, testId] of [
        ['unCLIP variations', 'variations-kept'],
        ['unCLIP interpolation', 'interpolation-outcome'],
        ['unCLIP text diff', 'text-diff-outcome'],
      ] as const) {
        const widget = page.getByRole('region', { name });
        await widget.scrollIntoViewIfNeeded();
        await expect(widget.getByTestId(testId)).toBeVisible({ timeout: SAMPLING_TIMEOUT_MS });
      }
      const trainer = page.getByRole('region', { name: 'unCLIP trainer' });
      await trainer.scrollIntoViewIfNeeded();
      await expect(trainer.getByRole('button', { name: 'Start' })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });

      expect(await seriousAxeViolations(page)).toEqual([]);
    });
  });
}
