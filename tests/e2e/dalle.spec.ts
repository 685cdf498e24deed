import { readFile } from 'node:fs/promises';

import type { Locator, Page } from '@playwright/test';

import { seriousAxeViolations } from './site';
import { expect, test } from './fixtures';

const CHAPTER = '/chapters/dalle/';

/** Model loading and sampling on a CPU-only CI runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;
const TRAINING_TIMEOUT_MS = 180_000;

type WidgetName = 'DALL·E generation' | 'DALL·E samples' | 'DALL·E trainer';

/** Scrolls a widget into view, which hydrates it (`client:visible`), and returns its root. */
async function openWidget(page: Page, name: WidgetName): Promise<Locator> {
  await page.goto(CHAPTER);
  const widget = page.getByRole('region', { name });
  await widget.scrollIntoViewIfNeeded();
  return widget;
}

/** Opens a sampling widget and waits until its model is loaded and the first prompt has been read. */
async function openSampler(page: Page, name: 'DALL·E generation' | 'DALL·E samples'): Promise<Locator> {
  const widget = await openWidget(page, name);
  await expect(widget.getByRole('list', { name: 'Tokens the model reads' })).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
  return widget;
}

function promptInput(widget: Locator): Locator {
  return widget.getByRole('textbox', { name: 'Prompt' });
}

function drawnCount(generator: Locator): Locator {
  return generator.getByTestId('drawn-count');
}

/** Generates one sample and waits until it is finished and inspected. */
async function generate(generator: Locator): Promise<void> {
  await generator.getByRole('button', { name: 'Generate' }).click();
  await expect(drawnCount(generator)).toHaveText('49', { timeout: MODEL_TIMEOUT_MS });
  await expect(generator.getByRole('list', { name: /^Five most likely codes at position/ })).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
}

/** Cells of the generation grid that show a drawn code. */
async function drawnCells(generator: Locator): Promise<string[]> {
  const cells = await generator.getByRole('table', { name: /image tokens, drawn one at a time/ }).getByRole('cell').allTextContents();
  return cells.map((text) => text.trim()).filter((text) => /^\d+$/.test(text));
}

/** Returns an FNV-1a hash of a canvas's pixels: the heatmap's canvas is too large to compare value by value. */
async function canvasDigest(canvas: Locator): Promise<number> {
  return canvas.evaluate((element) => {
    const canvasElement = element as HTMLCanvasElement;
    const { data } = canvasElement.getContext('2d')!.getImageData(0, 0, canvasElement.width, canvasElement.height);
    let hash = 0x811c9dc5;
    for (const byte of data) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return hash;
  });
}

/** Returns the sample images of the samples widget, in the order shown. */
function sampleImages(samples: Locator): Locator {
  return samples.getByRole('group', { name: /^Samples / }).getByRole('img');
}

async function sampleNames(samples: Locator): Promise<string[]> {
  return sampleImages(samples).evaluateAll((elements) => elements.map((element) => element.getAttribute('aria-label') ?? ''));
}

