/**
 * Measures throughput per backend and writes results.json and REPORT.md to bench/ or the
 * folder given with --out.
 *
 *   npm run bench [-- --skip-browser] [--out DIR] [--only GROUP] [--backend NAME …]
 *
 * Node: wasm (with the training kernels) and cpu. Chromium: the built site's /bench/
 * page, once per backend that starts there (webgpu, webgl, wasm), driven by Playwright.
 * Results are ratios against each backend's own matmul peak, not pass/fail checks.
 *
 *   --skip-browser   leave out the Chromium rows
 *   --out DIR        folder for results.json and REPORT.md (default bench/)
 *   --only GROUP     run one workload group: `dalle` (classifier, dVAE, CLIP, DALL·E-mini)
 *                    or `unclip` (decoder and prior); repeat it for several
 *   --backend NAME   run only this backend, in Node (wasm, cpu) and in Chromium (webgpu,
 *                    webgl, wasm); repeat it for several
 *
 * A run limited by --only or --backend writes a partial report, so it needs --out.
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '../src/models/tf';
import {
  isWorkloadGroup,
  PYTORCH_SAMPLING_REFERENCE,
  runBackendBench,
  SAMPLING_TRANSFORMER_CONFIG,
  UNCLIP_BENCH_SAMPLING,
  WORKLOAD_GROUPS,
  type BackendBench,
  type WorkloadGroup,
} from '../src/models/bench';
import { DEFAULT_DECODER_CONFIG } from '../src/models/decoder';
import { DEFAULT_PRIOR_CONFIG } from '../src/models/prior';
import { DALLE_SHIPPED_CONFIG, RECIPES } from '../src/models/registry';
import { useBackend, type NodeBackend } from './lib/node-backend';
import { BROWSER_BACKENDS, runBrowserBench, type BrowserBackend } from './lib/browser-bench';

const root = resolve(import.meta.dirname, '..');
const NODE_BACKENDS: readonly NodeBackend[] = ['wasm', 'cpu'];
const { values } = parseArgs({
  options: {
    'skip-browser': { type: 'boolean', default: false },
    // Folder for results.json and REPORT.md, so a trial run can leave bench/ alone.
    out: { type: 'string' },
    only: { type: 'string', multiple: true },
    backend: { type: 'string', multiple: true },
  },
});

/** Reads --only and --backend into the workload groups and backends to run, and rejects unknown names. */
function selection(): { groups: readonly WorkloadGroup[]; nodeBackends: readonly NodeBackend[]; browserBackends: readonly BrowserBackend[]; partial: boolean } {
  const groups = values.only ?? [...WORKLOAD_GROUPS];
  for (const group of groups) {
    if (!isWorkloadGroup(group)) throw new Error(`Invalid --only "${group}": expected one of ${WORKLOAD_GROUPS.join(', ')}.`);
  }
  const known = new Set<string>([...NODE_BACKENDS, ...BROWSER_BACKENDS]);
  const backends = values.backend ?? [...known];
  for (const backend of backends) {
    if (!known.has(backend)) throw new Error(`Invalid --backend "${backend}": expected one of ${[...known].join(', ')}.`);
  }
  return {
    groups: groups as WorkloadGroup[],
    nodeBackends: NODE_BACKENDS.filter((name) => backends.includes(name)),
    browserBackends: BROWSER_BACKENDS.filter((name) => backends.includes(name)),
    partial: values.only !== undefined || values.backend !== undefined,
  };
}

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

