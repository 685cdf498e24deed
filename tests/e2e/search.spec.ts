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

/** A query per chapter and the chapter it must find; each query is a term the chapter explains. */
const CHAPTER_QUERIES = [
  { query: 'codebook', title: 'Images as tokens', path: 'images-as-tokens' },
  { query: 'contrastive', title: 'CLIP', path: 'clip' },
  { query: 'reranking', title: 'DALL·E', path: 'dalle' },
  { query: 'denoising', title: 'Diffusion', path: 'diffusion' },
  { query: 'prior', title: 'unCLIP (DALL·E 2)', path: 'unclip' },
  { query: 'captioner', title: 'Better captions (DALL·E 3)', path: 'better-captions' },
  { query: 'leaderboard', title: 'Evaluation', path: 'evaluation' },
];

for (const { query, title, path } of CHAPTER_QUERIES) {
  test(`search finds the ${title} chapter`, async ({ page }) => {
    await page.goto('/');
    await searchSite(page, query);
    // Exact names, because "CLIP" is also part of "unCLIP (DALL·E 2)".
    const result = page.getByRole('dialog').getByRole('link', { name: title, exact: true }).first();
    await expect(result).toBeVisible();
    await expect(result).toHaveAttribute('href', new RegExp(`^/chapters/${path}/?`));
  });
}
