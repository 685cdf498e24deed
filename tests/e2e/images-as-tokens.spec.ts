import AxeBuilder from '@axe-core/playwright';
import type { Locator, Page } from '@playwright/test';

import { expect, test } from './fixtures';

const CHAPTER = '/chapters/images-as-tokens/';

/** Model loading and in-browser training on a CPU-only CI runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;
const TRAINING_TIMEOUT_MS = 120_000;

/** Scrolls a widget into view, which hydrates it (`client:visible`), and returns its root. */
async function openWidget(page: Page, name: 'dVAE tokenizer' | 'dVAE trainer'): Promise<Locator> {
  const widget = page.getByRole('region', { name });
  await widget.scrollIntoViewIfNeeded();
  return widget;
}

async function openTokenizer(page: Page): Promise<Locator> {
  await page.goto(CHAPTER);
  const tokenizer = await openWidget(page, 'dVAE tokenizer');
  await expect(tokenizer.getByRole('gridcell').first()).toHaveText(/^\d+$/, { timeout: MODEL_TIMEOUT_MS });
  return tokenizer;
}

async function openTrainer(page: Page): Promise<Locator> {
  await page.goto(CHAPTER);
  const trainer = await openWidget(page, 'dVAE trainer');
  await expect(trainer.getByRole('button', { name: 'Start' })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
  return trainer;
}

function stepCounter(trainer: Locator): Locator {
  return trainer.getByTestId('training-step');
}

async function readStep(trainer: Locator): Promise<number> {
  return Number(await stepCounter(trainer).textContent());
}

/** Waits until the trainer's step counter reaches `minimum`. */
async function waitForStep(trainer: Locator, minimum: number): Promise<void> {
  await expect
    .poll(() => readStep(trainer), { timeout: TRAINING_TIMEOUT_MS, message: `training step ≥ ${minimum}` })
    .toBeGreaterThanOrEqual(minimum);
}

/** Pixels of the reconstruction canvas (the second image of the original/reconstruction pair). */
async function reconstructionPixels(tokenizer: Locator): Promise<number[]> {
  const canvas = tokenizer.getByRole('group', { name: 'The digit and its reconstruction from the tokens' }).locator('canvas').nth(1);
  return canvas.evaluate((element) => {
    const canvasElement = element as HTMLCanvasElement;
    const context = canvasElement.getContext('2d')!;
    return Array.from(context.getImageData(0, 0, canvasElement.width, canvasElement.height).data);
  });
}

test.describe('dVAE tokenizer', () => {
  test('shows a 7×7 grid from pretrained weights', async ({ page }) => {
    const tokenizer = await openTokenizer(page);

    const grid = tokenizer.getByRole('grid', { name: '7×7 token grid of the digit' });
    await expect(grid.getByRole('row')).toHaveCount(7);
    await expect(grid.getByRole('gridcell')).toHaveCount(49);
    await expect(tokenizer.getByText(/TensorFlow\.js backend: /)).toBeVisible();
    await expect(tokenizer.getByRole('img', { name: 'Reconstruction' })).toBeVisible();
  });

  test('changing a token changes the reconstruction', async ({ page }) => {
    const tokenizer = await openTokenizer(page);
    const before = await reconstructionPixels(tokenizer);

    const centre = tokenizer.getByRole('gridcell', { name: /^Row 4, column 4: code \d+/ });
    const codeBefore = Number(await centre.textContent());
    await centre.click();
    const codes = tokenizer.getByRole('listbox', { name: 'Codebook entries' });
    await expect(codes).toBeFocused();
    // Move to a neighbouring code (left at the last code, right otherwise) and pick it.
    await codes.press(codeBefore === 0 ? 'ArrowRight' : 'ArrowLeft');
    await codes.press('Enter');

    await expect(tokenizer.getByRole('img', { name: 'Decoded, 1 token edited' })).toBeVisible();
    await expect(centre).not.toHaveText(String(codeBefore));
    await expect(centre).toBeFocused();
    await expect.poll(() => reconstructionPixels(tokenizer)).not.toEqual(before);
  });

  test('blank drawing gets a message', async ({ page }) => {
    const tokenizer = await openTokenizer(page);

    await tokenizer.getByRole('button', { name: 'Draw a digit' }).click();
    await tokenizer.getByRole('button', { name: 'Tokenise drawing' }).click();

    await expect(tokenizer.getByRole('alert')).toHaveText(/Draw a digit first/);
  });

  test('drawn digit is tokenised', async ({ page }) => {
    const tokenizer = await openTokenizer(page);
    await tokenizer.getByRole('button', { name: 'Draw a digit' }).click();
    const cellsBefore = await tokenizer.getByRole('gridcell').allTextContents();

    // A vertical stroke, roughly a "1", drawn with the mouse.
    const pad = tokenizer.getByRole('application', { name: /Drawing pad/ });
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85, { steps: 12 });
    await page.mouse.up();

    await expect.poll(() => tokenizer.getByRole('gridcell').allTextContents()).not.toEqual(cellsBefore);
    await expect(tokenizer.getByText(/Referee classifier: the original reads as \d/)).toBeVisible();
  });
});

