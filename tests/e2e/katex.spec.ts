import { expect, test } from './fixtures';

test.describe('KaTeX math', () => {
  test.beforeEach(async ({ page }) => {
    await page.goto('/chapters/images-as-tokens/');
  });

  test('display equation renders with KaTeX fonts', async ({ page }) => {
    const equation = page.locator('.katex-display').first();
    await expect(equation).toBeVisible();

    const fontFamily = await equation.locator('.katex').evaluate((element) => getComputedStyle(element).fontFamily);
    expect(fontFamily).toContain('KaTeX_Main');

    const fontsLoaded = await page.evaluate(async () => {
      await document.fonts.ready;
      return document.fonts.check('1em KaTeX_Main') && document.fonts.check('italic 1em KaTeX_Math');
    });
    expect(fontsLoaded).toBe(true);
  });

  test('square root sign is drawn at full size', async ({ page }) => {
    const radical = page.locator('.katex-display .sqrt svg').first();
    await expect(radical).toBeAttached();

    const radicalBox = await radical.boundingBox();
    const radicandBox = await page.locator('.katex-display .sqrt .svg-align').first().boundingBox();
    expect(radicalBox, 'bounding box of the radical SVG').not.toBeNull();
    expect(radicandBox, 'bounding box of the radicand').not.toBeNull();

    // KaTeX sizes the radical's SVG through its parent hide-tail span. The SVG must be as
    // tall as that span (an em-based height, several pixels) and as wide as the radicand.
    const hideTailHeight = await page
      .locator('.katex-display .sqrt .hide-tail')
      .first()
      .evaluate((element) => element.getBoundingClientRect().height);
    expect(radicalBox!.height).toBeGreaterThan(10);
    expect(radicalBox!.height).toBeCloseTo(hideTailHeight, 0);
    expect(radicalBox!.width).toBeGreaterThanOrEqual(radicandBox!.width - 1);
  });

  test('TeX source is kept verbatim for copying and screen readers', async ({ page }) => {
    const annotation = page.locator('.katex-display annotation[encoding="application/x-tex"]').first();
    await expect(annotation).toHaveText(/\\operatorname\{softmax\}\\!\\left\(\\frac\{Q K\^\\top\}\{\\sqrt\{d_k\}\}\\right\) V/);
  });
});
