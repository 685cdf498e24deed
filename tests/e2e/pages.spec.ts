import { listBuiltPages } from './site';
import { expect, test } from './fixtures';

const builtPages = listBuiltPages();

test.describe('every built page', () => {
  for (const path of builtPages) {
    test(`${path} renders without errors`, async ({ page }) => {
      const response = await page.goto(path);

      expect(response?.status(), `HTTP status of ${path}`).toBe(200);
      await expect(page.locator('h1').first()).toBeVisible();
      await expect(page).toHaveTitle(/The Universe of DALL·E/);
      // The fixture fails the test on console errors and requests to other hosts.
    });
  }
});

test('sidebar links all lead to built pages', async ({ page }) => {
  await page.goto('/chapters/images-as-tokens/');

  const sidebarLinks = page.locator('nav.sidebar a[href]');
  const hrefs = await sidebarLinks.evaluateAll((links) =>
    links.map((link) => new URL((link as HTMLAnchorElement).href).pathname),
  );

  expect(hrefs).toContain('/');
  expect(hrefs).toContain('/chapters/images-as-tokens/');
  expect(hrefs).toContain('/about/credits/');
  for (const href of hrefs) {
    expect(builtPages, `sidebar link ${href}`).toContain(href);
  }
});

test('landing page lists the chapter', async ({ page }) => {
  await page.goto('/');

  const chapterLink = page.getByRole('link', { name: /Images as tokens/ }).first();
  await chapterLink.click();

  await expect(page).toHaveURL(/\/chapters\/images-as-tokens\/$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Images as tokens' })).toBeVisible();
});

test('credits page reads licences from installed packages', async ({ page }) => {
  await page.goto('/about/credits/');

  const astroRow = page.getByRole('row', { name: /^astro\b/ });
  await expect(astroRow).toContainText('MIT');
  const tfjsRow = page.getByRole('row', { name: /@tensorflow\/tfjs-core/ });
  await expect(tfjsRow).toContainText('Apache-2.0');
  await expect(page.getByText('CC BY-SA 3.0').first()).toBeVisible();
});

test('tfjs wasm binaries are served as application/wasm', async ({ request }) => {
  for (const fileName of [
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ]) {
    const response = await request.get(`/tfjs-wasm/${fileName}`);

    expect(response.status(), fileName).toBe(200);
    expect(response.headers()['content-type'], fileName).toBe('application/wasm');
    const bytes = await response.body();
    // Every WebAssembly module starts with the magic bytes "\0asm".
    expect(bytes.subarray(0, 4).toString('latin1'), fileName).toBe('\0asm');
  }
});
