
import { listBuiltPages, seriousAxeViolations } from './site';
import { expect, test } from './fixtures';

const builtPages = listBuiltPages();

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`axe in the ${colorScheme} theme`, () => {
    // Starlight's default theme setting, "auto", follows prefers-color-scheme.
    test.use({ colorScheme });

    for (const path of builtPages) {
      test(`${path} has no serious violations`, async ({ page }) => {
        await page.goto(path);
        await expect(page.locator('html')).toHaveAttribute('data-theme', colorScheme);

        const seriousViolations = await seriousAxeViolations(page);

        expect(seriousViolations).toEqual([]);
      });
    }
  });
}
