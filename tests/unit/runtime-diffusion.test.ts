/**
 * ModelHost serving unCLIP's diffusion models: forward noising, decoding CLIP image
 * embeddings, the whole prompt → prior → decoder pipeline, cancellation, NaN failures, and
 * in-page training of the decoder and the prior. The decoder and prior are freshly
 * initialised checkpoints written to a temporary folder; CLIP and its tokenizer are the
 * shipped ones from public/models. Runs on the wasm backend with few steps and small batches.
 */
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import * as tf from '../../src/models/tf';
import { encodeCheckpoint, packCheckpoint } from '../../src/models/checkpoint';
import { PIXELS } from '../../src/models/data/mnist';
import { DEFAULT_DECODER_CONFIG } from '../../src/models/decoder';
import { makeSchedule } from '../../src/models/diffusion';
import { createModel, type ModelName } from '../../src/models/registry';
import { clampDiffusion, clampPriorSettings, ModelHost } from '../../src/models/runtime/host';
import {
  MAX_DIFFUSION_SAMPLES,
  MAX_GUIDANCE_SCALE,
  ModelWorkerError,
  toWorkerFailure,
  type DiffusionSettings,
  type DiffusionStepReport,
  type TrainingProgress,
  type WorkerFailureKind,
} from '../../src/models/runtime/protocol';
import { WeightsStore } from '../../src/models/runtime/storage';
import { DEFAULT_DATA_DIR, diskFetch, SITE_URL, writeTestCheckpoints, type SiteFolders } from './runtime-fixtures';

const MODELS_DIR = resolve(import.meta.dirname, '../../public/models');
/** The decoder's T. */
const T = DEFAULT_DECODER_CONFIG.diffusionSteps;
const FAST: DiffusionSettings = { method: 'ddim', steps: 4, eta: 0, guidanceScale: 1, seed: 3 };

/** Served under SITE_URL; the decoder and prior folders are added once their checkpoints exist. */
const folders: SiteFolders = { 'data/': DEFAULT_DATA_DIR, 'models/clip/': join(MODELS_DIR, 'clip') };
let host: ModelHost;
let digits: { images: Float32Array; labels: Int32Array };
/** CLIP image embeddings of the four digits, [4, dim]. */
let embeddings: Float32Array;
let dim: number;

async function failureOf(promise: Promise<unknown>): Promise<{ kind: WorkerFailureKind; message: string }> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the call should have been rejected').toBeInstanceOf(ModelWorkerError);
  return toWorkerFailure(error);
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let maxDifference = 0;
  for (let i = 0; i < a.length; i++) maxDifference = Math.max(maxDifference, Math.abs(a[i] - b[i]));
  return maxDifference;
}

function inUnitRange(values: Float32Array): boolean {
  return values.every((value) => value >= 0 && value <= 1);
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i] / n;
    meanB += b[i] / n;
  }
  let covariance = 0;
  let varianceA = 0;
  let varianceB = 0;
  for (let i = 0; i < n; i++) {
    covariance += (a[i] - meanA) * (b[i] - meanB);
    varianceA += (a[i] - meanA) ** 2;
    varianceB += (b[i] - meanB) ** 2;
  }
  return covariance / Math.sqrt(varianceA * varianceB);
}

function rowNorms(values: Float32Array, rowLength: number): number[] {
  return Array.from({ length: values.length / rowLength }, (_, row) => Math.hypot(...values.subarray(row * rowLength, (row + 1) * rowLength)));
}

/**
 * Packs a checkpoint of `name` whose weights are `init(shape)` for every parameter, for
 * `loadFile`. Fresh decoders predict zero noise whatever they are conditioned on, so tests
 * that need the conditioning to matter, or weights that overflow, build their own.
 */
