/**
 * ModelHost with the caption models: prompt reading, CLIP embeddings and zero-shot
 * classification, DALL·E-mini sampling, reranking and inspection, and in-page training of
 * CLIP and DALL·E-mini. The host serves the shipped checkpoints from public/models and real
 * MNIST shards from public/data, on the wasm backend in Node.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import * as tf from '../../src/models/tf';
import { PIXELS } from '../../src/models/data/mnist';
import { clampSampling, ModelHost } from '../../src/models/runtime/host';
import { MAX_PROMPT_CHARACTERS, ModelWorkerError, toWorkerFailure, type DalleSampleRequest, type TrainingProgress } from '../../src/models/runtime/protocol';
import { WeightsStore } from '../../src/models/runtime/storage';
import { DEFAULT_DATA_DIR, diskFetch, SITE_URL } from './runtime-fixtures';

const MODELS_DIR = resolve(import.meta.dirname, '../../public/models');
const SAMPLING: DalleSampleRequest = { prompt: 'a handwritten seven', count: 4, temperature: 1, topK: 0, topP: 1, seed: 5 };

let host: ModelHost;
let digits: { images: Float32Array; labels: Int32Array };

async function failureOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the call should have been rejected').toBeInstanceOf(ModelWorkerError);
  return toWorkerFailure(error);
}

beforeAll(async () => {
  host = new ModelHost({
    fetch: diskFetch({ 'data/': DEFAULT_DATA_DIR, 'models/': MODELS_DIR }).fetch,
    store: new WeightsStore(new IDBFactory()),
    wasmPathPrefix: null,
  });
  await host.init({ baseUrl: SITE_URL, backend: 'wasm' });
  digits = await host.testDigits(0, 20);
});

describe('readPrompt', () => {
  it('reads a known caption', async () => {
    const reading = await host.readPrompt('dalle', '  A Handwritten SEVEN ');
    expect(reading.normalized).toBe('a handwritten seven');
    expect(reading.digit).toBe(7);
    expect(reading.unknownWords).toEqual([]);
    expect(reading.tokens[0].text).toBe('<bos>');
    expect(reading.tokens.at(-1)!.text).toBe('<eos>');
    expect(reading.tokens.slice(1, -1).map((token) => token.text).join('')).toBe(' a handwritten seven');
    expect(reading.ids.length).toBe(reading.maxLength);
    expect(reading.truncated).toBe(false);
    expect(reading.vocabularyWords).toContain('seven');
  });

  it('flags unknown words and no digit', async () => {
    const reading = await host.readPrompt('dalle', 'a cat');
    expect(reading.unknownWords).toEqual(['cat']);
    expect(reading.words).toEqual([
      { text: 'a', known: true },
      { text: 'cat', known: false },
    ]);
    expect(reading.digit).toBeNull();
  });

  it('reads numerals, emoji and Arabic', async () => {
    expect((await host.readPrompt('clip', 'the digit 4')).digit).toBe(4);
    const emoji = await host.readPrompt('dalle', 'a 🐱 seven');
    expect(emoji.tokens.some((token) => token.unknown)).toBe(true);
    expect(emoji.digit).toBe(7);
    const arabic = await host.readPrompt('dalle', 'سبعة');
    expect(arabic.unknownWords).toEqual(['سبعة']);
    expect(arabic.digit).toBeNull();
  });

  it('keeps HTML as text', async () => {
    const reading = await host.readPrompt('dalle', '<img src=x onerror=alert(1)>');
    expect(reading.text).toBe('<img src=x onerror=alert(1)>');
    expect(reading.empty).toBe(false);
  });

  it('reports truncation and empty prompts', async () => {
    const long = await host.readPrompt('dalle', 'a handwritten seven '.repeat(10));
    expect(long.truncated).toBe(true);
    expect(long.droppedTokens).toBeGreaterThan(0);
    expect(long.tokens.at(-1)!.text).toBe('<eos>');
    expect(long.tokens.length).toBe(long.maxLength);

    const huge = await host.readPrompt('dalle', 'x'.repeat(MAX_PROMPT_CHARACTERS + 10));
    expect(huge.clipped).toBe(true);
    expect(huge.text.length).toBe(MAX_PROMPT_CHARACTERS);

    expect((await host.readPrompt('dalle', '   ')).empty).toBe(true);
  });

  it('rejects unknown models and non-text', async () => {
    expect((await failureOf(host.readPrompt('dvae' as never, 'seven'))).kind).toBe('input');
    expect((await failureOf(host.readPrompt('clip', 42 as never))).kind).toBe('input');
  });
});

describe('CLIP in the worker', () => {
  it('embeds onto the unit sphere', async () => {
    const result = await host.clipEmbed({ images: digits.images.slice(0, 3 * PIXELS), imageCount: 3, texts: ['seven', 'a handwritten two'] });
    expect(result.images.length).toBe(3 * result.dim);
    expect(result.texts.length).toBe(2 * result.dim);
    for (const [values, rows] of [
      [result.images, 3],
      [result.texts, 2],
    ] as const) {
      for (let row = 0; row < rows; row++) {
        const norm = Math.hypot(...values.subarray(row * result.dim, (row + 1) * result.dim));
        expect(norm).toBeCloseTo(1, 4);
      }
    }
    expect(result.logitScale).toBeGreaterThan(1);
    expect(result.logitScale).toBeLessThanOrEqual(100);
    expect(result.readings.map((reading) => reading.digit)).toEqual([7, 2]);
  });

  it('classifies test digits zero-shot', async () => {
    const result = await host.zeroShot(digits.images, 20);
    expect(result.prompts[3]).toBe('a handwritten three');
    let correct = 0;
    for (let i = 0; i < 20; i++) {
      const row = result.probabilities.subarray(i * 10, (i + 1) * 10);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      if (result.predicted[i] === digits.labels[i]) correct += 1;
    }
    expect(correct).toBeGreaterThanOrEqual(18);

    const numerals = await host.zeroShot(digits.images.slice(0, PIXELS), 1, 'the digit {digit}');
    expect(numerals.prompts[5]).toBe('the digit 5');
  });

  it('rejects a template without placeholder', async () => {
    const failure = await failureOf(host.zeroShot(digits.images.slice(0, PIXELS), 1, 'a handwritten digit'));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('{word}');
  });
});

describe('DALL·E-mini in the worker', () => {
  it('repeats, streams and decodes samples', async () => {
    const positions: number[] = [];
    const first = await host.sampleDalle(SAMPLING, (position, tokens) => {
      positions.push(position);
      expect(tokens.length).toBe(SAMPLING.count);
    });
    const again = await host.sampleDalle(SAMPLING);
    expect(positions).toEqual(Array.from({ length: 49 }, (_, i) => i));
    expect(first.tokens).toEqual(again.tokens);
    expect(first.images.length).toBe(SAMPLING.count * PIXELS);
    expect(Array.from(first.order)).toEqual([0, 1, 2, 3]);
    expect(first.notices).toEqual([]);
    const other = await host.sampleDalle({ ...SAMPLING, seed: 6 });
    expect(other.tokens).not.toEqual(first.tokens);
  });

  it('reranks by CLIP score, best first', async () => {
    const plain = await host.sampleDalle({ ...SAMPLING, count: 6 });
    const reranked = await host.sampleDalle({ ...SAMPLING, count: 6, rerank: true });
    const scores = Array.from(reranked.clipScores!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect([...reranked.order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // Row r of the reranked result is draw order[r] of the same seeded draws.
    reranked.order.forEach((draw, row) => {
      expect(reranked.tokens.subarray(row * 49, (row + 1) * 49)).toEqual(plain.tokens.subarray(draw * 49, (draw + 1) * 49));
    });
  });

  it('clamps out-of-range settings with notices', async () => {
    const result = await host.sampleDalle({ prompt: 'seven', count: 0, temperature: 99, topK: -3, topP: 2, seed: 1.5 });
    expect(result.settings).toMatchObject({ count: 1, temperature: 5, topK: 0, topP: 1, seed: 2 });
    expect(result.notices.length).toBe(5);
    expect(clampSampling({ ...SAMPLING, temperature: Number.NaN }, 128).notices[0]).toContain('not a number');
  });

  it('handles unknown, long and empty prompts', async () => {
    const cat = await host.sampleDalle({ ...SAMPLING, prompt: 'a cat', count: 1 });
    expect(cat.notices.join(' ')).toContain('“cat”');
    expect(cat.notices.join(' ')).toContain('names no digit');
    const long = await host.sampleDalle({ ...SAMPLING, prompt: 'a handwritten seven '.repeat(10), count: 1 });
    expect(long.notices.join(' ')).toContain('cut from the end');
    const failure = await failureOf(host.sampleDalle({ ...SAMPLING, prompt: ' ' }));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('empty');
  });

  it('inspects attention and code distributions', async () => {
    const sample = await host.sampleDalle({ ...SAMPLING, count: 1 });
    const inspection = await host.inspectDalle(SAMPLING.prompt, sample.tokens);
    const { layers, heads, length: L } = inspection;
    expect(inspection.attention.length).toBe(layers * heads * L * L);
    for (const map of [0, layers * heads - 1]) {
      for (const query of [0, 5, L - 1]) {
        const row = inspection.attention.subarray(map * L * L + query * L, map * L * L + (query + 1) * L);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        // Causal: nothing attends to a later position.
        expect(row.subarray(query + 1).every((weight) => weight === 0)).toBe(true);
      }
    }
    expect(inspection.topCodes.length).toBe(49 * 5);
    for (let position = 0; position < 49; position++) {
      const top = inspection.topProbabilities.subarray(position * 5, position * 5 + 5);
      expect([...top]).toEqual([...top].sort((a, b) => b - a));
      expect(inspection.chosenProbability[position]).toBeGreaterThan(0);
      expect(inspection.chosenProbability[position]).toBeLessThanOrEqual(top[0] + 1e-6);
    }
  });

  it('sampling keeps tensor count flat', async () => {
    await host.sampleDalle({ ...SAMPLING, count: 2, rerank: true });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await host.sampleDalle({ ...SAMPLING, count: 2, seed: i, rerank: true });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('training the caption models in the worker', () => {
  const log = () => {
    const reports: TrainingProgress[] = [];
    return { reports, onProgress: (progress: TrainingProgress) => void reports.push(progress) };
  };

  it('trains CLIP with similarity previews', async () => {
    const { reports, onProgress } = log();
    await host.startTraining({ model: 'clip', seed: 2, batchSize: 16, totalSteps: 6, progressEvery: 3, maxExamples: 2000, previewCount: 10 }, onProgress);
    const last = reports.at(-1)!;
    expect(last.state).toBe('stopped');
    expect(last.model).toBe('clip');
    expect(last.step).toBe(6);
    expect(Number.isFinite(last.terms.loss)).toBe(true);
    expect(last.clip!.similarity.length).toBe(100);
    expect(Array.from(last.clip!.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(last.clip!.captions).toHaveLength(10);
    const saved = await host.save('clip');
    expect(saved.bytes).toBeGreaterThan(1000);
    // Fresh weights replaced the shipped ones, so zero-shot now runs on the in-page model.
    expect((await host.savedInfo('clip'))!.step).toBe(6);
    await host.load('clip', 'pretrained');
  });

  it('trains DALL·E-mini with sample previews', async () => {
    const { reports, onProgress } = log();
    await host.startTraining({ model: 'dalle', seed: 2, batchSize: 8, totalSteps: 4, progressEvery: 2, maxExamples: 2000 }, onProgress);
    const last = reports.at(-1)!;
    expect(last.state).toBe('stopped');
    expect(last.model).toBe('dalle');
    expect(Object.keys(last.terms)).toEqual(expect.arrayContaining(['textCrossEntropy', 'imageCrossEntropy']));
    const preview = reports.find((report) => report.dalle)!.dalle!;
    expect(preview.prompts[7]).toBe('a handwritten seven');
    expect(preview.images.length).toBe(10 * PIXELS);
    // Previews are throttled while the run goes, but the last step's report shows the final weights.
    expect(last.step).toBe(4);
    expect(last.dalle?.images.length).toBe(10 * PIXELS);
    // The dVAE stays usable for DALL·E-mini's own decoding, and reset restores fresh weights.
    await host.resetTraining();
    expect((await host.sampleDalle({ ...SAMPLING, count: 1 })).images.length).toBe(PIXELS);
    await host.load('dalle', 'pretrained');
  });

  it('rejects training the referee', async () => {
    const failure = await failureOf(host.startTraining({ model: 'classifier' as never, seed: 1, batchSize: 8, totalSteps: 2, progressEvery: 1, maxExamples: 100 }, () => {}));
    expect(failure.kind).toBe('input');
  });
});
