/**
 * ModelHost.previewWeights: the training preview drawn for weights that were loaded rather
 * than trained, which the trainer widgets show after Load saved or Upload. The prior and the
 * decoder are freshly initialised checkpoints in a temporary folder, CLIP is the shipped one.
 * Runs on the wasm backend with few steps and small batches.
 */
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { PIXELS } from '../../src/models/data/mnist';
import { ModelHost } from '../../src/models/runtime/host';
import { ModelWorkerError, toWorkerFailure, type TrainingProgress, type WorkerFailure } from '../../src/models/runtime/protocol';
import { WeightsStore } from '../../src/models/runtime/storage';
import { DEFAULT_DATA_DIR, diskFetch, SITE_URL, writeTestCheckpoints, type SiteFolders } from './runtime-fixtures';

const MODELS_DIR = resolve(import.meta.dirname, '../../public/models');
const PREVIEW_COUNT = 10;

const folders: SiteFolders = { 'data/': DEFAULT_DATA_DIR, 'models/clip/': join(MODELS_DIR, 'clip') };
let host: ModelHost;

async function failureOf(promise: Promise<unknown>): Promise<WorkerFailure> {
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

beforeAll(async () => {
  host = new ModelHost({ fetch: diskFetch(folders).fetch, store: new WeightsStore(new IDBFactory()), wasmPathPrefix: null });
  await host.init({ baseUrl: SITE_URL, backend: 'wasm' });
  const modelsDir = await writeTestCheckpoints([
    { name: 'decoder', seed: 31, step: 0 },
    { name: 'prior', seed: 32, step: 0 },
  ]);
  folders['models/decoder/'] = join(modelsDir, 'decoder');
  folders['models/prior/'] = join(modelsDir, 'prior');
});

describe('previewWeights', () => {
  it('rejects a model without weights in memory', async () => {
    const failure = await failureOf(host.previewWeights('prior', PREVIEW_COUNT));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('no prior weights in memory');
  });

  it('rejects a bad preview count and an untrainable model', async () => {
    await host.load('prior', 'pretrained');
    for (const count of [0, 65, 2.5, Number.NaN]) {
      expect((await failureOf(host.previewWeights('prior', count))).kind, `preview count ${count}`).toBe('input');
    }
    const classifier = await failureOf(host.previewWeights('classifier' as 'prior', PREVIEW_COUNT));
    expect(classifier.kind).toBe('input');
    expect(classifier.message).toContain('Cannot train "classifier"');
  });

  it('prior preview equals the last training report', async () => {
    const reports: TrainingProgress[] = [];
    const options = { model: 'prior', seed: 4, batchSize: 8, totalSteps: 2, progressEvery: 1, maxExamples: 1000, previewCount: PREVIEW_COUNT } as const;
    await host.startTraining(options, (progress) => void reports.push(progress));
    const last = reports.at(-1)!;
    expect(last.state).toBe('stopped');

    // Same weights, same preview digits and the same noise seed give the same cosines.
    const preview = await host.previewWeights('prior', PREVIEW_COUNT);
    expect(preview.diffusion!.cosines).toHaveLength(PREVIEW_COUNT);
    expect(maxAbsDifference(preview.diffusion!.cosines!, last.diffusion!.cosines!)).toBeLessThan(1e-5);
    expect(maxAbsDifference(preview.diffusion!.originals, last.diffusion!.originals)).toBe(0);
    expect(preview.diffusion!.samples).toBeUndefined();
  });

  it('prior preview follows weights loaded from a file', async () => {
    const file = await host.exportFile('prior');
    const before = await host.previewWeights('prior', PREVIEW_COUNT);
    await host.load('prior', 'pretrained');
    await host.loadFile('prior', file, 'prior-step2.udalle');
    const after = await host.previewWeights('prior', PREVIEW_COUNT);
    expect(maxAbsDifference(after.diffusion!.cosines!, before.diffusion!.cosines!)).toBeLessThan(1e-5);
  });

  it('decoder preview draws one image per digit', async () => {
    await host.load('decoder', 'pretrained');
    const count = 4;
    const preview = await host.previewWeights('decoder', count);
    const { originals, samples } = preview.diffusion!;
    expect(originals.length).toBe(count * PIXELS);
    expect(samples!.length).toBe(count * PIXELS);
    expect(samples!.every((value) => value >= 0 && value <= 1)).toBe(true);
    // The decoder preview covers one digit of each class, as in training reports.
    const digits = await host.testDigits(0, 200);
    const firstZero = Array.from(digits.labels).indexOf(0);
    expect(maxAbsDifference(originals.subarray(0, PIXELS), digits.images.subarray(firstZero * PIXELS, (firstZero + 1) * PIXELS))).toBe(0);
  });

  it('a wrong-model file leaves the prior in place', async () => {
    const before = await host.previewWeights('prior', PREVIEW_COUNT);
    const decoderFile = await host.exportFile('decoder');
    const failure = await failureOf(host.loadFile('prior', decoderFile, 'decoder.udalle'));
    expect(failure.kind).toBe('checkpoint');
    expect(failure.message).toContain('is for model "decoder" (unCLIP decoder), this widget needs "prior" (unCLIP diffusion prior): load a checkpoint of the unCLIP diffusion prior.');
    const after = await host.previewWeights('prior', PREVIEW_COUNT);
    expect(maxAbsDifference(after.diffusion!.cosines!, before.diffusion!.cosines!)).toBe(0);
  });

  it('rejects a preview while the model trains', async () => {
    let firstReport!: () => void;
    const started = new Promise<void>((resolvePromise) => (firstReport = resolvePromise));
    const options = { model: 'prior', seed: 5, batchSize: 8, totalSteps: 50, progressEvery: 1, maxExamples: 1000, previewCount: PREVIEW_COUNT } as const;
    const finished = host.startTraining(options, (progress) => {
      if (progress.state === 'running') firstReport();
    });
    await started;
    await host.pauseTraining();
    const failure = await failureOf(host.previewWeights('prior', PREVIEW_COUNT));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('Cannot draw a preview while');
    await host.resetTraining();
    await finished;
  });
});
