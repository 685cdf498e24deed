/**
 * Measures throughput per backend and writes results.json and REPORT.md to bench/ or the
 * folder given with --out.
 *
 *   npm run bench [-- --skip-browser] [--out DIR]
 *
 * Node: wasm (with the training kernels) and cpu. Chromium: the built site's /bench/
 * page, once per backend that starts there (webgpu, webgl, wasm), driven by Playwright.
 * Results are ratios against each backend's own matmul peak, not pass/fail checks.
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '../src/models/tf';
import { PYTORCH_SAMPLING_REFERENCE, runBackendBench, SAMPLING_TRANSFORMER_CONFIG, type BackendBench } from '../src/models/bench';
import { DALLE_SHIPPED_CONFIG } from '../src/models/registry';
import { useBackend } from './lib/node-backend';
import { runBrowserBench } from './lib/browser-bench';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    'skip-browser': { type: 'boolean', default: false },
    // Folder for results.json and REPORT.md, so a trial run can leave bench/ alone.
    out: { type: 'string', default: join(root, 'bench') },
  },
});

/** Time as a multiple of the workload's reference time, or an empty cell without one. */
function referenceRatio(w: BackendBench['workloads'][number]): string {
  return w.reference ? `${(w.milliseconds / w.reference.milliseconds).toFixed(2)}× (${w.reference.milliseconds} ms)` : '';
}

function table(results: BackendBench[]): string {
  const lines = [
    '| environment | backend | matmul peak GFLOP/s | workload | batch | ms per call | calls/s | GFLOP/s | fraction of peak | time ÷ reference |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    for (const w of result.workloads) {
      lines.push(
        `| ${result.environment} | ${result.backend} | ${result.peakGflops.toFixed(1)} | ${w.name} | ${w.batchSize} | ${w.milliseconds.toFixed(1)} | ${w.perSecond.toFixed(2)} | ${w.gflops.toFixed(2)} | ${(100 * w.fractionOfPeak).toFixed(1)} % | ${referenceRatio(w)} |`,
      );
    }
  }
  return lines.join('\n');
}

function matmulTable(results: BackendBench[]): string {
  const lines = ['| environment | backend | size | ms | GFLOP/s |', '|---|---|---:|---:|---:|'];
  for (const result of results) {
    for (const m of result.matmul) lines.push(`| ${result.environment} | ${result.backend} | ${m.size} | ${m.milliseconds.toFixed(2)} | ${m.gflops.toFixed(1)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const started = performance.now();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`;
  // Other processes slow every row alike; the load average shows a reader how quiet the machine was.
  const loadAtStart = loadavg()[0];
  console.log(`bench: start on ${machine}, Node ${process.version}, tfjs ${tf.version_core}.`);
  const results: BackendBench[] = [];
  const notes: string[] = [];

  for (const backend of ['wasm', 'cpu'] as const) {
    await useBackend(backend);
    const result = await runBackendBench(`Node ${process.version}`, { quick: backend === 'cpu' });
    results.push(result);
    console.log(`bench: Node ${backend}: matmul peak ${result.peakGflops.toFixed(1)} GFLOP/s; ${result.workloads.map((w) => `${w.name} b${w.batchSize} ${w.milliseconds.toFixed(1)} ms`).join('; ')}.`);
  }

  if (!values['skip-browser']) {
    const browser = await runBrowserBench(root);
    results.push(...browser.results);
    notes.push(...browser.notes);
    for (const note of browser.notes) console.log(`bench: ${note}`);
  }

  const outDir = resolve(values.out);
  await mkdir(outDir, { recursive: true });
  const report = {
    finishedAt: new Date().toISOString(),
    machine,
    loadAverageAtStart: loadAtStart,
    node: process.version,
    tfjs: tf.version_core,
    method: [
      'Median of timed calls after warm-up, on fresh random weights.',
      'FLOPs are analytic: 2 per multiply-add of conv and dense layers and of the attention products q·kᵀ and weights·v over the full L × L scores.',
      'A training step counts 3× the forward pass, and the DALL·E-mini step adds the forward pass of the dVAE that tokenizes its batch. Elementwise work is not counted.',
      'Fraction of peak = workload GFLOP/s ÷ the best square-matmul GFLOP/s of the same backend in the same environment.',
      'On wasm, float32 matmuls (the square ones too) run the SIMD kernel of src/models/runtime/wasm-kernels.ts, with fused multiply-adds where the runtime has relaxed SIMD.',
      `DALL·E-mini training uses the shipped config (${DALLE_SHIPPED_CONFIG.layers} layers, width ${DALLE_SHIPPED_CONFIG.width}). Sampling uses ${SAMPLING_TRANSFORMER_CONFIG.layers} layers, width ${SAMPLING_TRANSFORMER_CONFIG.width}, like the reference: ${PYTORCH_SAMPLING_REFERENCE.label}, ${PYTORCH_SAMPLING_REFERENCE.milliseconds} ms for the same 49 tokens × 16 captions, measured once outside this bench.`,
    ].join(' '),
    notes,
    results,
  };
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = [
    '# Benchmark report',
    '',
    `Written by \`npm run bench\` on ${report.finishedAt} (${machine}, 1-minute load average ${loadAtStart.toFixed(2)} at the start, Node ${process.version}, tfjs ${tf.version_core}).`,
    '',
    report.method,
    '',
    '## Workloads',
    '',
    table(results),
    '',
    '## Matrix multiply',
    '',
    matmulTable(results),
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  await writeFile(join(outDir, 'REPORT.md'), markdown);
  console.log(`bench: wrote ${join(outDir, 'results.json')} and ${join(outDir, 'REPORT.md')} in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