async function packedWeights(name: ModelName, init: (shape: number[], index: number) => tf.Tensor): Promise<Uint8Array> {
  const handle = createModel(name, 5);
  Object.values(handle.model.params).forEach((variable, index) => {
    tf.tidy(() => variable.assign(init(variable.shape, index)));
  });
  const checkpoint = await encodeCheckpoint(name, handle.config, handle.model.params, { step: 1, seed: 5 });
  handle.model.dispose();
  return packCheckpoint(checkpoint);
}

beforeAll(async () => {
  host = new ModelHost({ fetch: diskFetch(folders).fetch, store: new WeightsStore(new IDBFactory()), wasmPathPrefix: null });
  await host.init({ baseUrl: SITE_URL, backend: 'wasm' });
  // Checkpoints are written once a backend runs; the fetch reads the folder map at each request.
  const modelsDir = await writeTestCheckpoints([
    { name: 'decoder', seed: 21, step: 0 },
    { name: 'prior', seed: 22, step: 0 },
  ]);
  folders['models/decoder/'] = join(modelsDir, 'decoder');
  folders['models/prior/'] = join(modelsDir, 'prior');
  digits = await host.testDigits(0, 4);
  const embedded = await host.clipEmbed({ images: digits.images, imageCount: 4 });
  embeddings = embedded.images;
  dim = embedded.dim;
});

