import { readFileSync } from 'node:fs';

import type { BrowserContext, Locator, Page } from '@playwright/test';

import { seriousAxeViolations, waitForHydration } from './site';
import { expect, test } from './fixtures';

/** Reads a shipped model card, whose training run bounds the trainers' fields. */
function readCard(model: string) {
  return JSON.parse(readFileSync(`public/models/${model}/card.json`, 'utf8'));
}

const dvaeCard = readCard('dvae');

/** Starting the model worker, and loading CLIP for the map, take tens of seconds on a CPU-only CI runner. */
const MODEL_TIMEOUT_MS = 60_000;

const LOCKED_HINT = 'Set by the instructor';

type TrainerName = 'dVAE trainer' | 'CLIP trainer' | 'DALL·E trainer' | 'unCLIP trainer';

/** The button that starts a run: "Start" in the dVAE and unCLIP trainers, "Train" in the others. */
const START_BUTTON: Record<TrainerName, string> = {
  'dVAE trainer': 'Start',
  'CLIP trainer': 'Train',
  'DALL·E trainer': 'Train',
  'unCLIP trainer': 'Start',
};

/** Opens a page with a trainer and waits until its model worker runs. */
async function openTrainer(page: Page, path: string, name: TrainerName): Promise<Locator> {
  await page.goto(path);
  const trainer = page.getByRole('region', { name });
  await trainer.scrollIntoViewIfNeeded();
  await waitForHydration(trainer);
  await expect(trainer.getByRole('button', { name: START_BUTTON[name], exact: true })).toHaveAttribute('aria-disabled', 'false', {
    timeout: MODEL_TIMEOUT_MS,
  });
  return trainer;
}

/** Opens a page with the CLIP embedding map and waits until it has drawn its points. */
async function openMap(page: Page, path: string, points: number): Promise<Locator> {
  await page.goto(path);
  const map = page.getByRole('region', { name: 'CLIP embedding map' });
  await map.scrollIntoViewIfNeeded();
  await waitForHydration(map);
  await expect(map.locator('.points path')).toHaveCount(points, { timeout: MODEL_TIMEOUT_MS });
  return map;
}

function field(widget: Locator, name: string): Locator {
  return widget.getByRole('spinbutton', { name, exact: true });
}

/** Fills the run settings of a trainer. Pressing Tab commits each value as a reader would. */
async function setRun(trainer: Locator, run: { steps: number; batchSize: number; seed: number }): Promise<void> {
  for (const [name, value] of [
    ['Steps', run.steps],
    ['Batch size', run.batchSize],
    ['Seed', run.seed],
  ] as const) {
    await field(trainer, name).fill(String(value));
    await field(trainer, name).press('Tab');
  }
}

async function expectRun(trainer: Locator, run: { steps: number; batchSize: number; seed: number }): Promise<void> {
  await expect(field(trainer, 'Steps')).toHaveValue(String(run.steps));
  await expect(field(trainer, 'Batch size')).toHaveValue(String(run.batchSize));
  await expect(field(trainer, 'Seed')).toHaveValue(String(run.seed));
}

