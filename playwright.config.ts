import { createServer } from 'node:net';
import { defineConfig, devices } from '@playwright/test';

import { CHROMIUM_ARGS, chromiumExecutablePath } from './scripts/lib/chromium';
import { BASE_PATH } from './tests/e2e/site';

/**
 * End-to-end tests against the built site, served by `astro preview` on 127.0.0.1.
 *
 * Two servers run during the tests:
 * - the site built at the domain root into `dist/` (`npm run test:e2e` builds it first);
 * - the same site built with `BASE_PATH=/course` into `.cache/dist-base/`, which this
 *   config builds itself before serving it, to check that hosting under a base path works.
 */

/** Asks the OS for a free TCP port on 127.0.0.1. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`Cannot read the port of a probe server: ${String(address)}`));
      });
    });
  });
}

// Playwright loads this file in the runner and again in every worker process. The ports are
// chosen once, in the runner, and handed to the workers through the environment they inherit.
process.env.E2E_ROOT_PORT ??= String(await findFreePort());
process.env.E2E_BASE_PORT ??= String(await findFreePort());
const rootPort = Number(process.env.E2E_ROOT_PORT);
const basePort = Number(process.env.E2E_BASE_PORT);

const baseOutDir = '.cache/dist-base';

// Run Astro with the same Node binary as Playwright, which `npm run` takes from the `node`
// devDependency. `--ignore-lock` lets the two previews (and a developer's own
// `astro preview`) run side by side and keeps them in the foreground, where Playwright
// can stop them.
const astro = `"${process.execPath}" node_modules/astro/bin/astro.mjs`;

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: true,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  workers: process.env.CI ? 2 : undefined,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 10_000 },

  use: {
    baseURL: `http://127.0.0.1:${rootPort}`,
    trace: 'retain-on-failure',
    serviceWorkers: 'block',
  },

  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: chromiumExecutablePath(),
          headless: true,
          args: CHROMIUM_ARGS,
        },
      },
    },
  ],

  webServer: [
    {
      command: `${astro} preview --host 127.0.0.1 --port ${rootPort} --ignore-lock`,
      url: `http://127.0.0.1:${rootPort}/`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command:
        `${astro} build --outDir ${baseOutDir} && ` +
        `${astro} preview --outDir ${baseOutDir} --host 127.0.0.1 --port ${basePort} --ignore-lock`,
      url: `http://127.0.0.1:${basePort}${BASE_PATH}`,
      env: { BASE_PATH },
      reuseExistingServer: false,
      // The timeout covers a full site build as well as the server start.
      timeout: 300_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
