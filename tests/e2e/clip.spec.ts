import type { Locator, Page } from '@playwright/test';

import { seriousAxeViolations } from './site';
import { expect, test } from './fixtures';

const CHAPTER = '/chapters/clip/';

/** Model loading and in-browser training on a CPU-only CI runner take tens of seconds. */
const MODEL_TIMEOUT_MS = 60_000;
const TRAINING_TIMEOUT_MS = 120_000;

type WidgetName = 'CLIP trainer' | 'CLIP embedding map' | 'CLIP zero-shot classifier';

/** Scrolls a widget into view, which hydrates it (`client:visible`), and returns its root. */
async function openWidget(page: Page, name: WidgetName): Promise<Locator> {
  const widget = page.getByRole('region', { name });
  await widget.scrollIntoViewIfNeeded();
  return widget;
}

async function openZeroShot(page: Page): Promise<Locator> {
  await page.goto(CHAPTER);
  const widget = await openWidget(page, 'CLIP zero-shot classifier');
  await expect(widget.getByTestId('zero-shot-prediction')).toHaveText(/^\d$/, { timeout: MODEL_TIMEOUT_MS });
  return widget;
}

async function openTrainer(page: Page): Promise<Locator> {
  await page.goto(CHAPTER);
  const trainer = await openWidget(page, 'CLIP trainer');
  await expect(trainer.getByRole('button', { name: 'Train', exact: true })).toHaveAttribute('aria-disabled', 'false', {
    timeout: MODEL_TIMEOUT_MS,
  });
  return trainer;
}

async function readStep(trainer: Locator): Promise<number> {
  return Number(await trainer.getByTestId('training-step').textContent());
}

/** Waits until the trainer's step counter reaches `minimum`. */
async function waitForStep(trainer: Locator, minimum: number): Promise<void> {
  await expect
    .poll(() => readStep(trainer), { timeout: TRAINING_TIMEOUT_MS, message: `training step ≥ ${minimum}` })
    .toBeGreaterThanOrEqual(minimum);
}

/** Returns the rows of the probability bars, one per prompt. */
function barRows(widget: Locator): Locator {
  return widget.getByRole('table', { name: /^Probability of each prompt/ }).locator('tbody tr');
}

function similarityMatrix(trainer: Locator): Locator {
  return trainer.getByRole('application', { name: /^Cosine similarity of test digits and captions: / });
}

test.describe('CLIP zero-shot classifier', () => {
  test('predicts the label of a test digit', async ({ page }) => {
    const widget = await openZeroShot(page);

    const selected = widget.getByRole('button', { pressed: true, name: /^Test digit 1, labelled \d$/ });
    const label = (await selected.getAttribute('aria-label'))!.match(/labelled (\d)$/)![1];
    await expect(widget.getByTestId('zero-shot-prediction')).toHaveText(label);
    await expect(barRows(widget)).toHaveCount(10);
    await expect(barRows(widget).first().getByRole('rowheader')).toHaveText('a handwritten zero');
    await expect(widget.getByText(/The test digit is labelled \d: correct\./)).toBeVisible();
  });

  test('template change rewrites the prompts', async ({ page }) => {
    const widget = await openZeroShot(page);

    await widget.getByLabel('Prompt template').selectOption({ label: '"the digit {digit}"' });

    await expect(barRows(widget).nth(3).getByRole('rowheader')).toHaveText('the digit 3');
    await expect(barRows(widget)).toHaveCount(10);

    await widget.getByLabel('Prompt template').selectOption({ index: 4 });
    await expect(barRows(widget).nth(3).getByRole('rowheader')).toHaveText('mean of 4 prompts for 3');
    await expect(widget.getByTestId('zero-shot-prediction')).toHaveText(/^\d$/);
  });

  test('blank drawing gets a message', async ({ page }) => {
    const widget = await openZeroShot(page);

    await widget.getByRole('button', { name: 'Draw a digit' }).click();
    await expect(barRows(widget)).toHaveCount(1);
    await widget.getByRole('button', { name: 'Classify drawing' }).click();

    await expect(widget.getByRole('alert')).toHaveText('Draw a digit first: the pad is empty, so there is nothing to classify.');
    await expect(widget.getByTestId('zero-shot-prediction')).toHaveCount(0);
  });

  test('drawn digit is classified', async ({ page }) => {
    const widget = await openZeroShot(page);
    await widget.getByRole('button', { name: 'Draw a digit' }).click();

    // A vertical stroke, roughly a "1", drawn with the mouse.
    const pad = widget.getByRole('application', { name: /Drawing pad/ });
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85, { steps: 12 });
    await page.mouse.up();

    await expect(widget.getByRole('img', { name: 'Your drawing' })).toBeVisible();
    await expect(widget.getByTestId('zero-shot-prediction')).toHaveText(/^\d$/);
    await expect(barRows(widget)).toHaveCount(10);
    await expect(widget.getByText(/The test digit is labelled/)).toHaveCount(0);
  });
});