/** Presses the copy button and returns the link's query parameters. */
async function copyLink(page: Page, widget: Locator): Promise<URLSearchParams> {
  await widget.getByRole('button', { name: 'Copy link to this state' }).click();
  await expect(widget.getByRole('status').filter({ hasText: 'Link copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(page.url());
  return new URL(page.url()).searchParams;
}

/** Accessible name of each trainer's loss chart, which ends with the latest loss terms once a run has reported. */
const LOSS_CHART = {
  'dVAE trainer': 'Training loss terms by step',
  'CLIP trainer': 'Contrastive loss by step',
} as const satisfies Partial<Record<TrainerName, string>>;

/** Runs a trainer's run to its last step and returns its loss chart's text alternative. */
async function trainToEnd(trainer: Locator, name: keyof typeof LOSS_CHART, steps: number): Promise<string> {
  await trainer.getByRole('button', { name: START_BUTTON[name], exact: true }).click();
  await expect(trainer.getByTestId('training-state')).toHaveText('finished', { timeout: MODEL_TIMEOUT_MS });
  await expect(trainer.getByTestId('training-step')).toHaveText(String(steps));
  const chart = trainer.getByRole('img', { name: new RegExp(`^${LOSS_CHART[name]}\\. Latest values:`) });
  return (await chart.getAttribute('aria-label'))!;
}

async function grantClipboard(context: BrowserContext): Promise<void> {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
}

test.describe('trainer embed pages', () => {
  test('dVAE embed locks steps and seed', async ({ page }) => {
    const trainer = await openTrainer(page, '/embed/dvae-trainer/?dvaetrain.steps=40&dvaetrain.batchSize=8&dvaetrain.seed=7&lock=steps,seed', 'dVAE trainer');

    await expect(page.locator('nav.sidebar')).toHaveCount(0);
    await expectRun(trainer, { steps: 40, batchSize: 8, seed: 7 });
    await expect(field(trainer, 'Steps')).toBeDisabled();
    await expect(field(trainer, 'Steps')).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(field(trainer, 'Seed')).toBeDisabled();
    await expect(trainer.getByRole('button', { name: 'Next seed' })).toBeDisabled();
    await expect(field(trainer, 'Batch size')).toBeEnabled();
    await expect(trainer.getByText(LOCKED_HINT)).toHaveCount(2);
  });

  test('dVAE embed notes out-of-range values', async ({ page }) => {
    const trainer = await openTrainer(page, `/embed/dvae-trainer/?dvaetrain.steps=999999&dvaetrain.seed=-3`, 'dVAE trainer');

    const notes = trainer.getByRole('list', { name: 'Notes on settings from the link or the page' });
    await expect(notes).toContainText(`Link parameter dvaetrain.steps "999999" is above ${dvaeCard.training.steps}`);
    await expect(notes).toContainText('Link parameter dvaetrain.seed "-3" is below 0');
    await expect(field(trainer, 'Steps')).toHaveValue(String(dvaeCard.training.steps));
    await expect(field(trainer, 'Seed')).toHaveValue('0');
  });

  test('cleared field keeps the run from starting', async ({ page }) => {
    const trainer = await openTrainer(page, '/embed/dvae-trainer/', 'dVAE trainer');

    await field(trainer, 'Batch size').fill('');
    await trainer.getByRole('button', { name: 'Start', exact: true }).click();

    await expect(trainer.getByRole('alert')).toHaveText(`Batch size is empty: enter a whole number from 1 to ${dvaeCard.training.batchSize}.`);
    await expect(trainer.getByTestId('training-state')).toHaveText('not started');
  });

  test('CLIP trainer embed locks the matrix view', async ({ page }) => {
    const trainer = await openTrainer(page, '/embed/clip-trainer/?cliptrain.steps=30&cliptrain.batchSize=16&cliptrain.matrix=probability&lock=matrix,batchSize', 'CLIP trainer');

    await expectRun(trainer, { steps: 30, batchSize: 16, seed: 1 });
    await expect(field(trainer, 'Batch size')).toBeDisabled();
    const softmax = trainer.getByRole('button', { name: 'Softmax over captions' });
    await expect(softmax).toHaveAttribute('aria-pressed', 'true');
    await expect(softmax).toBeDisabled();
    await expect(trainer.getByRole('button', { name: 'Cosine similarity' })).toBeDisabled();
    await expect(trainer.getByRole('group', { name: 'Matrix values' })).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(trainer.getByText(LOCKED_HINT)).toHaveCount(2);
  });

  test('DALL·E trainer embed locks the batch size', async ({ page }) => {
    const trainer = await openTrainer(page, '/embed/dalle-trainer/?dalletrain.steps=12&dalletrain.batchSize=4&dalletrain.seed=3&lock=batchSize', 'DALL·E trainer');

    await expectRun(trainer, { steps: 12, batchSize: 4, seed: 3 });
    await expect(field(trainer, 'Batch size')).toBeDisabled();
    await expect(field(trainer, 'Batch size')).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(field(trainer, 'Steps')).toBeEnabled();
    await expect(trainer.getByText(LOCKED_HINT)).toHaveCount(1);
  });

  test('unCLIP trainer embed locks model and steps', async ({ page }) => {
    const path = '/embed/unclip-trainer/?uncliptrain.model=decoder&uncliptrain.decoderSteps=20&uncliptrain.decoderBatchSize=4&lock=model,decoderSteps';
    const trainer = await openTrainer(page, path, 'unCLIP trainer');

    const decoder = trainer.getByRole('button', { name: 'Decoder' });
    await expect(decoder).toHaveAttribute('aria-pressed', 'true');
    await expect(decoder).toBeDisabled();
    await expect(trainer.getByRole('button', { name: 'Prior' })).toBeDisabled();
    await expect(trainer.getByRole('group', { name: 'Model to train' })).toHaveAccessibleDescription(LOCKED_HINT);
    await expectRun(trainer, { steps: 20, batchSize: 4, seed: 1 });
    await expect(field(trainer, 'Steps')).toBeDisabled();
    await expect(field(trainer, 'Batch size')).toBeEnabled();
    await expect(trainer.getByText(LOCKED_HINT)).toHaveCount(2);
  });

  test('map embed hides captions and locks the seed', async ({ page }) => {
    // 300 images and 10 prompts, because the 300 captions are hidden.
    const map = await openMap(page, '/embed/clip-embedding-map/?clipmap.captions=hidden&clipmap.captionSeed=5&lock=captions,captionSeed', 310);

    const captions = map.getByRole('button', { name: 'Captions', exact: true });
    await expect(captions).toHaveAttribute('aria-pressed', 'false');
    await expect(captions).toBeDisabled();
    await expect(captions).toHaveAccessibleDescription(LOCKED_HINT);
    await expect(map.getByRole('button', { name: 'Images' })).toBeEnabled();
    const seed = field(map, 'Caption seed');
    await expect(seed).toHaveValue('5');
    await expect(seed).toBeDisabled();
    await expect(map.getByRole('button', { name: 'Next seed' })).toBeDisabled();
    await expect(map.getByText(LOCKED_HINT)).toHaveCount(2);
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    test(`locked embeds have no serious axe violations in ${colorScheme}`, async ({ page }) => {
      test.setTimeout(90_000);
      await page.emulateMedia({ colorScheme });

      const trainer = await openTrainer(page, '/embed/unclip-trainer/?uncliptrain.priorSteps=abc&lock=model,priorSteps,seed', 'unCLIP trainer');
      await expect(page.locator('html')).toHaveAttribute('data-theme', colorScheme);
      await expect(trainer.getByText(LOCKED_HINT)).toHaveCount(3);
      await field(trainer, 'Batch size').fill('');
      await trainer.getByRole('button', { name: 'Start', exact: true }).click();
      await expect(trainer.getByRole('alert')).toBeVisible();
      expect(await seriousAxeViolations(page)).toEqual([]);

      // 300 captions and 10 prompts, because the images are hidden.
      const map = await openMap(page, '/embed/clip-embedding-map/?clipmap.images=hidden&lock=images', 310);
      await expect(map.getByText(LOCKED_HINT)).toHaveCount(1);
      await field(map, 'Caption seed').fill('-4');
      await field(map, 'Caption seed').press('Tab');
      await expect(map.getByRole('alert')).toHaveText('Caption seed -4 is below 0, so 0 is used instead.');
      await expect(map.locator('p.summary')).toContainText('drawn with caption seed 0', { timeout: MODEL_TIMEOUT_MS });
      expect(await seriousAxeViolations(page)).toEqual([]);
    });
  }
});

test.describe('trainer shared links', () => {
  test('dVAE link repeats the same loss', async ({ page, context }) => {
    // Two runs of three small steps, each loading the training digits first.
    test.setTimeout(120_000);
    await grantClipboard(context);
    const run = { steps: 3, batchSize: 4, seed: 11 };
    const trainer = await openTrainer(page, '/chapters/images-as-tokens/', 'dVAE trainer');
    await setRun(trainer, run);
    const loss = await trainToEnd(trainer, 'dVAE trainer', run.steps);

    const params = await copyLink(page, trainer);
    expect(params.get('dvaetrain.steps')).toBe('3');
    expect(params.get('dvaetrain.batchSize')).toBe('4');
    expect(params.get('dvaetrain.seed')).toBe('11');
    await page.reload();

    const restored = await openTrainer(page, page.url(), 'dVAE trainer');
    await expectRun(restored, run);
    expect(await trainToEnd(restored, 'dVAE trainer', run.steps)).toBe(loss);
  });

  test('CLIP trainer link repeats the same loss', async ({ page, context }) => {
    test.setTimeout(120_000);
    await grantClipboard(context);
    const run = { steps: 3, batchSize: 16, seed: 4 };
    const trainer = await openTrainer(page, '/chapters/clip/', 'CLIP trainer');
    await setRun(trainer, run);
    await trainer.getByRole('button', { name: 'Softmax over captions' }).click();
    const loss = await trainToEnd(trainer, 'CLIP trainer', run.steps);

    const params = await copyLink(page, trainer);
    expect(params.get('cliptrain.steps')).toBe('3');
    expect(params.get('cliptrain.batchSize')).toBe('16');
    expect(params.get('cliptrain.seed')).toBe('4');
    expect(params.get('cliptrain.matrix')).toBe('probability');
    await page.reload();

    const restored = await openTrainer(page, page.url(), 'CLIP trainer');
    await expectRun(restored, run);
    await expect(restored.getByRole('button', { name: 'Softmax over captions' })).toHaveAttribute('aria-pressed', 'true');
    expect(await trainToEnd(restored, 'CLIP trainer', run.steps)).toBe(loss);
  });

  test('DALL·E trainer link restores its settings', async ({ page, context }) => {
    await grantClipboard(context);
    const trainer = await openTrainer(page, '/chapters/dalle/', 'DALL·E trainer');
    await setRun(trainer, { steps: 50, batchSize: 8, seed: 21 });

    const params = await copyLink(page, trainer);
    expect(params.get('dalletrain.steps')).toBe('50');
    expect(params.get('dalletrain.batchSize')).toBe('8');
    expect(params.get('dalletrain.seed')).toBe('21');
    await page.reload();

    const restored = await openTrainer(page, page.url(), 'DALL·E trainer');
    await expectRun(restored, { steps: 50, batchSize: 8, seed: 21 });
  });

  test('unCLIP trainer link restores model and runs', async ({ page, context }) => {
    await grantClipboard(context);
    const trainer = await openTrainer(page, '/chapters/unclip/', 'unCLIP trainer');
    await setRun(trainer, { steps: 30, batchSize: 16, seed: 8 });
    await trainer.getByRole('button', { name: 'Decoder' }).click();
    await expect(trainer.getByRole('group', { name: "Settings of the decoder's next run" })).toBeVisible();
    // The seed follows the reader to the other model.
    await expect(field(trainer, 'Seed')).toHaveValue('8');
    await field(trainer, 'Steps').fill('6');
    await field(trainer, 'Batch size').fill('2');
    await field(trainer, 'Batch size').press('Tab');

    const params = await copyLink(page, trainer);
    expect(params.get('uncliptrain.model')).toBe('decoder');
    expect(params.get('uncliptrain.priorSteps')).toBe('30');
    expect(params.get('uncliptrain.priorBatchSize')).toBe('16');
    expect(params.get('uncliptrain.decoderSteps')).toBe('6');
    expect(params.get('uncliptrain.decoderBatchSize')).toBe('2');
    expect(params.get('uncliptrain.seed')).toBe('8');
    await page.reload();

    const restored = await openTrainer(page, page.url(), 'unCLIP trainer');
    await expect(restored.getByRole('button', { name: 'Decoder' })).toHaveAttribute('aria-pressed', 'true');
    await expectRun(restored, { steps: 6, batchSize: 2, seed: 8 });
    await restored.getByRole('button', { name: 'Prior' }).click();
    await expectRun(restored, { steps: 30, batchSize: 16, seed: 8 });
  });

  test('map link restores points and captions', async ({ page, context }) => {
    test.setTimeout(90_000);
    await grantClipboard(context);
    const map = await openMap(page, '/chapters/clip/', 610);
    await map.getByRole('button', { name: 'Prompts' }).click();
    await map.getByRole('button', { name: 'Next seed' }).click();
    await expect(field(map, 'Caption seed')).toHaveValue('2');
    const summaryText = map.locator('p.summary');
    await expect(summaryText).toContainText('drawn with caption seed 2', { timeout: MODEL_TIMEOUT_MS });
    const summary = await summaryText.textContent();

    const params = await copyLink(page, map);
    expect(params.get('clipmap.images')).toBe('shown');
    expect(params.get('clipmap.captions')).toBe('shown');
    expect(params.get('clipmap.prompts')).toBe('hidden');
    expect(params.get('clipmap.captionSeed')).toBe('2');
    await page.reload();

    // 300 images and their 300 captions, because the prompts are hidden.
    const restored = await openMap(page, page.url(), 600);
    await expect(restored.getByRole('button', { name: 'Prompts' })).toHaveAttribute('aria-pressed', 'false');
    await expect(field(restored, 'Caption seed')).toHaveValue('2');
    await expect(restored.locator('p.summary')).toHaveText(summary!, { timeout: MODEL_TIMEOUT_MS });
  });
});