test.describe('dVAE trainer', () => {
  // Each test trains in the browser; two at once on a small runner slow both down.
  test.describe.configure({ mode: 'serial', timeout: 240_000 });

  test('20 training steps update the loss chart', async ({ page }) => {
    const trainer = await openTrainer(page);
    const lossChart = trainer.getByRole('img', { name: /^Training loss terms by step/ });
    await expect(lossChart).toHaveAccessibleName(/Press Start to train/);

    await trainer.getByRole('button', { name: 'Start' }).click();
    await waitForStep(trainer, 20);

    await expect(lossChart).toHaveAccessibleName(/Latest values: Reconstruction .* \d/);
    const pathLength = await lossChart.locator('path[d^="M"]').first().evaluate((path) => (path as SVGPathElement).getTotalLength());
    expect(pathLength, 'length of the reconstruction-loss line').toBeGreaterThan(0);
    await expect(trainer.getByRole('img', { name: /^Codebook usage\. Perplexity/ })).toBeVisible();
    await expect(trainer.getByRole('img', { name: 'Test digit 1, reconstructed' })).toBeVisible();
  });

  test('pause holds the step counter and resume continues', async ({ page }) => {
    const trainer = await openTrainer(page);
    await trainer.getByRole('button', { name: 'Start' }).click();
    await waitForStep(trainer, 10);

    await trainer.getByRole('button', { name: 'Pause' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    const pausedAt = await readStep(trainer);
    await page.waitForTimeout(2_000);
    expect(await readStep(trainer), 'step counter two seconds after pausing').toBe(pausedAt);

    await trainer.getByRole('button', { name: 'Run one training step' }).click();
    await expect(stepCounter(trainer)).toHaveText(String(pausedAt + 1));

    await trainer.getByRole('button', { name: 'Resume' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('training');
    await waitForStep(trainer, pausedAt + 6);
  });

  test('saved weights survive a page reload', async ({ page }) => {
    const trainer = await openTrainer(page);
    await trainer.getByRole('button', { name: 'Start' }).click();
    await waitForStep(trainer, 10);
    await trainer.getByRole('button', { name: 'Pause' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    const trainedSteps = await readStep(trainer);

    await trainer.getByRole('button', { name: 'Save in this browser' }).click();
    await expect(trainer.getByText(`Saved the weights of step ${trainedSteps} in this browser`)).toBeVisible();

    await page.reload();
    const reloaded = await openWidget(page, 'dVAE trainer');
    await expect(reloaded.getByText(`Saved in this browser: step ${trainedSteps},`)).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(stepCounter(reloaded)).toHaveText('0');

    await reloaded.getByRole('button', { name: 'Load saved' }).click();
    await expect(stepCounter(reloaded)).toHaveText(String(trainedSteps));
    await expect(reloaded.getByText(`trained for ${trainedSteps} steps`)).toBeVisible();
    await expect(reloaded.getByRole('img', { name: 'Test digit 1, reconstructed' })).toBeVisible();

    // Training continues from the loaded weights, and the counter continues from their step.
    await reloaded.getByRole('button', { name: 'Start from loaded weights' }).click();
    await waitForStep(reloaded, trainedSteps + 5);
  });

  test('uploaded foreign file is rejected', async ({ page }) => {
    const trainer = await openTrainer(page);

    await trainer.getByLabel('Upload a dVAE checkpoint file (.udalle)').setInputFiles({
      name: 'notes.udalle',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('These are lecture notes, not model weights.\n'),
    });

    await expect(trainer.getByRole('alert')).toHaveText(/The checkpoint could not be loaded\. .*notes\.udalle.* not a checkpoint file/);
    await expect(stepCounter(trainer)).toHaveText('0');
    await expect(trainer.getByText(/^Loaded /)).toHaveCount(0);
  });
});

test.describe('backend fallback', () => {
  // Headless Chromium has no WebGPU adapter, so the requested backend fails to start.
  test('unavailable requested backend falls back with a note', async ({ page }) => {
    await page.goto(`${CHAPTER}?backend=webgpu`);
    const tokenizer = await openWidget(page, 'dVAE tokenizer');

    const badge = tokenizer.getByText(/TensorFlow\.js backend: /);
    await expect(badge).toHaveText(/backend: (WebGL|WebAssembly|plain JavaScript \(CPU\)) \(requested WebGPU\)/, {
      timeout: MODEL_TIMEOUT_MS,
    });
    await expect(tokenizer.getByRole('note')).toContainText('webgpu failed to start');
    await expect(tokenizer.getByRole('gridcell').first()).toHaveText(/^\d+$/, { timeout: MODEL_TIMEOUT_MS });
  });
});

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`chapter with hydrated widgets in the ${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test('has no serious axe violations', async ({ page }) => {
      const tokenizer = await openTokenizer(page);
      const trainer = await openWidget(page, 'dVAE trainer');
      await expect(trainer.getByRole('button', { name: 'Start' })).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
      // Open the code picker too, so that its listbox is checked.
      await tokenizer.getByRole('gridcell').first().click();
      await expect(tokenizer.getByRole('listbox', { name: 'Codebook entries' })).toBeVisible();

      const results = await new AxeBuilder({ page }).analyze();
      const seriousViolations = results.violations
        .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
        .map((violation) => ({
          rule: violation.id,
          impact: violation.impact,
          help: violation.help,
          targets: violation.nodes.map((node) => node.target.join(' ')),
        }));

      expect(seriousViolations).toEqual([]);
    });
  });
}
