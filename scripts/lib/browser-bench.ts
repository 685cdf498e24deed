/**
 * Runs the bench workloads in Chromium: serves the built site with `astro preview` on
 * 127.0.0.1, opens /bench/?run=1&backend=<name>[&only=<group>…] for each backend and reads
 * the result the page stores in `window.benchResult`. Uses Debian's Chromium when present.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { WORKLOAD_GROUPS, type BackendBench, type WorkloadGroup } from '../../src/models/bench';
import { CHROMIUM_ARGS, chromiumExecutablePath } from './chromium';

export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];
/**
 * Time allowed for one backend's run of every workload. Without the unCLIP rows, wasm took
 * about three minutes in Chromium 156 while other jobs shared the 2 CPU cores.
 * NOTE: the two minutes added for the unCLIP rows are an estimate from their Node wasm
 * times. The Chromium run with them has not been timed.
 */
const PAGE_TIMEOUT_MS = 420_000;
const benchLaunchArgs = [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('No free port found.'))));
    });
  });
}

async function waitForServer(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`astro preview did not respond at ${url} within ${timeoutMs / 1000} s.`);
}

export async function runBrowserBench(
  root: string,
  options: { backends?: readonly BrowserBackend[]; groups?: readonly WorkloadGroup[] } = {},
): Promise<{ results: BackendBench[]; notes: string[] }> {
  const backends = options.backends ?? BROWSER_BACKENDS;
  const groups = options.groups ?? WORKLOAD_GROUPS;
  const groupQuery = groups.map((group) => `&only=${group}`).join('');
  const notes: string[] = [];
  if (!existsSync(join(root, 'dist/bench/index.html'))) {
    return { results: [], notes: ['Browser rows skipped: dist/bench/index.html is missing; run `npm run build` first.'] };
  }
  const executablePath = chromiumExecutablePath();
  if (!executablePath) {
    return { results: [], notes: ['Browser rows skipped: no Chromium at /usr/lib/chromium/chromium or /usr/bin/chromium (apt-get install chromium).'] };
  }

  const port = await freePort();
  const server = spawn(process.execPath, ['node_modules/astro/bin/astro.mjs', 'preview', '--host', '127.0.0.1', '--port', String(port), '--ignore-lock'], {
    cwd: root,
    stdio: 'ignore',
  });
  const results: BackendBench[] = [];
  const extraArgs = (process.env.BENCH_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
  const browser = await chromium.launch({ executablePath, headless: true, args: [...benchLaunchArgs, ...extraArgs] });
  try {
    await waitForServer(`http://127.0.0.1:${port}/bench/`, 30_000);
    for (const backend of backends) {
      const page = await browser.newPage();
      // The bench page only talks to the preview server; anything else is a bug in the site.
      await page.route(/^(?!http:\/\/127\.0\.0\.1)/, (route) => route.abort());
      await page.goto(`http://127.0.0.1:${port}/bench/?run=1&backend=${backend}${groupQuery}`);
      let outcome: { ok: boolean; result?: BackendBench; error?: string };
      try {
        const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, undefined, { timeout: PAGE_TIMEOUT_MS });
        outcome = (await handle.jsonValue()) as typeof outcome;
      } catch (error) {
        // A GPU backend on a software device can hang instead of failing; record it and go on.
        outcome = { ok: false, error: `no result within ${PAGE_TIMEOUT_MS / 1000} s (${String(error).split('\n')[0]})` };
      }
      await page.close();
      if (outcome.ok && outcome.result) {
        results.push(outcome.result);
        console.log(`bench: Chromium ${outcome.result.backend}: matmul peak ${outcome.result.peakGflops.toFixed(1)} GFLOP/s.`);
      } else {
        notes.push(`Chromium ${backend}: not measured (${outcome.error ?? 'unknown error'}).`);
      }
    }
  } finally {
    await browser.close();
    server.kill();
  }
  return { results, notes };
}
