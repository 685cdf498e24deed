/**
 * Benchmark workloads shared by `npm run bench` in Node and the bench page in Chromium.
 * Each returns measured times with the work done in FLOPs, so a report can state the
 * achieved GFLOP/s as a fraction of the same backend's matmul peak.
 *
 * FLOP counts are analytic: 2 FLOPs per multiply-add of every conv and dense layer, and a
 * training step counted as 3× the forward pass (one forward, two matmul-sized products in
 * the backward pass), the usual estimate. Elementwise work is not counted.
 */
import * as tf from './tf';
import { Classifier, type ClassifierConfig } from './classifier';
import { Dvae, type DvaeConfig, DEFAULT_DVAE_SCHEDULE } from './dvae';
import { Trainer } from './trainer';
import type { Batch } from './data/batches';

export interface MatmulResult {
  size: number;
  milliseconds: number;
  gflops: number;
}

export interface WorkloadResult {
  name: string;
  batchSize: number;
  /** Median milliseconds per call (a training step, or tokenise + decode). */
  milliseconds: number;
  /** Calls per second, 1000 / milliseconds. */
  perSecond: number;
  gflopPerCall: number;
  gflops: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Waits until the backend has computed `tensor`, so asynchronous GPU work is inside the timing. */
async function settle(tensor: tf.Tensor): Promise<void> {
  await tensor.data();
}

/** Best GFLOP/s of square float32 matmuls; the best size is the backend's peak here. */
export async function matmulPeak(sizes = [128, 256, 512], repeats = 5): Promise<MatmulResult[]> {
  const results: MatmulResult[] = [];
  for (const size of sizes) {
    const a = tf.randomNormal([size, size], 0, 1, 'float32', 1);
    const b = tf.randomNormal([size, size], 0, 1, 'float32', 2);
    const warm = tf.matMul(a, b);
    await settle(warm);
    warm.dispose();
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      const c = tf.matMul(a, b);
      await settle(c);
      times.push(performance.now() - start);
      c.dispose();
    }
    const milliseconds = median(times);
    results.push({ size, milliseconds, gflops: (2 * size ** 3) / (milliseconds * 1e6) });
    tf.dispose([a, b]);
  }
  return results;
}

/** Multiply-adds of a 'same' conv producing an h×w×out map from `in` channels with a k×k kernel. */
function convMacs(h: number, w: number, k: number, inChannels: number, outChannels: number): number {
  return h * w * k * k * inChannels * outChannels;
}

export function classifierForwardFlops(config: ClassifierConfig): number {
  const [c1, c2, c3, c4] = config.channels;
  const macs =
    convMacs(28, 28, 3, 1, c1) +
    convMacs(14, 14, 3, c1, c2) +
    convMacs(14, 14, 3, c2, c3) +
    convMacs(7, 7, 3, c3, c4) +
    49 * c4 * config.hidden +
    config.hidden * 10;
  return 2 * macs;
}

export function dvaeEncodeFlops(config: DvaeConfig): number {
  const [c1, c2, c3] = config.channels;
  return 2 * (convMacs(28, 28, 3, 1, c1) + convMacs(14, 14, 3, c1, c2) + convMacs(7, 7, 3, c2, c3) + convMacs(7, 7, 1, c3, config.codebookSize));
}

export function dvaeDecodeFlops(config: DvaeConfig): number {
  const [c1, c2, c3] = config.channels;
  return 2 * (convMacs(7, 7, 1, config.codebookSize, c3) + convMacs(7, 7, 3, c3, c3) + convMacs(14, 14, 3, c3, c2) + convMacs(28, 28, 3, c2, c1) + convMacs(28, 28, 3, c1, 1));
}

function syntheticBatch(size: number, seed: number): Batch {
  let state = seed;
  const images = new Float32Array(size * 784).map(() => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  });
  const labels = Int32Array.from({ length: size }, (_, i) => i % 10);
  return { size, images, labels, indices: Int32Array.from({ length: size }, (_, i) => i) };
}

