import type { Locator, Page } from '@playwright/test';

import { seriousAxeViolations } from './site';
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

/** Box of the rendered text of an element (HTML or SVG), which may overflow the element's own box. */
async function textBox(element: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  return element.evaluate((node) => {
    const range = document.createRange();
    range.selectNodeContents(node);
    const { x, y, width, height } = range.getBoundingClientRect();
    return { x, y, width, height };
  });
}

/** Checks that the text of `content` lies inside the plot area of a D3 chart: right of its y axis and above its x axis. */
async function expectInsidePlotArea(chart: Locator, content: Locator): Promise<void> {
  // D3 draws each axis line as a path of class "domain"; the x axis comes first in the chart.
  const [xAxis, yAxis] = await chart.locator('.domain').all();
  const contentBox = await textBox(content);
  const yAxisBox = (await yAxis.boundingBox())!;
  const xAxisBox = (await xAxis.boundingBox())!;
  expect(contentBox.x, 'left edge of the text, right of the y axis').toBeGreaterThanOrEqual(yAxisBox.x + yAxisBox.width);
  expect(contentBox.y + contentBox.height, 'bottom edge of the text, above the x axis').toBeLessThanOrEqual(xAxisBox.y);
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

  test('token edit changes and restores the reconstruction', async ({ page }) => {
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
    await expect(centre).toHaveAccessibleName(/: code \d+, changed by you$/);
    await expect.poll(() => reconstructionPixels(tokenizer)).not.toEqual(before);

    // The help text under the grid changes when the cell loses hover and focus. The button
    // below it must not move, because a click whose mouse-up lands elsewhere is lost.
    const restore = tokenizer.getByRole('button', { name: "Restore the encoder's tokens" });
    const restoreBox = await restore.boundingBox();
    await page.mouse.move(0, 0);
    await centre.blur();
    expect(await restore.boundingBox(), 'Restore button box after the cell lost hover and focus').toEqual(restoreBox);

    await centre.focus();
    await restore.click();
    await expect(tokenizer.getByRole('img', { name: 'Reconstruction' })).toBeVisible();
    await expect(centre).toHaveText(String(codeBefore));
    await expect(centre).toHaveAccessibleName(/: code \d+, probability \d\.\d\d$/);
    // The button has gone with the edit, so focus moves to the grid.
    await expect(centre).toBeFocused();
  });

  test('blank drawing gets a message', async ({ page }) => {
    const tokenizer = await openTokenizer(page);

    await tokenizer.getByRole('button', { name: 'Draw a digit' }).click();
    // The blank pad has no tokens: the test digit's outputs are gone.
    await expect(tokenizer.getByRole('gridcell').first()).toHaveText('·');
    await expect(tokenizer.getByRole('img', { name: 'Reconstruction' })).toHaveCount(0);

    await tokenizer.getByRole('button', { name: 'Tokenise drawing' }).click();

    await expect(tokenizer.getByRole('alert')).toHaveText(/Draw a digit first/);
  });

  test('drawn digit is tokenised', async ({ page }) => {
    const tokenizer = await openTokenizer(page);
    const testDigitCells = await tokenizer.getByRole('gridcell').allTextContents();
    await tokenizer.getByRole('button', { name: 'Draw a digit' }).click();

    // A vertical stroke, roughly a "1", drawn with the mouse.
    const pad = tokenizer.getByRole('application', { name: /Drawing pad/ });
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85, { steps: 12 });
    await page.mouse.up();

    await expect(tokenizer.getByText(/Referee classifier: the original reads as \d/)).toBeVisible();
    await expect(tokenizer.getByRole('gridcell').first()).toHaveText(/^\d+$/);
    const drawnCells = await tokenizer.getByRole('gridcell').allTextContents();
    expect(drawnCells, 'tokens of the drawing').not.toEqual(testDigitCells);

    // The drawing stays on the pad while the test digits are shown, and its tokens come back with it.
    await tokenizer.getByRole('button', { name: 'Test digits' }).click();
    await expect.poll(() => tokenizer.getByRole('gridcell').allTextContents()).toEqual(testDigitCells);
    await tokenizer.getByRole('button', { name: 'Draw a digit' }).click();
    await expect.poll(() => tokenizer.getByRole('gridcell').allTextContents()).toEqual(drawnCells);

    // Clearing the pad clears the outputs; focus moves from the now disabled Clear button to the pad.
    await tokenizer.getByRole('button', { name: 'Clear' }).click();
    await expect(tokenizer.getByRole('gridcell').first()).toHaveText('·');
    await expect(tokenizer.getByText(/Referee classifier/)).toHaveCount(0);
    await expect(pad).toBeFocused();

    // A single tap would be enlarged into a filled disc; it is rejected instead of tokenised.
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect(tokenizer.getByRole('alert')).toHaveText('Draw a larger digit: this mark is too small to read as one.');
    await expect(tokenizer.getByRole('gridcell').first()).toHaveText('·');
  });
});