test.describe('CLIP embedding map', () => {
  test('renders points with a text alternative', async ({ page }) => {
    await page.goto(CHAPTER);
    const widget = await openWidget(page, 'CLIP embedding map');
    const chart = widget.getByRole('application', { name: /^CLIP image and text embeddings projected onto two principal components/ });

    // 300 images, 300 captions and 10 prompts.
    await expect(chart.locator('.points path')).toHaveCount(610, { timeout: MODEL_TIMEOUT_MS });
    await expect(chart).toHaveAccessibleName(/In the full space, \d+ of 300 images are most similar to the prompt of their own digit/);
    const coordinates = await chart.locator('.points path').evaluateAll((paths) => paths.map((path) => path.getAttribute('transform')));
    expect(new Set(coordinates).size, 'distinct point positions').toBeGreaterThan(100);

    await widget.getByRole('button', { name: 'Captions' }).click();
    await expect(chart.locator('.points path')).toHaveCount(310);
  });

  test('keyboard links an image to its caption', async ({ page }) => {
    await page.goto(CHAPTER);
    const widget = await openWidget(page, 'CLIP embedding map');
    const chart = widget.getByRole('application', { name: /^CLIP image and text embeddings/ });
    await expect(chart.locator('.points path')).toHaveCount(610, { timeout: MODEL_TIMEOUT_MS });

    await chart.focus();
    await expect(widget.getByText(/^Image of test digit 1, labelled \d\.$/)).toBeVisible();
    await expect(widget.getByTestId('active-caption')).not.toBeEmpty();
    await expect(widget.getByRole('img', { name: /^Test digit labelled \d$/ })).toBeVisible();

    await chart.press('End');
    await expect(widget.getByText(/^Prompt for 9: "a handwritten nine"\.$/)).toBeVisible();
    await expect(widget.getByTestId('active-caption')).toHaveText('a handwritten nine');

    await chart.press('ArrowLeft');
    await expect(widget.getByText(/^Prompt for 9/)).toHaveCount(0);
    await chart.press('Escape');
    await expect(widget.getByTestId('active-caption')).toHaveCount(0);
  });
});

test.describe('CLIP trainer', () => {
  // Each test trains or loads a model in the browser; two at once on a small runner slow both down.
  test.describe.configure({ mode: 'serial', timeout: 240_000 });

  test('training updates the matrix and the temperature', async ({ page }) => {
    const trainer = await openTrainer(page);
    const scaleChart = trainer.getByRole('img', { name: /^Learned logit scale by step/ });
    await expect(scaleChart).toHaveAccessibleName(/The learned temperature appears as training runs/);
    await expect(similarityMatrix(trainer)).toHaveCount(0);

    await trainer.getByRole('button', { name: 'Train', exact: true }).click();
    await waitForStep(trainer, 5);
    await expect(similarityMatrix(trainer)).toHaveAccessibleName(/10 test digits \(rows\) against one caption each \(columns\)/);
    const earlyMatrix = await similarityMatrix(trainer).getAttribute('aria-label');
    await waitForStep(trainer, 20);

    await expect(scaleChart).toHaveAccessibleName(/Latest values: Logit scale 1\/τ \d+(\.\d+)? at step \d+/);
    await expect(trainer.getByRole('img', { name: /^Contrastive loss by step\. Latest values: Contrastive loss/ })).toBeVisible();
    await expect(similarityMatrix(trainer)).not.toHaveAccessibleName(earlyMatrix!);
    await expect(trainer.getByRole('img', { name: /^Row 10: a test digit labelled \d$/ })).toBeVisible();

    const pause = trainer.getByRole('button', { name: 'Pause' });
    await pause.click();
    await expect(trainer.getByTestId('training-state')).toHaveText('paused');
    const pausedAt = await readStep(trainer);
    await trainer.getByRole('button', { name: 'Run one training step' }).click();
    await expect(trainer.getByTestId('training-step')).toHaveText(String(pausedAt + 1));

    await trainer.getByRole('button', { name: 'Softmax over captions' }).click();
    await expect(trainer.getByRole('application', { name: /^Each image's softmax over the captions: / })).toBeVisible();

    await trainer.getByRole('button', { name: 'Save in this browser' }).click();
    await expect(trainer.getByText(`Saved the weights of step ${pausedAt + 1} in this browser`)).toBeVisible();

    await trainer.getByRole('button', { name: 'Reset' }).click();
    await expect(trainer.getByTestId('training-state')).toHaveText('not started');
    await expect(similarityMatrix(trainer)).toHaveCount(0);
    await expect(scaleChart).toHaveAccessibleName(/The learned temperature appears as training runs/);
  });

  test('pretrained weights match their captions', async ({ page }) => {
    const trainer = await openTrainer(page);

    await trainer.getByRole('button', { name: 'Load pretrained' }).click();

    await expect(trainer.getByText(/^Loaded the pretrained weights shipped with the site: trained for \d+ steps\./)).toBeVisible({
      timeout: MODEL_TIMEOUT_MS,
    });
    await expect(trainer.getByTestId('training-state')).toHaveText('weights loaded, not training');
    const name = (await similarityMatrix(trainer).getAttribute('aria-label'))!;
    const onDiagonal = Number(name.match(/The largest cosine of (\d+) of 10 rows is on the diagonal/)![1]);
    expect(onDiagonal, 'rows of the pretrained matrix whose best caption is their own').toBeGreaterThanOrEqual(8);
    await expect(trainer.getByRole('button', { name: 'Train from loaded weights' })).toBeVisible();
  });
});

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`CLIP chapter with hydrated widgets in the ${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test('has no serious axe violations', async ({ page }) => {
      test.setTimeout(120_000);
      const zeroShot = await openZeroShot(page);
      const map = await openWidget(page, 'CLIP embedding map');
      await expect(map.locator('.points path')).toHaveCount(610, { timeout: MODEL_TIMEOUT_MS });
      const trainer = await openWidget(page, 'CLIP trainer');
      const loadPretrained = trainer.getByRole('button', { name: 'Load pretrained' });
      await expect(loadPretrained).toHaveAttribute('aria-disabled', 'false', { timeout: MODEL_TIMEOUT_MS });
      await loadPretrained.click();
      await expect(similarityMatrix(trainer)).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
      await expect(zeroShot.getByTestId('zero-shot-prediction')).toBeVisible();

      const seriousViolations = await seriousAxeViolations(page);

      expect(seriousViolations).toEqual([]);
    });
  });
}
