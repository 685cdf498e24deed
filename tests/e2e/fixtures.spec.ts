import { expect, test } from './fixtures';

// The guard in fixtures.ts must be able to fail a test. These cases check that it does.

test.describe('site guard', () => {
  test.fail('fails on an unexpected console error', async ({ page }) => {
    await page.goto('/404.html');
    await page.evaluate(() => console.error('deliberate console error from fixtures.spec.ts'));
  });

  test.fail('fails on an uncaught page error', async ({ page }) => {
    await page.goto('/404.html');
    const pageError = page.waitForEvent('pageerror');
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error('deliberate uncaught error from fixtures.spec.ts');
      });
    });
    await pageError;
  });

  test.describe('with an expected error', () => {
    test.use({ expectedConsoleErrors: [/^deliberate console error/] });

    test('passes when the error is listed', async ({ page }) => {
      await page.goto('/404.html');
      await page.evaluate(() => console.error('deliberate console error from fixtures.spec.ts'));
      await expect(page.locator('h1')).toBeVisible();
    });
  });
});