/** Median training step time of a fresh model over `steps` steps after `warmup` steps. */
export async function trainingThroughput(model: 'classifier' | 'dvae', batchSize: number, steps = 10, warmup = 3, batch?: Batch): Promise<WorkloadResult> {
  const data = batch ?? syntheticBatch(batchSize, 7);
  const options = { learningRate: { initial: 1e-3, final: 1e-3, warmupSteps: 0, totalSteps: 1 } };
  const instance = model === 'classifier' ? new Classifier(undefined, 1) : new Dvae(undefined, 1);
  const loss = instance instanceof Classifier ? instance.lossFunction(1) : instance.lossFunction(DEFAULT_DVAE_SCHEDULE, 1);
  const trainer = new Trainer(instance.params, loss, options);
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const start = performance.now();
    trainer.trainStep(data); // reads the loss back, so the step has finished when it returns
    if (i >= warmup) times.push(performance.now() - start);
  }
  trainer.dispose();
  instance.dispose();

  const forward = instance instanceof Classifier ? classifierForwardFlops(instance.config) : dvaeEncodeFlops(instance.config) + dvaeDecodeFlops(instance.config);
  const gflopPerCall = (3 * forward * data.size) / 1e9;
  const milliseconds = median(times);
  return { name: `${model} training step`, batchSize: data.size, milliseconds, perSecond: 1000 / milliseconds, gflopPerCall, gflops: gflopPerCall / (milliseconds / 1000) };
}

/** Median latency of tokenising images and decoding the tokens back, as the Tokenizer widget does. */
export async function tokenizeDecodeLatency(dvae: Dvae, batchSize: number, repeats = 10): Promise<WorkloadResult> {
  const data = syntheticBatch(batchSize, 11);
  const times: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    const start = performance.now();
    const images = tf.tensor4d(data.images, [batchSize, 28, 28, 1]);
    const tokens = dvae.tokenize(images);
    const decoded = dvae.decodeTokens(tokens);
    await tokens.data();
    await decoded.data();
    tf.dispose([images, tokens, decoded]);
    if (i >= 2) times.push(performance.now() - start);
  }
  const gflopPerCall = ((dvaeEncodeFlops(dvae.config) + dvaeDecodeFlops(dvae.config)) * batchSize) / 1e9;
  const milliseconds = median(times);
  return { name: 'dVAE tokenise + decode', batchSize, milliseconds, perSecond: 1000 / milliseconds, gflopPerCall, gflops: gflopPerCall / (milliseconds / 1000) };
}

export interface BackendBench {
  backend: string;
  environment: string;
  matmul: MatmulResult[];
  peakGflops: number;
  workloads: (WorkloadResult & { fractionOfPeak: number })[];
}

/** Runs every workload on the current backend. `quick` shortens runs and batches for slow backends (cpu). */
export async function runBackendBench(environment: string, options: { quick?: boolean } = {}): Promise<BackendBench> {
  const quick = options.quick ?? false;
  const matmul = await matmulPeak(quick ? [128, 256] : [128, 256, 512], quick ? 3 : 5);
  const peakGflops = Math.max(...matmul.map((m) => m.gflops));
  const steps = quick ? 1 : 10;
  const warmup = quick ? 1 : 3;
  // A batch-64 dVAE step takes about two minutes on Node's cpu backend, so quick runs use 8.
  const trainingBatch = quick ? 8 : 64;
  const dvae = new Dvae(undefined, 1);
  const workloads = [
    await trainingThroughput('classifier', trainingBatch, steps, warmup),
    await trainingThroughput('dvae', trainingBatch, steps, warmup),
    await tokenizeDecodeLatency(dvae, 1, quick ? 3 : 10),
    await tokenizeDecodeLatency(dvae, 16, quick ? 3 : 10),
  ];
  dvae.dispose();
  return {
    backend: tf.getBackend(),
    environment,
    matmul,
    peakGflops,
    workloads: workloads.map((w) => ({ ...w, fractionOfPeak: w.gflops / peakGflops })),
  };
}