test.describe('DALL·E samples', () => {
  test('samples digits from pretrained weights', async ({ page }) => {
    const samples = await openSampler(page, 'DALL·E samples');

    await samples.getByRole('button', { name: 'Sample', exact: true }).click();

    await expect(samples.getByTestId('samples-summary')).toContainText('16 samples in', { timeout: MODEL_TIMEOUT_MS });
    await expect(sampleImages(samples)).toHaveCount(16);
    await expect(sampleImages(samples).first()).toHaveAccessibleName(/^Sample 1/);
    await expect(samples.getByText(/TensorFlow\.js backend: /)).toBeVisible();
  });

  test('rerank sorts by descending CLIP score', async ({ page }) => {
    const samples = await openSampler(page, 'DALL·E samples');
    const count = samples.getByRole('spinbutton', { name: 'Samples' });
    await count.fill('8');
    await count.press('Tab');

    await samples.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect(sampleImages(samples)).toHaveCount(8, { timeout: MODEL_TIMEOUT_MS });
    const drawnOrder = await sampleNames(samples);
    expect(drawnOrder.join('\n'), 'names before reranking').not.toContain('CLIP score');

    await samples.getByRole('checkbox', { name: /Rerank with CLIP/ }).check();
    await expect(samples.getByTestId('samples-summary')).toContainText('reranked by CLIP', { timeout: MODEL_TIMEOUT_MS });
    const names = await sampleNames(samples);
    expect(names).toHaveLength(8);
    const scores = names.map((name) => Number(/CLIP score (-?\d+\.\d+)/.exec(name)?.[1]));
    for (const score of scores) expect(score, `CLIP score in ${JSON.stringify(names)}`).not.toBeNaN();
    const descending = [...scores].sort((a, b) => b - a);
    expect(scores, 'CLIP scores in the order shown').toEqual(descending);
    // The same seed draws the same samples: reranking reorders them and loses none.
    const drawIndices = names.map((name) => Number(/sample (\d+)/.exec(name)?.[1])).sort((a, b) => a - b);
    expect(drawIndices).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await expect(samples.getByText(scores[0].toFixed(3), { exact: false }).first()).toBeVisible();
  });

  test('out-of-range settings are clamped with a message', async ({ page }) => {
    const samples = await openSampler(page, 'DALL·E samples');

    const temperature = samples.getByRole('spinbutton', { name: 'Temperature' });
    await temperature.fill('9');
    await temperature.press('Tab');
    await expect(temperature).toHaveValue('5');
    await expect(samples.getByText('Temperature must be from 0 to 5; 9 was changed to 5.')).toBeVisible();

    const count = samples.getByRole('spinbutton', { name: 'Samples' });
    await count.fill('1000');
    await count.press('Tab');
    await expect(count).toHaveValue('64');
    await expect(samples.getByText('Samples must be a whole number from 1 to 64; 1000 was changed to 64.')).toBeVisible();
  });
});

