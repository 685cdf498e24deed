/**
 * ModelHost for the "Better captions" chapter: placed test digits, the shipped captioner,
 * and sampling from the caption-ablation generators. The host serves the shipped
 * checkpoints from public/models and real MNIST shards from public/data, on the wasm
 * backend in Node. A generator whose checkpoint has not been trained yet is skipped.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import * as tf from '../../src/models/tf';
import { ABLATION_TEXT_LENGTH, CAPTION_GENERATORS, type CaptionGeneratorName } from '../../src/models/caption-ablation';
import {
  attributeIndices,
  attributesFromIndices,
  descriptiveCaption,
  placeSplit,
  PLACEMENT_TEST_SEED,
  readAttributes,
  shortCaption,
  type PlacedSplit,
} from '../../src/models/data/attributes';
import { PIXELS } from '../../src/models/data/mnist';
import { ModelHost } from '../../src/models/runtime/host';
import { ModelWorkerError, toWorkerFailure, type DalleSampleRequest, type PlacedDigits } from '../../src/models/runtime/protocol';
import { WeightsStore } from '../../src/models/runtime/storage';
import { mnist } from './helpers';
import { DEFAULT_DATA_DIR, diskFetch, SITE_URL } from './runtime-fixtures';

const MODELS_DIR = resolve(import.meta.dirname, '../../public/models');
/** Test digits this file places: enough for every digit class, few enough to place in well under a second. */
const PLACED_COUNT = 40;

/** True when `npm run train` has written the generator's checkpoint and tokenizer. */
function isShipped(name: CaptionGeneratorName): boolean {
  return ['model.json', 'weights.bin', 'tokenizer.json'].every((file) => existsSync(join(MODELS_DIR, name, file)));
}

const notShippedReason = (name: CaptionGeneratorName) => `public/models/${name}/ is not there yet: train it with \`npm run train -- ${name}\``;

let host: ModelHost;
let reference: PlacedSplit;
let placed: PlacedDigits;

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
  reference = placeSplit(await mnist('test', PLACED_COUNT), PLACEMENT_TEST_SEED);
  placed = await host.placedDigits(0, PLACED_COUNT);
});

describe('placedDigits', () => {
  it('equals placeSplit on the same indices', async () => {
    const start = 7;
    const count = 12;
    const window = await host.placedDigits(start, count);

    expect(Array.from(window.indices)).toEqual(Array.from({ length: count }, (_, row) => start + row));
    expect(Array.from(window.labels)).toEqual(Array.from(reference.split.labels.subarray(start, start + count)));
    const expectedPixels = Float32Array.from(reference.split.images.subarray(start * PIXELS, (start + count) * PIXELS), (byte) => byte / 255);
    expect(window.images).toEqual(expectedPixels);
    for (let row = 0; row < count; row++) {
      const expected = attributesFromIndices(reference.attributes, (start + row) * 4);
      expect(window.attributes[row], `attributes of test digit ${start + row}`).toEqual(expected);
      expect(attributeIndices(window.attributes[row]!)).toEqual(Array.from(reference.attributes.subarray((start + row) * 4, (start + row + 1) * 4)));
    }
  });

  it('writes both captions from label and pixels', () => {
    for (let row = 0; row < PLACED_COUNT; row++) {
      const label = placed.labels[row];
      expect(placed.shortCaptions[row]).toBe(shortCaption(label));
      expect(placed.descriptiveCaptions[row]).toBe(descriptiveCaption(label, placed.attributes[row]!));
      expect(readAttributes(placed.descriptiveCaptions[row])).toEqual({ digit: label, attributes: placed.attributes[row], conflicts: [] });
      const m = placed.measurements[row]!;
      expect(m.size).toBe(Math.max(m.height, m.width));
      expect(m.strokeWidth).toBeGreaterThan(0);
    }
  });

  it('varies size and position, unlike MNIST', () => {
    const sizes = new Set(placed.attributes.map((a) => a!.size));
    const positions = new Set(placed.attributes.map((a) => a!.position));
    expect(sizes.size).toBe(3);
    expect(positions.size).toBeGreaterThanOrEqual(5);
  });

  it('rejects ranges outside the test split', async () => {
    expect((await failureOf(host.placedDigits(-1, 2))).kind).toBe('input');
    expect((await failureOf(host.placedDigits(9_999, 2))).kind).toBe('input');
    expect((await failureOf(host.placedDigits(0, 0))).kind).toBe('input');
    expect((await failureOf(host.placedDigits(0.5, 2))).kind).toBe('input');
    const message = (await failureOf(host.placedDigits(9_999, 2))).message;
    expect(message).toContain('out of range');
  });
});

