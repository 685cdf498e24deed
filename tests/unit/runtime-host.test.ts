/**
 * ModelHost, the worker's logic, driven directly in Node on the wasm backend with real
 * MNIST shards from public/data and checkpoints written to a temporary folder.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import * as tf from '../../src/models/tf';
import { PIXELS } from '../../src/models/data/mnist';
import { selectBackend, type BackendSelectionOptions } from '../../src/models/runtime/backend';
import { ModelHost } from '../../src/models/runtime/host';
import { toWorkerFailure, ModelWorkerError, type TrainingOptions, type TrainingProgress, type WorkerFailureKind } from '../../src/models/runtime/protocol';
import { WeightsStore } from '../../src/models/runtime/storage';
import { DEFAULT_DATA_DIR, diskFetch, SITE_URL, writeTestCheckpoints } from './runtime-fixtures';

const CODEBOOK_SIZE = 128;

/** Small enough for 2 CPU cores: a dVAE step on a batch of 16 takes tens of milliseconds on wasm. */
const TRAINING: TrainingOptions = { seed: 3, batchSize: 16, totalSteps: 40, progressEvery: 5, maxExamples: 10_000, previewCount: 4 };

let host: ModelHost;
let digits: { images: Float32Array; labels: Int32Array };

async function failureOf(promise: Promise<unknown>): Promise<{ kind: WorkerFailureKind; message: string }> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the call should have been rejected').toBeInstanceOf(ModelWorkerError);
  return toWorkerFailure(error);
}

/** Collects progress reports and lets a test wait for one that matches. */
function progressLog() {
  const reports: TrainingProgress[] = [];
  const waiters: { match: (p: TrainingProgress) => boolean; resolve: (p: TrainingProgress) => void }[] = [];
  const onProgress = (progress: TrainingProgress) => {
    reports.push(progress);
    for (const waiter of [...waiters]) {
      if (waiter.match(progress)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(progress);
      }
    }
  };
  const waitFor = (match: (p: TrainingProgress) => boolean): Promise<TrainingProgress> => {
    const found = reports.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => waiters.push({ match, resolve }));
  };
  return { reports, onProgress, waitFor };
}

async function tokensOf(images: Float32Array, count: number): Promise<Int32Array> {
  return (await host.tokenize(images, count)).tokens;
}

beforeAll(async () => {
  host = new ModelHost({
    fetch: diskFetch({ 'data/': DEFAULT_DATA_DIR }).fetch,
    store: new WeightsStore(new IDBFactory()),
    wasmPathPrefix: null,
  });
  const info = await host.init({ baseUrl: SITE_URL, backend: 'wasm' });
  expect(info.name).toBe('wasm');

  // Checkpoints are written once a backend runs, then served by a second host's fetch.
  const modelsDir = await writeTestCheckpoints([
    { name: 'dvae', seed: 11, step: 20 },
    { name: 'classifier', seed: 12, step: 30 },
  ]);
  host = new ModelHost({
    fetch: diskFetch({ 'data/': DEFAULT_DATA_DIR, 'models/': modelsDir }).fetch,
    store: new WeightsStore(new IDBFactory()),
    wasmPathPrefix: null,
  });
  await host.init({ baseUrl: SITE_URL, backend: 'wasm' });
  digits = await host.testDigits(0, 4);
});