test.describe('DALL·E prompts', () => {
  test('empty prompt sends nothing', async ({ page }) => {
    const samples = await openSampler(page, 'DALL·E samples');

    await promptInput(samples).fill('   ');
    await samples.getByRole('button', { name: 'Sample', exact: true }).click();

    await expect(samples.getByRole('alert')).toHaveText('Type a prompt first: the prompt is empty, so nothing was sampled.');
    await expect(samples.getByTestId('samples-summary')).toHaveCount(0);
    await expect(sampleImages(samples)).toHaveCount(0);
  });

  test('prompt naming no digit is still sampled', async ({ page }) => {
    const samples = await openSampler(page, 'DALL·E samples');

    await promptInput(samples).fill('a cat');

    await expect(samples.getByText(/^This prompt names no digit/)).toBeVisible();
    await expect(samples.getByText(/^Words the training captions never use: cat\./)).toBeVisible();
    await samples.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect(sampleImages(samples)).toHaveCount(16, { timeout: MODEL_TIMEOUT_MS });
  });

  test('long prompt is truncated with a notice', async ({ page }) => {
    const samples = await openSampler(page, 'DALL·E samples');

    await promptInput(samples).fill('a handwritten seven '.repeat(8));
    await expect(samples.getByText(/^The prompt is longer than the model's 12 text positions, so it was truncated: \d+ tokens were dropped/)).toBeVisible();
    await expect(samples.getByRole('list', { name: 'Tokens the model reads' }).getByRole('listitem')).toHaveCount(12);

    await promptInput(samples).fill('seven '.repeat(100));
    await expect(samples.getByText(/^The prompt is longer than 500 characters/)).toBeVisible();
  });

  test('HTML, emoji and right-to-left text stay text', async ({ page }) => {
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    const samples = await openSampler(page, 'DALL·E samples');
    const html = '<img src=x onerror=alert(1)>';

    await promptInput(samples).fill(html);
    await expect(samples.getByText(/^Words the training captions never use: img, src, x, onerror, alert/)).toBeVisible();
    await samples.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect(sampleImages(samples)).toHaveCount(16, { timeout: MODEL_TIMEOUT_MS });
    await expect(promptInput(samples)).toHaveValue(html);
    await expect(page.locator('img[src="x"]')).toHaveCount(0);
    expect(dialogs, 'dialogs opened by the prompt').toEqual([]);

    await promptInput(samples).fill('a handwritten seven 😀 שבע');
    await expect(samples.getByRole('listitem', { name: /^unknown token/ }).first()).toBeVisible();
    await expect(samples.getByText('שבע', { exact: true })).toBeVisible();
    await expect(samples.getByText(/^Words the training captions never use: שבע\./)).toBeVisible();
  });
});

test.describe('DALL·E generation', () => {
  test('Step advances one token at a time', async ({ page }) => {
    const generator = await openSampler(page, 'DALL·E generation');
    await generate(generator);
    expect(await drawnCells(generator)).toHaveLength(49);
    const finishedDigest = await canvasDigest(generator.getByRole('img', { name: 'Decoded after 49 of 49 tokens' }).locator('canvas'));

    await generator.getByRole('button', { name: 'To start' }).click();
    await expect(drawnCount(generator)).toHaveText('0');
    expect(await drawnCells(generator)).toHaveLength(0);
    await expect(generator.getByText(/^Next: position 1 of 49/)).toBeVisible();

    const step = generator.getByRole('button', { name: 'Step forward one token' });
    await step.click();
    await expect(drawnCount(generator)).toHaveText('1');
    expect(await drawnCells(generator)).toHaveLength(1);
    await expect(generator.getByRole('cell', { name: /^Row 1, column 1: code \d+$/ })).toBeVisible();
    await expect(generator.getByRole('cell', { name: 'Row 1, column 2: not drawn yet, drawn next' })).toBeVisible();
    await expect(generator.getByText(/^Next: position 2 of 49/)).toBeVisible();

    await step.click();
    await expect(drawnCount(generator)).toHaveText('2');
    await expect(generator.getByRole('cell', { name: /^Row 1, column 2: code \d+$/ })).toBeVisible();
    const earlyDigest = await canvasDigest(generator.getByRole('img', { name: 'Decoded after 2 of 49 tokens' }).locator('canvas'));
    expect(earlyDigest, 'decoding after 2 tokens differs from the finished one').not.toEqual(finishedDigest);

    await generator.getByRole('list', { name: 'Five most likely codes at position 3' }).waitFor();
    await expect(generator.getByRole('list', { name: 'Five most likely codes at position 3' }).getByRole('listitem')).toHaveCount(5);

    // Play replays the rest of the sample.
    await generator.getByRole('button', { name: 'Play' }).click();
    await expect(drawnCount(generator)).toHaveText('49', { timeout: 30_000 });
  });

  test('attention heatmap follows layer and head', async ({ page }) => {
    test.setTimeout(90_000);
    const generator = await openSampler(page, 'DALL·E generation');
    await generate(generator);

    const heatmap = generator.getByRole('application', { name: /^Attention weights of layer 1, head 1:/ });
    await expect(heatmap).toBeVisible();
    const firstDigest = await canvasDigest(heatmap.locator('canvas'));

    await generator.getByRole('combobox', { name: 'Layer' }).selectOption('2');
    const secondLayer = generator.getByRole('application', { name: /^Attention weights of layer 2, head 1:/ });
    await expect(secondLayer).toBeVisible();
    await expect.poll(() => canvasDigest(secondLayer.locator('canvas')), { message: 'pixels after choosing layer 2' }).not.toEqual(firstDigest);
    const layerTwoDigest = await canvasDigest(secondLayer.locator('canvas'));

    await generator.getByRole('combobox', { name: 'Head' }).selectOption('3');
    const thirdHead = generator.getByRole('application', { name: /^Attention weights of layer 2, head 3:/ });
    await expect(thirdHead).toBeVisible();
    await expect.poll(() => canvasDigest(thirdHead.locator('canvas')), { message: 'pixels after choosing head 3' }).not.toEqual(layerTwoDigest);

    // The keyboard moves over the cells, and the readout names the cell and its value.
    await thirdHead.focus();
    await thirdHead.press('PageDown');
    await thirdHead.press('End');
    await expect(generator.getByText(/^query img 7,6, key img 7,6: \d/)).toBeVisible();
    await thirdHead.press('Home');
    await expect(generator.getByText(/^query img 7,6, key <bos>: \d/)).toBeVisible();

    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});

test.describe('DALL·E trainer', () => {
  // Each test trains in the browser; two at once on a small runner slow both down.
  test.describe.configure({ mode: 'serial', timeout: 300_000 });

  test('training steps update the loss chart', async ({ page }) => {
    const trainer = await openWidget(page, 'DALL·E trainer');
    const train = trainer.getByRole('button', { name: 'Train', exact: true });
    await expect(train).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
    const chart = trainer.getByRole('img', { name: /^Cross-entropy of the next token by step/ });
    await expect(chart).toHaveAccessibleName(/Press Train to train/);

    await train.click();
    await expect
      .poll(async () => Number(await trainer.getByTestId('training-step').textContent()), { timeout: TRAINING_TIMEOUT_MS, message: 'training step ≥ 5' })
      .toBeGreaterThanOrEqual(5);

    await expect(chart).toHaveAccessibleName(/Latest values: Text cross-entropy \d.* Image cross-entropy \d/);
    await expect(trainer.getByRole('img', { name: 'Sample for “a handwritten zero”' })).toBeVisible({ timeout: TRAINING_TIMEOUT_MS });

    await trainer.getByRole('button', { name: 'Pause' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    const pausedAt = Number(await trainer.getByTestId('training-step').textContent());
    await trainer.getByRole('button', { name: 'Run one training step' }).click();
    await expect(trainer.getByTestId('training-step')).toHaveText(String(pausedAt + 1), { timeout: TRAINING_TIMEOUT_MS });

    await trainer.getByRole('button', { name: 'Reset' }).click();
    await expect(trainer.getByTestId('training-step')).toHaveText('0');
    await expect(chart).toHaveAccessibleName(/Press Train to train/);
  });

  test('Load pretrained shows samples', async ({ page }) => {
    const trainer = await openWidget(page, 'DALL·E trainer');
    const load = trainer.getByRole('button', { name: 'Load pretrained' });
    await expect(load).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });

    await load.click();

    await expect(trainer.getByText(/^Loaded the pretrained weights: trained for \d+ steps\./)).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(trainer.getByRole('img', { name: /^Sample for “a handwritten / })).toHaveCount(10);
    await expect(trainer.getByRole('button', { name: 'Train from loaded weights' })).toBeVisible();
  });

  test('downloaded weights upload again', async ({ page }) => {
    const trainer = await openWidget(page, 'DALL·E trainer');
    const train = trainer.getByRole('button', { name: 'Train', exact: true });
    await expect(train).toBeEnabled({ timeout: MODEL_TIMEOUT_MS });
    // A run of two steps ends on its own.
    await trainer.getByLabel('Steps', { exact: true }).fill('2');
    await trainer.getByLabel('Batch size', { exact: true }).fill('4');
    await train.click();
    await expect(trainer.getByTestId('training-state')).toHaveText('finished', { timeout: TRAINING_TIMEOUT_MS });
    await expect(trainer.getByTestId('training-step')).toHaveText('2');

    const downloading = page.waitForEvent('download');
    await trainer.getByRole('button', { name: 'Download' }).click();
    const download = await downloading;
    const fileName = download.suggestedFilename();
    expect(fileName).toMatch(/^dalle-step2-\d{4}-\d{2}-\d{2}\.udalle$/);
    await expect(trainer.getByText(`Downloaded ${fileName}`)).toBeVisible();
    const bytes = await readFile(await download.path());

    await trainer.getByRole('button', { name: 'Reset' }).click();
    await expect(trainer.getByTestId('training-step')).toHaveText('0');

    await trainer.getByLabel('Upload a DALL·E-mini checkpoint file (.udalle)').setInputFiles({ name: fileName, mimeType: 'application/octet-stream', buffer: bytes });
    await expect(trainer.getByText(`Loaded ${fileName}: trained for 2 steps.`)).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await expect(trainer.getByTestId('training-step')).toHaveText('2');
    await expect(trainer.getByTestId('training-state')).toHaveText('weights loaded, not training');
    await expect(trainer.getByRole('img', { name: /^Sample for “a handwritten / })).toHaveCount(10);
    await expect(trainer.getByRole('button', { name: 'Train from loaded weights' })).toBeVisible();
  });
});

test.describe('DALL·E widgets in the dark theme', () => {
  test.use({ colorScheme: 'dark' });

  test('have no serious axe violations', async ({ page }) => {
    const generator = await openSampler(page, 'DALL·E generation');
    await promptInput(generator).fill('a cat');
    await generate(generator);

    const samples = page.getByRole('region', { name: 'DALL·E samples' });
    await samples.scrollIntoViewIfNeeded();
    await expect(samples.getByRole('list', { name: 'Tokens the model reads' })).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
    await samples.getByRole('checkbox', { name: /Rerank with CLIP/ }).check();
    await samples.getByRole('button', { name: 'Sample', exact: true }).click();
    await expect(sampleImages(samples)).toHaveCount(16, { timeout: MODEL_TIMEOUT_MS });

    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});