/** Method sentences of the unCLIP rows, with the configs and settings they ran. */
function unclipMethod(): string[] {
  const decoder = DEFAULT_DECODER_CONFIG;
  const prior = DEFAULT_PRIOR_CONFIG;
  const sampling = UNCLIP_BENCH_SAMPLING;
  return [
    `unCLIP rows use the default decoder (a U-Net of widths ${decoder.channels.join('/')} with embedding width ${decoder.embedWidth}) and prior (a residual MLP of width ${prior.width} with ${prior.blocks} blocks), both conditioned on ${decoder.clipDim}-dimensional CLIP embeddings.`,
    `Their training steps use the training batch sizes (decoder ${RECIPES.decoder.batchSize}, prior ${RECIPES.prior.batchSize}; cpu runs use smaller ones) with random unit vectors in place of the CLIP image embeddings (decoder) and image and caption embeddings (prior), so the bench needs no CLIP checkpoint and neither runs nor counts a CLIP pass.`,
    `The decoder FLOPs count its convs, the timestep and embedding MLPs, the per-block scale and shift projections and the 7×7 embedding map.`,
    `One unCLIP sample (batch 1) is prior DDIM sampling with ${sampling.candidates} candidates and guidance ${sampling.priorGuidance}, from a random unit caption embedding (the CLIP text encoder is not run), followed by decoder DDIM sampling (η ${sampling.eta}) with guidance ${sampling.decoderGuidance}, so 2 U-Net passes per step. Both samplers run the number of steps the row names, on fresh random weights.`,
    `The decoder-only row draws 16 images for random unit embeddings with the same decoder settings.`,
  ];
}

async function main() {
  const started = performance.now();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`;
  // Other processes slow every row alike; the load average shows a reader how quiet the machine was.
  const loadAtStart = loadavg()[0];
  console.log(`bench: start on ${machine}, Node ${process.version}, tfjs ${tf.version_core}.`);
  const { groups, nodeBackends, browserBackends, partial } = selection();
  if (partial && values.out === undefined) {
    throw new Error('--only and --backend write a partial report: pass --out DIR so that bench/ keeps the full one.');
  }
  const results: BackendBench[] = [];
  const notes: string[] = [];

  for (const backend of nodeBackends) {
    await useBackend(backend);
    const result = await runBackendBench(`Node ${process.version}`, { quick: backend === 'cpu', groups });
    results.push(result);
    console.log(`bench: Node ${backend}: matmul peak ${result.peakGflops.toFixed(1)} GFLOP/s; ${result.workloads.map((w) => `${w.name} b${w.batchSize} ${w.milliseconds.toFixed(1)} ms`).join('; ')}.`);
  }

  if (!values['skip-browser'] && browserBackends.length > 0) {
    const browser = await runBrowserBench(root, { backends: browserBackends, groups });
    results.push(...browser.results);
    notes.push(...browser.notes);
    for (const note of browser.notes) console.log(`bench: ${note}`);
  }

  const outDir = resolve(values.out ?? join(root, 'bench'));
  await mkdir(outDir, { recursive: true });
  const report = {
    finishedAt: new Date().toISOString(),
    machine,
    loadAverageAtStart: loadAtStart,
    node: process.version,
    tfjs: tf.version_core,
    // Groups and backends measured: all of them, or fewer in a partial run (--only, --backend).
    workloadGroups: groups,
    backends: [...nodeBackends.map((name) => `Node ${name}`), ...(values['skip-browser'] ? [] : browserBackends.map((name) => `Chromium ${name}`))],
    method: [
      'Median of timed calls after warm-up, on fresh random weights.',
      'FLOPs are analytic: 2 per multiply-add of conv and dense layers and of the attention products q·kᵀ and weights·v over the full L × L scores.',
      'A training step counts 3× the forward pass, and the DALL·E-mini step adds the forward pass of the dVAE that tokenizes its batch. Elementwise work is not counted.',
      'Fraction of peak = workload GFLOP/s ÷ the best square-matmul GFLOP/s of the same backend in the same environment.',
      'On wasm, float32 matmuls (the square ones too) run the SIMD kernel of src/models/runtime/wasm-kernels.ts, with fused multiply-adds where the runtime has relaxed SIMD.',
      `DALL·E-mini training uses the shipped config (${DALLE_SHIPPED_CONFIG.layers} layers, width ${DALLE_SHIPPED_CONFIG.width}). Sampling uses ${SAMPLING_TRANSFORMER_CONFIG.layers} layers, width ${SAMPLING_TRANSFORMER_CONFIG.width}, like the reference: ${PYTORCH_SAMPLING_REFERENCE.label}, ${PYTORCH_SAMPLING_REFERENCE.milliseconds} ms for the same 49 tokens × 16 captions, measured once outside this bench.`,
      ...unclipMethod(),
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
    ...(partial ? [`Partial run: workload groups ${groups.join(', ')}; backends ${report.backends.join(', ') || 'none'}.`, ''] : []),
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