describe('ModelHost inference', () => {
  it('init is idempotent', async () => {
    const again = await host.init({ baseUrl: SITE_URL, backend: 'cpu' });
    expect(again.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('testDigits returns real MNIST', async () => {
    expect(Array.from(digits.labels)).toEqual([7, 2, 1, 0]);
    expect(digits.images.length).toBe(4 * PIXELS);
    expect(Math.max(...digits.images)).toBeLessThanOrEqual(1);
    expect(Math.max(...digits.images)).toBeGreaterThan(0.9);
    expect((await failureOf(host.testDigits(9_999, 2))).kind).toBe('input');
  });

  it('load pretrained reads checkpoint and card', async () => {
    const info = await host.load('dvae', 'pretrained');
    expect(info.source).toBe('pretrained');
    expect(info.step).toBe(20);
    expect(info.card?.title).toBe('test dvae');
    expect(info.config).toMatchObject({ codebookSize: CODEBOOK_SIZE });
  });

  it('load reports a missing checkpoint', async () => {
    const bare = new ModelHost({ fetch: diskFetch({ 'data/': DEFAULT_DATA_DIR }).fetch, wasmPathPrefix: null, store: new WeightsStore(new IDBFactory()) });
    await bare.init({ baseUrl: SITE_URL, backend: 'wasm' });
    const failure = await failureOf(bare.load('dvae', 'pretrained'));
    expect(failure.kind).toBe('checkpoint');
    expect(failure.message).toContain('models/dvae/model.json');
  });

  it('tokenize returns grids, reconstructions and confidence', async () => {
    const result = await host.tokenize(digits.images, 4);
    expect(result.tokens).toBeInstanceOf(Int32Array);
    expect(result.tokens.length).toBe(4 * 7 * 7);
    expect(result.tokens.every((token) => token >= 0 && token < CODEBOOK_SIZE)).toBe(true);
    expect(result.reconstructions.length).toBe(4 * PIXELS);
    expect(result.reconstructions.every((pixel) => pixel >= 0 && pixel <= 1)).toBe(true);
    expect(result.confidence.length).toBe(4 * 7 * 7);
    expect(result.confidence.every((p) => p > 0 && p <= 1)).toBe(true);
  });

  it('tokenize rejects a wrong image count', async () => {
    const failure = await failureOf(host.tokenize(digits.images, 3));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain(`${3 * PIXELS} values, got ${4 * PIXELS}`);
  });

  it('decodeTokens matches tokenize', async () => {
    const { tokens, reconstructions } = await host.tokenize(digits.images, 4);
    const decoded = await host.decodeTokens(tokens, 4);
    expect(decoded.length).toBe(4 * PIXELS);
    expect(Array.from(decoded)).toEqual(Array.from(reconstructions));

    const outOfRange = Int32Array.from(tokens);
    outOfRange[5] = CODEBOOK_SIZE;
    expect((await failureOf(host.decodeTokens(outOfRange, 4))).kind).toBe('input');
  });

  it('classify loads the classifier on first use', async () => {
    const { labels, probabilities } = await host.classify(digits.images, 4);
    expect(labels.length).toBe(4);
    expect(probabilities.length).toBe(40);
    for (let i = 0; i < 4; i++) {
      const row = probabilities.subarray(i * 10, i * 10 + 10);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(labels[i]).toBe(row.indexOf(Math.max(...row)));
    }
  });

  it('unknown model name is rejected', async () => {
    const failure = await failureOf(host.load('unicorn' as never, 'pretrained'));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('"unicorn"');
  });
});

describe('ModelHost weights files and storage', () => {
  it('loadFile rejects bad files and keeps the old weights', async () => {
    await host.load('dvae', 'pretrained');
    const before = await tokensOf(digits.images, 4);
    const good = await host.exportFile('dvae');

    const foreign = new TextEncoder().encode('{"not": "a checkpoint"}');
    const foreignFailure = await failureOf(host.loadFile('dvae', foreign, 'notes.json'));
    expect(foreignFailure.kind).toBe('checkpoint');
    expect(foreignFailure.message).toContain('notes.json');

    const corrupt = good.slice();
    corrupt[corrupt.length - 3] ^= 0xff;
    const corruptFailure = await failureOf(host.loadFile('dvae', corrupt, 'corrupt.udalle'));
    expect(corruptFailure.kind).toBe('checkpoint');
    expect(corruptFailure.message).toContain('SHA-256');

    const truncated = good.slice(0, 40);
    expect((await failureOf(host.loadFile('dvae', truncated, 'cut.udalle'))).kind).toBe('checkpoint');

    await host.load('classifier', 'pretrained');
    const classifierFile = await host.exportFile('classifier');
    const wrongModel = await failureOf(host.loadFile('dvae', classifierFile, 'classifier.udalle'));
    expect(wrongModel.kind).toBe('checkpoint');
    expect(wrongModel.message).toContain('"classifier"');

    expect(Array.from(await tokensOf(digits.images, 4))).toEqual(Array.from(before));
  });

  it('exportFile and loadFile round trip', async () => {
    await host.load('dvae', 'pretrained');
    const before = await tokensOf(digits.images, 4);
    const file = await host.exportFile('dvae');
    await host.load('dvae', 'fresh');
    expect(Array.from(await tokensOf(digits.images, 4))).not.toEqual(Array.from(before));

    const info = await host.loadFile('dvae', file, 'mine.udalle');
    expect(info.source).toBe('file');
    expect(info.step).toBe(20);
    expect(Array.from(await tokensOf(digits.images, 4))).toEqual(Array.from(before));
  });

  it('save, savedInfo, load saved and deleteSaved', async () => {
    expect(await host.savedInfo('dvae')).toBeNull();
    expect((await failureOf(host.load('dvae', 'saved'))).kind).toBe('storage');

    await host.load('dvae', 'pretrained');
    const before = await tokensOf(digits.images, 4);
    const { savedAt, bytes } = await host.save('dvae');
    expect(bytes).toBeGreaterThan(100_000);
    expect(await host.savedInfo('dvae')).toEqual({ savedAt, step: 20 });

    await host.load('dvae', 'fresh');
    const info = await host.load('dvae', 'saved');
    expect(info.source).toBe('saved');
    expect(info.card?.title).toBe('test dvae');
    expect(Array.from(await tokensOf(digits.images, 4))).toEqual(Array.from(before));

    expect(await host.deleteSaved('dvae')).toBe(true);
    expect(await host.deleteSaved('dvae')).toBe(false);
    expect(await host.savedInfo('dvae')).toBeNull();
  });

  it('100 tokenize calls keep the tensor count', async () => {
    await host.load('dvae', 'pretrained');
    await tokensOf(digits.images, 4);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) await host.tokenize(digits.images, 4);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ModelHost training', () => {
  it('start, progress, pause, step, resume, reset', async () => {
    const log = progressLog();
    const tensorsBefore = tf.memory().numTensors;
    const finished = host.startTraining(TRAINING, log.onProgress);

    const loading = await log.waitFor((p) => p.state === 'loading-data' && p.dataProgress !== undefined);
    expect(loading.dataProgress!.totalBytes).toBe(7_850_000);
    const first = await log.waitFor((p) => p.state === 'running' && p.step >= 5);
    expect(first.step % TRAINING.progressEvery).toBe(0);
    expect(Object.keys(first.terms)).toEqual(expect.arrayContaining(['loss', 'reconstruction', 'kl', 'temperature', 'klWeight', 'learningRate']));
    expect(first.stepsPerSecond).toBeGreaterThan(0);
    expect(first.codebookUsage!.length).toBe(CODEBOOK_SIZE);
    expect(first.codebookUsage!.reduce((a, b) => a + b, 0)).toBe(TRAINING.batchSize * 49);
    expect(first.perplexity).toBeGreaterThanOrEqual(1);
    expect(first.perplexity).toBeLessThanOrEqual(CODEBOOK_SIZE);
    expect(first.preview!.originals.length).toBe(4 * PIXELS);
    expect(Array.from(first.preview!.originals)).toEqual(Array.from(digits.images));
    expect(first.preview!.reconstructions.length).toBe(4 * PIXELS);

    await host.pauseTraining();
    const paused = log.reports.at(-1)!;
    expect(paused.state).toBe('paused');
    const reportsWhilePaused = log.reports.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(log.reports.length, 'no steps run while paused').toBe(reportsWhilePaused);

    const stepped = await host.stepTraining();
    expect(stepped.step).toBe(paused.step + 1);
    expect(stepped.state).toBe('paused');
    expect(log.reports.at(-1)).toBe(stepped);
    expect((await failureOf(host.startTraining(TRAINING, log.onProgress))).kind).toBe('input');
    expect((await failureOf(host.load('dvae', 'fresh'))).kind).toBe('input');

    await host.resumeTraining();
    expect((await failureOf(host.stepTraining())).kind).toBe('input');
    await log.waitFor((p) => p.state === 'running' && p.step > stepped.step);

    await host.resetTraining();
    await finished;
    expect(log.reports.at(-1)).toMatchObject({ state: 'idle', step: 0 });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect((await failureOf(host.pauseTraining())).kind).toBe('input');
  });

  it('runs to totalSteps without tensor growth', async () => {
    const log = progressLog();
    const tensorsAtReport: number[] = [];
    const options = { ...TRAINING, totalSteps: 30, progressEvery: 10 };
    await host.startTraining(options, (progress) => {
      tensorsAtReport.push(tf.memory().numTensors);
      log.onProgress(progress);
    });
    const last = log.reports.at(-1)!;
    expect(last).toMatchObject({ state: 'stopped', step: 30, totalSteps: 30 });
    expect(log.reports.filter((p) => p.state !== 'loading-data').map((p) => p.step)).toEqual([0, 10, 20, 30]);
    // Adam creates its moment variables on the first step; from then on the count holds.
    expect(new Set(tensorsAtReport.slice(1)).size).toBe(1);
    expect((await host.exportFile('dvae')).length).toBeGreaterThan(100_000);
    const { savedAt } = await host.save('dvae');
    expect(await host.savedInfo('dvae')).toEqual({ savedAt, step: 30 });
  });

  it('NaN stops training and keeps the last good weights', async () => {
    const log = progressLog();
    // Adam moves every weight by about the learning rate on step 1, so the weights stay
    // finite (about 1e12) while step 2's activations overflow float32.
    const failure = await failureOf(host.startTraining({ ...TRAINING, learningRate: 1e12 }, log.onProgress));
    expect(failure.kind).toBe('nan');
    expect(failure.message).toMatch(/Training stopped at step \d+/);
    const last = log.reports.at(-1)!;
    expect(last.state).toBe('error');
    expect(last.failure?.kind).toBe('nan');

    // The export validates every value: a NaN weight would make loadFile reject it.
    const file = await host.exportFile('dvae');
    const info = await host.loadFile('dvae', file, 'after-nan.udalle');
    expect(info.step).toBe(last.step);
    expect(info.step).toBeGreaterThanOrEqual(1);
  });

  it('rejects invalid training options', async () => {
    const failure = await failureOf(host.startTraining({ ...TRAINING, batchSize: 0 }, () => {}));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('batchSize');
  });
});

describe('ModelHost with a lost backend', () => {
  it('fails training and calls instead of hanging', async () => {
    let markLost: (reason: string) => void = () => {};
    const lossyHost = new ModelHost({
      fetch: diskFetch({ 'data/': DEFAULT_DATA_DIR }).fetch,
      store: new WeightsStore(new IDBFactory()),
      wasmPathPrefix: null,
      // The real wasm selection, with a health watch the test controls, as a lost WebGL context would.
      selectBackend: async (options: BackendSelectionOptions) => {
        const selection = await selectBackend(options);
        let reason: string | null = null;
        let reject: (error: Error) => void = () => {};
        const lost = new Promise<never>((_, rejectLost) => (reject = rejectLost));
        lost.catch(() => {});
        markLost = (why) => {
          reason = why;
          reject(new ModelWorkerError('backend', `The wasm backend stopped working: ${why}.`));
        };
        return { info: selection.info, health: { lostReason: () => reason, lost } };
      },
    });
    await lossyHost.init({ baseUrl: SITE_URL, backend: 'wasm' });
    const log = progressLog();
    const finished = lossyHost.startTraining(TRAINING, log.onProgress);
    await log.waitFor((p) => p.state === 'running' && p.step >= 5);

    markLost('the WebGL context was lost');
    const failure = await failureOf(finished);
    expect(failure.kind).toBe('backend');
    expect(failure.message).toContain('the WebGL context was lost');
    expect(log.reports.at(-1)?.failure?.kind).toBe('backend');

    const later = await failureOf(lossyHost.tokenize(digits.images, 4));
    expect(later.kind).toBe('backend');
  });
});