describe('forwardNoise', () => {
  it('matches the closed form of q(x_t | x_0)', async () => {
    const timesteps = [0, 60, 120, T - 1];
    const seed = 9;
    const result = await host.forwardNoise({ images: digits.images, count: 4, timesteps, seed });
    const schedule = makeSchedule(DEFAULT_DECODER_CONFIG.schedule, T);
    expect(result.alphaBars).toEqual(timesteps.map((t) => schedule.alphaBars[t]));
    expect(result.noisy.length).toBe(4 * PIXELS);
    expect(inUnitRange(result.noisy)).toBe(true);

    // x_t = √ᾱ x_0 + √(1 − ᾱ) ε in the data range [−1, 1], with ε drawn from the same seed.
    const noise = tf.tidy(() => tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', seed).dataSync());
    const expected = new Float32Array(4 * PIXELS);
    for (let i = 0; i < expected.length; i++) {
      const a = result.alphaBars[Math.floor(i / PIXELS)];
      const xt = Math.sqrt(a) * (2 * digits.images[i] - 1) + Math.sqrt(1 - a) * noise[i];
      expected[i] = Math.min(1, Math.max(0, (xt + 1) / 2));
    }
    expect(maxAbsDifference(result.noisy, expected)).toBeLessThan(1e-5);

    // t = 0 is nearly clean, t = T − 1 nearly pure noise, and the image fades in between.
    const image = (values: Float32Array, row: number) => values.subarray(row * PIXELS, (row + 1) * PIXELS);
    const [clean, early, middle, last] = [0, 1, 2, 3].map((row) => correlation(image(result.noisy, row), image(digits.images, row)));
    expect(result.alphaBars[0]).toBeGreaterThan(0.99);
    expect(maxAbsDifference(image(result.noisy, 0), image(digits.images, 0))).toBeLessThan(0.1);
    expect(clean).toBeGreaterThan(0.99);
    expect(early).toBeLessThan(clean);
    expect(middle).toBeLessThan(early);
    expect(middle).toBeGreaterThan(0.1);
    expect(result.alphaBars[3]).toBeLessThan(1e-3);
    expect(Math.abs(last)).toBeLessThan(0.1);
  });

  it('shares one timestep and repeats per seed', async () => {
    const request = { images: digits.images.slice(0, 2 * PIXELS), count: 2, timesteps: [100], seed: 4 };
    const first = await host.forwardNoise(request);
    const again = await host.forwardNoise(request);
    const other = await host.forwardNoise({ ...request, seed: 5 });
    expect(first.alphaBars).toHaveLength(2);
    expect(first.alphaBars[0]).toBe(first.alphaBars[1]);
    expect(again.noisy).toEqual(first.noisy);
    expect(maxAbsDifference(other.noisy, first.noisy)).toBeGreaterThan(0.1);
  });

  it('repeats for seed 0 too', async () => {
    // tfjs reads a seed of 0 as no seed at all; the host must not pass it on as is.
    const request = { images: digits.images.slice(0, PIXELS), count: 1, timesteps: [100], seed: 0 };
    const first = await host.forwardNoise(request);
    const again = await host.forwardNoise(request);
    expect(again.noisy).toEqual(first.noisy);
  });

  it('rejects bad timesteps and seeds', async () => {
    const request = { images: digits.images.slice(0, 2 * PIXELS), count: 2, timesteps: [1], seed: 1 };
    for (const timesteps of [[T], [-1], [1.5], [1, 2, 3]]) {
      expect((await failureOf(host.forwardNoise({ ...request, timesteps }))).kind).toBe('input');
    }
    const failure = await failureOf(host.forwardNoise({ ...request, timesteps: [T] }));
    expect(failure.message).toContain(`0 to ${T - 1}`);
    expect((await failureOf(host.forwardNoise({ ...request, seed: 1.5 }))).kind).toBe('input');
    expect((await failureOf(host.forwardNoise({ ...request, count: 3 }))).kind).toBe('input');
  });
});

describe('decodeEmbedding', () => {
  it('streams one report per step', async () => {
    const reports: DiffusionStepReport[] = [];
    const result = await host.decodeEmbedding({ embeddings, count: 4, ...FAST }, (step) => void reports.push(step));
    expect(result.images.length).toBe(4 * PIXELS);
    expect(inUnitRange(result.images)).toBe(true);
    expect(result.interrupted).toBe(false);
    expect(result.notices).toEqual([]);
    expect(result.settings).toEqual(FAST);
    expect(result.timesteps).toEqual([T - 1, 133, 66, 0]);
    expect(result.samplingMs).toBeGreaterThan(0);

    expect(reports.map((report) => report.index)).toEqual([0, 1, 2, 3]);
    expect(reports.map((report) => report.t)).toEqual(result.timesteps);
    for (const report of reports) {
      expect(report.count).toBe(4);
      expect(report.images.length).toBe(4 * PIXELS);
      expect(report.predictedClean.length).toBe(4 * PIXELS);
      expect(inUnitRange(report.images)).toBe(true);
      expect(inUnitRange(report.predictedClean)).toBe(true);
    }
    expect(maxAbsDifference(reports[3].images, result.images)).toBeLessThan(1e-5);
  });

  it('repeats with the same seed', async () => {
    const request = { embeddings: embeddings.slice(0, 2 * dim), count: 2, ...FAST, method: 'ddpm' as const, steps: 3 };
    const first = await host.decodeEmbedding(request);
    const again = await host.decodeEmbedding(request);
    const other = await host.decodeEmbedding({ ...request, seed: 4 });
    expect(again.images).toEqual(first.images);
    expect(maxAbsDifference(other.images, first.images)).toBeGreaterThan(0.1);
  });

  it('clamps settings with notices', async () => {
    const result = await host.decodeEmbedding({ embeddings: embeddings.slice(0, dim), count: 1, method: 'euler' as never, steps: 0, eta: 2, guidanceScale: 50, seed: 1.5 });
    expect(result.settings).toEqual({ method: 'ddim', steps: 1, eta: 1, guidanceScale: MAX_GUIDANCE_SCALE, seed: 2 });
    expect(result.notices).toHaveLength(5);
    expect(result.notices[0]).toContain('euler');

    expect(clampDiffusion({ ...FAST, steps: 999 }, T).settings.steps).toBe(T);
    const notNumbers = clampDiffusion({ ...FAST, guidanceScale: Number.NaN }, T);
    expect(notNumbers.settings.guidanceScale).toBe(1);
    expect(notNumbers.notices[0]).toContain('not a number');
    expect(clampDiffusion(FAST, T).notices).toEqual([]);
  });

  it('decodes at most the sample limit', async () => {
    const count = MAX_DIFFUSION_SAMPLES + 1;
    const many = new Float32Array(count * dim);
    for (let row = 0; row < count; row++) many.set(embeddings.subarray((row % 4) * dim, (row % 4 + 1) * dim), row * dim);
    const result = await host.decodeEmbedding({ embeddings: many, count, ...FAST, steps: 1 });
    expect(result.images.length).toBe(MAX_DIFFUSION_SAMPLES * PIXELS);
    expect(result.notices.join(' ')).toContain(`first ${MAX_DIFFUSION_SAMPLES}`);
  });

  it('validates embeddings', async () => {
    const one = embeddings.slice(0, dim);
    const withNaN = one.slice();
    withNaN[5] = Number.NaN;
    const nanFailure = await failureOf(host.decodeEmbedding({ embeddings: withNaN, count: 1, ...FAST }));
    expect(nanFailure.kind).toBe('input');
    expect(nanFailure.message).toContain('position 5');
    expect((await failureOf(host.decodeEmbedding({ embeddings: one, count: 2, ...FAST }))).kind).toBe('input');
    expect((await failureOf(host.decodeEmbedding({ embeddings: new Float32Array(dim), count: 1, ...FAST }))).kind).toBe('input');
    expect((await failureOf(host.decodeEmbedding({ embeddings: Array.from(one) as never, count: 1, ...FAST }))).kind).toBe('input');

    const unit = await host.decodeEmbedding({ embeddings: one, count: 1, ...FAST, steps: 2 });
    const doubled = await host.decodeEmbedding({ embeddings: one.map((value) => 2 * value), count: 1, ...FAST, steps: 2 });
    expect(doubled.notices.join(' ')).toContain('scaled to length 1');
    expect(maxAbsDifference(doubled.images, unit.images)).toBeLessThan(1e-4);
  });

  it('follows the embedding and the guidance scale', async () => {
    // Random weights everywhere, so the prediction depends on the conditioning.
    const bytes = await packedWeights('decoder', (shape, index) => tf.randomNormal(shape, 0, 0.05, 'float32', index));
    await host.loadFile('decoder', bytes, 'conditioned-decoder.bin');
    try {
      // Enough steps that the last, barely noisy ones decide the pixels: after one or two steps
      // from pure noise, x̂_0 is clipped to ±1 almost everywhere whatever the conditioning.
      const request = { embeddings: embeddings.slice(0, dim), count: 1, ...FAST, steps: 10 };
      const first = await host.decodeEmbedding(request);
      const otherDigit = await host.decodeEmbedding({ ...request, embeddings: embeddings.slice(dim, 2 * dim) });
      const guided = await host.decodeEmbedding({ ...request, guidanceScale: 4 });
      expect(maxAbsDifference(otherDigit.images, first.images)).toBeGreaterThan(1e-3);
      expect(maxAbsDifference(guided.images, first.images)).toBeGreaterThan(1e-3);
    } finally {
      await host.load('decoder', 'pretrained');
    }
  });
});

describe('cancelSampling', () => {
  it('stops after the current step', async () => {
    const reports: DiffusionStepReport[] = [];
    const result = await host.decodeEmbedding({ embeddings: embeddings.slice(0, 2 * dim), count: 2, ...FAST, steps: 6 }, (step) => {
      reports.push(step);
      if (step.index === 1) void host.cancelSampling();
    });
    expect(result.interrupted).toBe(true);
    expect(reports).toHaveLength(2);
    expect(result.timesteps).toHaveLength(6);
    expect(maxAbsDifference(result.images, reports[1].images)).toBeLessThan(1e-5);
  });

  it('handles a cancel sent as a later message', async () => {
    let steps = 0;
    const result = await host.decodeEmbedding({ embeddings: embeddings.slice(0, dim), count: 1, ...FAST, steps: 8 }, (step) => {
      steps += 1;
      // Like a message from the page: it runs only when the sampler yields to the event loop.
      if (step.index === 0) setTimeout(() => void host.cancelSampling(), 0);
    });
    expect(result.interrupted).toBe(true);
    expect(steps).toBeLessThan(8);
  });

  it('leaves later calls alone', async () => {
    await host.cancelSampling();
    const result = await host.decodeEmbedding({ embeddings: embeddings.slice(0, dim), count: 1, ...FAST, steps: 2 });
    expect(result.interrupted).toBe(false);
  });
});

describe('sampleUnclip', () => {
  it('runs prompt, prior and decoder', async () => {
    const reports: DiffusionStepReport[] = [];
    const request = { prompt: 'a handwritten seven', count: 2, ...FAST, priorSteps: 3 };
    const result = await host.sampleUnclip(request, (step) => void reports.push(step));
    expect(result.prompt.digit).toBe(7);
    expect(result.notices).toEqual([]);
    expect(result.dim).toBe(dim);
    expect(result.images.length).toBe(2 * PIXELS);
    expect(inUnitRange(result.images)).toBe(true);
    expect(reports).toHaveLength(FAST.steps);
    expect(result.interrupted).toBe(false);

    for (const norm of rowNorms(result.imageEmbeddings, dim)) expect(norm).toBeCloseTo(1, 4);
    expect(result.imageEmbeddings.length).toBe(2 * dim);
    expect(rowNorms(result.textEmbedding, dim)).toHaveLength(1);

    // The text embedding and the scores agree with CLIP's own embeddings.
    const clip = await host.clipEmbed({ images: result.images, imageCount: 2, texts: [request.prompt] });
    expect(maxAbsDifference(result.textEmbedding, clip.texts)).toBeLessThan(1e-5);
    expect(result.clipScores).toHaveLength(2);
    for (let row = 0; row < 2; row++) {
      let cosine = 0;
      for (let i = 0; i < dim; i++) cosine += clip.images[row * dim + i] * clip.texts[i];
      expect(result.clipScores[row]).toBeCloseTo(cosine, 4);
    }

    // The decoder ran on the prior's embeddings with the request's seed.
    const decoded = await host.decodeEmbedding({ embeddings: result.imageEmbeddings, count: 2, ...FAST });
    expect(decoded.images).toEqual(result.images);
  });

  it('notes prompts and clamps counts', async () => {
    const result = await host.sampleUnclip({ prompt: 'a cat', count: 0, ...FAST, steps: 1, priorSteps: 1000, priorCandidates: 0 });
    expect(result.images.length).toBe(PIXELS);
    const notes = result.notices.join(' ');
    expect(notes).toContain('The number of images 0');
    expect(notes).toContain('The prior’s number of denoising steps 1000');
    expect(notes).toContain('prior candidates 0');
    expect(notes).toContain('“cat”');
    expect(notes).toContain('names no digit');

    const priorNotices: string[] = [];
    expect(clampPriorSettings({}, 100, priorNotices)).toEqual({ steps: 25, guidanceScale: 1, candidates: 2 });
    expect(priorNotices).toEqual([]);
  });

  it('rejects an empty prompt', async () => {
    const failure = await failureOf(host.sampleUnclip({ prompt: '  ', count: 1, ...FAST }));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('empty');
  });
});

describe('diverged weights', () => {
  const overflowing = (shape: number[], index: number) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', index), 1e30);

  it('decoder NaN is a nan failure', async () => {
    await host.loadFile('decoder', await packedWeights('decoder', overflowing), 'diverged-decoder.bin');
    const before = tf.memory().numTensors;
    try {
      const failure = await failureOf(host.decodeEmbedding({ embeddings: embeddings.slice(0, dim), count: 1, ...FAST, steps: 2 }));
      expect(failure.kind).toBe('nan');
      expect(failure.message).toContain('decoder');
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await host.load('decoder', 'pretrained');
    }
  });

  it('prior NaN is a nan failure', async () => {
    await host.loadFile('prior', await packedWeights('prior', overflowing), 'diverged-prior.bin');
    const before = tf.memory().numTensors;
    try {
      const failure = await failureOf(host.sampleUnclip({ prompt: 'a handwritten two', count: 1, ...FAST, priorSteps: 2 }));
      expect(failure.kind).toBe('nan');
      expect(failure.message).toContain('prior');
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await host.load('prior', 'pretrained');
    }
  });
});

describe('memory', () => {
  it('sampling keeps tensor count flat', async () => {
    const decode = { embeddings: embeddings.slice(0, 2 * dim), count: 2, ...FAST, steps: 2, guidanceScale: 2 };
    const unclip = { prompt: 'a handwritten four', count: 2, ...FAST, steps: 2, priorSteps: 2 };
    await host.decodeEmbedding(decode);
    await host.sampleUnclip(unclip);
    const before = tf.memory().numTensors;
    for (let seed = 0; seed < 3; seed++) {
      await host.decodeEmbedding({ ...decode, seed });
      await host.sampleUnclip({ ...unclip, seed });
      await host.forwardNoise({ images: digits.images, count: 4, timesteps: [seed * 50], seed });
    }
    await host.decodeEmbedding({ ...decode, steps: 4 }, (step) => {
      if (step.index === 0) void host.cancelSampling();
    });
    await failureOf(host.decodeEmbedding({ ...decode, count: 3 }));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('training the diffusion models', () => {
  const log = () => {
    const reports: TrainingProgress[] = [];
    return { reports, onProgress: (progress: TrainingProgress) => void reports.push(progress) };
  };

  it('trains the decoder with sample previews', async () => {
    const { reports, onProgress } = log();
    let firstReport!: () => void;
    const started = new Promise<void>((resolvePromise) => (firstReport = resolvePromise));
    const finished = host.startTraining({ model: 'decoder', seed: 2, batchSize: 8, totalSteps: 3, progressEvery: 1, maxExamples: 1000, previewCount: 4 }, (progress) => {
      onProgress(progress);
      if (progress.state === 'running') firstReport();
    });
    await started;
    await host.pauseTraining();
    // CLIP conditions the decoder while it trains, so neither may be replaced.
    const clipFailure = await failureOf(host.load('clip', 'pretrained'));
    expect(clipFailure.kind).toBe('input');
    expect(clipFailure.message).toContain('unCLIP decoder is training');
    expect((await failureOf(host.load('decoder', 'pretrained'))).kind).toBe('input');
    await host.resumeTraining();
    await finished;

    const last = reports.at(-1)!;
    expect(last.state).toBe('stopped');
    expect(last.model).toBe('decoder');
    expect(last.step).toBe(3);
    expect(Number.isFinite(last.terms.noiseMse)).toBe(true);
    // Reports between steps (start, pause) always carry a preview.
    for (const state of ['running', 'paused'] as const) {
      const preview = reports.find((report) => report.state === state)!.diffusion!;
      expect(preview.originals.length).toBe(4 * PIXELS);
      expect(preview.samples!.length).toBe(4 * PIXELS);
      expect(inUnitRange(preview.samples!)).toBe(true);
    }
    await host.load('clip', 'pretrained');
  });

  it('trains the prior with cosine previews', async () => {
    const { reports, onProgress } = log();
    await host.startTraining({ model: 'prior', seed: 2, batchSize: 16, totalSteps: 3, progressEvery: 1, maxExamples: 1000, previewCount: 10 }, onProgress);
    const last = reports.at(-1)!;
    expect(last.state).toBe('stopped');
    expect(last.model).toBe('prior');
    expect(Number.isFinite(last.terms.embeddingMse)).toBe(true);
    expect(Number.isFinite(last.terms.cosine)).toBe(true);
    for (const report of reports.filter((progress) => progress.state === 'running' || progress.state === 'stopped')) {
      const cosines = report.diffusion!.cosines!;
      expect(cosines).toHaveLength(10);
      expect(cosines.every((cosine) => cosine >= -1.0001 && cosine <= 1.0001)).toBe(true);
      expect(report.diffusion!.originals.length).toBe(10 * PIXELS);
    }
  });
});