test.describe('dVAE trainer', () => {
  // Each test trains in the browser; two at once on a small runner slow both down.
  test.describe.configure({ mode: 'serial', timeout: 240_000 });

  test('20 training steps update the loss chart', async ({ page }) => {
    const trainer = await openTrainer(page);
    const lossChart = trainer.getByRole('img', { name: /^Training loss terms by step/ });
    await expect(lossChart).toHaveAccessibleName(/Press Start to train/);
    for (const [chartName, emptyText] of [
      [/^Training loss terms by step/, 'Press Start to train.'],
      [/^Relaxation temperature and KL weight by step/, 'The schedules appear as training runs.'],
    ] as const) {
      await expectInsidePlotArea(trainer.getByRole('img', { name: chartName }), trainer.getByText(emptyText, { exact: true }));
    }

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

    const pause = trainer.getByRole('button', { name: 'Pause' });
    const resume = trainer.getByRole('button', { name: 'Resume' });
    await pause.click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    // Pause is now unavailable, so focus moves on to Resume.
    await expect(resume).toBeFocused();
    const pausedAt = await readStep(trainer);
    await page.waitForTimeout(2_000);
    expect(await readStep(trainer), 'step counter two seconds after pausing').toBe(pausedAt);

    const step = trainer.getByRole('button', { name: 'Run one training step' });
    await step.click();
    await expect(stepCounter(trainer)).toHaveText(String(pausedAt + 1));
    await expect(step).toBeFocused();

    await resume.click();
    await expect(trainer.getByTestId('training-state')).toHaveText('training');
    await expect(pause).toBeFocused();
    await waitForStep(trainer, pausedAt + 6);
  });

  test('saved weights survive a page reload', async ({ page }) => {
    const trainer = await openTrainer(page);
    await trainer.getByRole('button', { name: 'Start' }).click();
    await waitForStep(trainer, 10);
    await trainer.getByRole('button', { name: 'Pause' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    const trainedSteps = await readStep(trainer);

    const save = trainer.getByRole('button', { name: 'Save in this browser' });
    await save.click();
    await expect(trainer.getByText(`Saved the weights of step ${trainedSteps} in this browser`)).toBeVisible();
    await expect(save).toBeFocused();

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

    // Reset returns every view to its state at page load, without the loaded weights' step count.
    await reloaded.getByRole('button', { name: 'Reset' }).click();
    await expect(reloaded.getByTestId('training-state')).toHaveText('not started');
    await expect(stepCounter(reloaded).locator('xpath=..')).toHaveText('Step 0');
    await expect(reloaded.getByRole('img', { name: /^Training loss terms by step/ })).toHaveAccessibleName(/Press Start to train/);
    await expect(reloaded.getByText('No codebook usage yet.', { exact: true })).toBeVisible();
    await expect(reloaded.getByRole('img', { name: 'Test digit 1, reconstructed' })).toHaveCount(0);
    // Reset is now unavailable, so focus moves on to Start.
    await expect(reloaded.getByRole('button', { name: 'Start' })).toBeFocused();
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

      const seriousViolations = await seriousAxeViolations(page);

      expect(seriousViolations).toEqual([]);
    });
  });
}