describe('caption', () => {
  it('returns one caption and measurement per image', async () => {
    const result = await host.caption(placed.images, PLACED_COUNT);

    expect(result.captions).toHaveLength(PLACED_COUNT);
    expect(result.measurements).toEqual(placed.measurements);
    expect(result.attributes).toEqual(placed.attributes);
    expect(result.normalized).toBeInstanceOf(Float32Array);
    expect(result.normalized.length).toBe(PLACED_COUNT * PIXELS);
    for (const caption of result.captions) {
      expect(caption).not.toBeNull();
      expect(readAttributes(caption!.text)).toEqual({ digit: caption!.digit, attributes: caption!.attributes, conflicts: [] });
      for (const [slot, probability] of Object.entries(caption!.confidence)) {
        expect(probability, `confidence of ${slot}`).toBeGreaterThan(0);
        expect(probability, `confidence of ${slot}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('shipped captioner mostly agrees with the pixels', async () => {
    const result = await host.caption(placed.images, PLACED_COUNT);
    const digitsRight = result.captions.filter((caption, row) => caption!.digit === placed.labels[row]).length;
    const slantsRight = result.captions.filter((caption, row) => caption!.attributes.slant === placed.attributes[row]!.slant).length;
    const positionsRight = result.captions.filter((caption, row) => caption!.attributes.position === placed.attributes[row]!.position).length;
    // Loose bounds, well under the per-slot accuracies in the captioner's card, so 40 digits leave room for a few misses.
    expect(digitsRight).toBeGreaterThanOrEqual(0.8 * PLACED_COUNT);
    expect(slantsRight).toBeGreaterThanOrEqual(0.7 * PLACED_COUNT);
    expect(positionsRight).toBeGreaterThanOrEqual(0.7 * PLACED_COUNT);
  });

  it('gives a blank image no caption', async () => {
    const images = new Float32Array(2 * PIXELS);
    images.set(placed.images.subarray(0, PIXELS), PIXELS);
    const result = await host.caption(images, 2);

    expect(result.captions[0]).toBeNull();
    expect(result.measurements[0]).toBeNull();
    expect(result.attributes[0]).toBeNull();
    expect(result.normalized.subarray(0, PIXELS).every((value) => value === 0)).toBe(true);
    expect(result.captions[1]).not.toBeNull();
    expect(result.attributes[1]).toEqual(placed.attributes[0]);
  });

  it('normalizes placed digits back to MNIST framing', async () => {
    const result = await host.caption(placed.images.slice(0, 4 * PIXELS), 4);
    for (let row = 0; row < 4; row++) {
      let mass = 0;
      let sumX = 0;
      for (let p = 0; p < PIXELS; p++) {
        mass += result.normalized[row * PIXELS + p];
        sumX += result.normalized[row * PIXELS + p] * (p % 28);
      }
      // MNIST puts the centre of mass at the frame's centre, to within a pixel of rounding.
      expect(Math.abs(sumX / mass - 13.5), `horizontal centre of digit ${row}`).toBeLessThan(1);
    }
  });

  it('rejects images of the wrong length', async () => {
    expect((await failureOf(host.caption(new Float32Array(PIXELS - 1), 1))).kind).toBe('input');
    expect((await failureOf(host.caption(new Float32Array(PIXELS), 0))).kind).toBe('input');
  });

  it('keeps the tensor count flat', async () => {
    await host.caption(placed.images.slice(0, 2 * PIXELS), 2);
    const before = tf.memory().numTensors;
    await host.caption(placed.images.slice(0, 8 * PIXELS), 8);
    await host.placedDigits(100, 8);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sampleDalle with a caption-ablation generator', () => {
  const request = (model: CaptionGeneratorName | 'dalle', extra: Partial<DalleSampleRequest> = {}): DalleSampleRequest => ({
    prompt: 'a thick, right-slanted seven, small, in the upper left',
    count: 4,
    temperature: 1,
    topK: 8,
    topP: 1,
    seed: 3,
    model,
    ...extra,
  });

  it('rejects CLIP reranking for a generator', async () => {
    const failure = await failureOf(host.sampleDalle(request('captions-short', { rerank: true })));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain("only with the model 'dalle'");
  });

  it('rejects an unknown model', async () => {
    const failure = await failureOf(host.sampleDalle(request('captions-long' as never)));
    expect(failure.kind).toBe('input');
    expect(failure.message).toContain('captions-blend');
  });

  for (const name of CAPTION_GENERATORS) {
    const shipped = isShipped(name);
    const skipNote = shipped ? '' : ` (skipped: ${notShippedReason(name)})`;

    it.skipIf(!shipped)(`reads prompts with the ${name} tokenizer${skipNote}`, async () => {
      const reading = await host.readPrompt(name, 'a thick, right-slanted seven, small, in the upper left');
      expect(reading.maxLength).toBe(ABLATION_TEXT_LENGTH);
      expect(reading.unknownWords).toEqual([]);
      expect(reading.digit).toBe(7);
      expect(reading.truncated).toBe(false);
    });

    it.skipIf(!shipped)(`samples from ${name} with a seed${skipNote}`, async () => {
      const first = await host.sampleDalle(request(name));
      expect(first.model).toBe(name);
      expect(first.images.length).toBe(4 * PIXELS);
      expect(first.tokens.length).toBe(4 * 49);
      expect(first.prompt.maxLength).toBe(ABLATION_TEXT_LENGTH);
      expect(first.clipScores).toBeUndefined();
      expect(first.notices).toEqual([]);

      const before = tf.memory().numTensors;
      const again = await host.sampleDalle(request(name));
      expect(tf.memory().numTensors).toBe(before);
      expect(again.tokens).toEqual(first.tokens);
    });
  }

  it('samples DALL·E-mini when no model is named', async () => {
    const shipped = await host.sampleDalle({ ...request('dalle'), prompt: 'a handwritten seven', model: undefined });
    expect(shipped.model).toBe('dalle');
    expect(shipped.prompt.maxLength).not.toBe(ABLATION_TEXT_LENGTH);
    expect(shipped.images.length).toBe(4 * PIXELS);
  });
});
