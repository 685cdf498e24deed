import { searchSite } from './site';
import { expect, test } from './fixtures';

test('search finds the chapter for "tokens"', async ({ page }) => {
  await page.goto('/');
  await searchSite(page, 'tokens');

  const result = page.locator('.pagefind-ui__result-link', { hasText: 'Images as tokens' }).first();
  await expect(result).toBeVisible();
  await expect(result).toHaveAttribute('href', /^\/chapters\/images-as-tokens\/?/);

  await result.click();
  await expect(page.getByRole('heading', { level: 1, name: 'Images as tokens' })).toBeVisible();
});

test('search opens from the keyboard', async ({ page }) => {
  await page.goto('/chapters/images-as-tokens/');
  // Starlight enables the button, and the shortcut, once its search script has loaded.
  await expect(page.getByRole('button', { name: 'Search' }).first()).toBeEnabled();
  // The button is enabled before Pagefind has built its input; a shortcut pressed earlier
  // leaves the focus on the button.
  await page.locator('#starlight__search input').waitFor({ state: 'attached' });
  await page.keyboard.press('Control+k');

  const input = page.getByRole('dialog').getByPlaceholder('Search');
  await expect(input).toBeFocused();
  await page.keyboard.type('MNIST');

  await expect(page.locator('.pagefind-ui__result-link').first()).toBeVisible();
});
