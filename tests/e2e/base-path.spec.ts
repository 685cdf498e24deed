import { BASE_PATH, basePathOrigin, searchSite } from './site';
import { expect, test } from './fixtures';

// The site built with BASE_PATH=/course, served by the second web server in playwright.config.ts.
test.use({ baseURL: basePathOrigin() });

const chapterPath = `${BASE_PATH}chapters/images-as-tokens/`;

test('chapter is served under the base path with its CSS', async ({ page }) => {
  const requestedPaths: string[] = [];
  page.on('request', (request) => requestedPaths.push(new URL(request.url()).pathname));

  const response = await page.goto(chapterPath);
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1, name: 'Images as tokens' })).toBeVisible();

  // Starlight's stylesheet defines its colour variables, so a value here shows that it loaded.
  const stylesheetLinks = await page
    .locator('link[rel="stylesheet"]')
    .evaluateAll((links) => links.map((link) => new URL((link as HTMLLinkElement).href).pathname));
  expect(stylesheetLinks.length).toBeGreaterThan(0);
  for (const href of stylesheetLinks) expect(href.startsWith(`${BASE_PATH}_astro/`), href).toBe(true);
  const background = await page.evaluate(() =>
    getComputedStyle(document.documentElement).getPropertyValue('--sl-color-bg').trim(),
  );
  expect(background).not.toBe('');
  const fontFamily = await page.locator('.katex').first().evaluate((element) => getComputedStyle(element).fontFamily);
  expect(fontFamily).toContain('KaTeX_Main');

  // Every page and asset the browser requested lives under the base path.
  await page.evaluate(() => document.fonts.ready);
  const outsideBase = requestedPaths.filter((path) => !path.startsWith(BASE_PATH));
  expect(outsideBase).toEqual([]);
});

test('links and favicon carry the base path', async ({ page, request }) => {
  await page.goto(chapterPath);

  const sidebarHrefs = await page
    .locator('nav.sidebar a[href]')
    .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
  expect(sidebarHrefs.length).toBeGreaterThan(0);
  for (const href of sidebarHrefs) expect(href.startsWith(BASE_PATH), href).toBe(true);

  const faviconHref = await page.locator('link[rel="shortcut icon"], link[rel="icon"]').first().getAttribute('href');
  expect(faviconHref).toBe(`${BASE_PATH}favicon.svg`);
  const favicon = await request.get(faviconHref!);
  expect(favicon.status()).toBe(200);

  const wasm = await request.get(`${BASE_PATH}tfjs-wasm/tfjs-backend-wasm.wasm`);
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toBe('application/wasm');
});

test('landing page links to the chapter under the base path', async ({ page }) => {
  await page.goto(BASE_PATH);
  await page.getByRole('link', { name: /Images as tokens/ }).first().click();

  await expect(page).toHaveURL(new RegExp(`${chapterPath}$`));
});

test('search works under the base path', async ({ page }) => {
  await page.goto(chapterPath);
  await searchSite(page, 'tokens');

  const result = page.locator('.pagefind-ui__result-link', { hasText: 'Images as tokens' }).first();
  await expect(result).toBeVisible();
  await expect(result).toHaveAttribute('href', new RegExp(`^${chapterPath}`));
});
