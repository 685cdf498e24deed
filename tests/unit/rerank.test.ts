import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import { assignParams, decodeCheckpoint } from '../../src/models/checkpoint';
import { Clip, zeroShotPrompt } from '../../src/models/clip';
import { PIXELS, type MnistSplit } from '../../src/models/data/mnist';
import { createModel } from '../../src/models/registry';
import { orderByScore, rerankWithClip } from '../../src/models/rerank';
import { BpeTokenizer } from '../../src/models/text/bpe';
import { readCheckpointDir } from '../../scripts/lib/checkpoint-files';
import { backend, mnist } from './helpers';

const clipDir = resolve(import.meta.dirname, '../../public/models/clip');

let clip: Clip;
let tokenizer: BpeTokenizer;
let test: MnistSplit;

/** Pixels in [0, 1] of the first test digit with this label: 784 values. */
function firstDigit(label: number): Float32Array {
  const index = test.labels.indexOf(label);
  return Float32Array.from(test.images.subarray(index * PIXELS, (index + 1) * PIXELS), (value) => value / 255);
}

function stack(...images: Float32Array[]): Float32Array {
  const result = new Float32Array(images.length * PIXELS);
  images.forEach((image, i) => result.set(image, i * PIXELS));
  return result;
}

function promptIds(digit: number): number[] {
  return tokenizer.encode(zeroShotPrompt(digit), { maxLength: clip.config.maxLength }).ids;
}

beforeAll(async () => {
  await backend('wasm');
  const checkpoint = await readCheckpointDir(clipDir);
  const handle = createModel('clip', 0, checkpoint.manifest.config as never);
  assignParams(handle.model.params, await decodeCheckpoint(checkpoint, { model: 'clip', shapes: handle.shapes, origin: clipDir }));
  clip = handle.model as Clip;
  tokenizer = BpeTokenizer.fromJSON(await readFile(join(clipDir, 'tokenizer.json'), 'utf8'));
  test = await mnist('test', 1000);
});

describe('orderByScore', () => {
  it('orders by descending score', () => {
    expect(Array.from(orderByScore([0.1, 0.9, -0.5, 0.3]))).toEqual([1, 3, 0, 2]);
  });

  it('keeps draw order for ties', () => {
    expect(Array.from(orderByScore([0.5, 0.7, 0.5, 0.7, 0.5]))).toEqual([1, 3, 0, 2, 4]);
  });

  it('puts NaN scores last', () => {
    expect(Array.from(orderByScore([Number.NaN, 0.2, Number.NaN, 0.4]))).toEqual([3, 1, 0, 2]);
  });

  it('handles infinite and empty scores', () => {
    expect(Array.from(orderByScore([-Infinity, Infinity, -Infinity, Infinity]))).toEqual([1, 3, 0, 2]);
    expect(Array.from(orderByScore([]))).toEqual([]);
  });
});

describe('rerankWithClip', () => {
  it('ranks a real three above an eight', async () => {
    const { scores, order } = await rerankWithClip(clip, promptIds(3), stack(firstDigit(8), firstDigit(3)));
    expect(scores[1]).toBeGreaterThan(scores[0]);
    expect(Array.from(order)).toEqual([1, 0]);
  });

  it('ranks a real eight above a three', async () => {
    const { order } = await rerankWithClip(clip, promptIds(8), stack(firstDigit(3), firstDigit(8)));
    expect(Array.from(order)).toEqual([1, 0]);
  });

  it('returns cosine similarities', async () => {
    const images = stack(firstDigit(0), firstDigit(3), firstDigit(7));
    const { scores } = await rerankWithClip(clip, promptIds(7), images);
    const expected = tf.tidy(() => {
      const imageEmbeddings = clip.encodeImages(tf.tensor4d(images, [3, 28, 28, 1]));
      const textEmbedding = clip.encodeTexts(tf.tensor2d(promptIds(7), [1, clip.config.maxLength], 'int32'));
      return tf.sum(tf.mul(imageEmbeddings, textEmbedding), 1).dataSync();
    });
    scores.forEach((score, i) => expect(score).toBeCloseTo(expected[i], 5));
    for (const score of scores) expect(Math.abs(score)).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('accepts tensors of rank 3 and 4', async () => {
    const pixels = stack(firstDigit(8), firstDigit(3), firstDigit(1));
    const fromArray = await rerankWithClip(clip, promptIds(3), pixels);
    const rank3 = tf.tensor3d(pixels, [3, 28, 28]);
    const rank4 = tf.tensor4d(pixels, [3, 28, 28, 1]);
    const fromRank3 = await rerankWithClip(clip, promptIds(3), rank3);
    const fromRank4 = await rerankWithClip(clip, promptIds(3), rank4);
    expect(Array.from(fromRank3.scores)).toEqual(Array.from(fromArray.scores));
    expect(Array.from(fromRank4.scores)).toEqual(Array.from(fromArray.scores));
    expect(rank3.isDisposed).toBe(false);
    tf.dispose([rank3, rank4]);
  });

  it('keeps draw order for identical candidates', async () => {
    const three = firstDigit(3);
    const { scores, order } = await rerankWithClip(clip, promptIds(3), stack(firstDigit(8), three, three, three));
    expect(scores[2]).toBe(scores[1]);
    expect(scores[3]).toBe(scores[1]);
    expect(Array.from(order)).toEqual([1, 2, 3, 0]);
  });

  it('leaks no tensors over repeated calls', async () => {
    const images = tf.tensor4d(stack(firstDigit(8), firstDigit(3)), [2, 28, 28, 1]);
    await rerankWithClip(clip, promptIds(3), images);
    const before = tf.memory().numTensors;
    for (let call = 0; call < 3; call++) {
      await rerankWithClip(clip, promptIds(3), images);
      await rerankWithClip(clip, promptIds(5), stack(firstDigit(5)));
    }
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });

  it('rejects bad images and prompts', async () => {
    await expect(rerankWithClip(clip, promptIds(3), new Float32Array(700))).rejects.toThrow(/n × 784 values/);
    const wrongShape = tf.zeros([2, 14, 14]);
    await expect(rerankWithClip(clip, promptIds(3), wrongShape)).rejects.toThrow(/\[n, 28, 28\].*got \[2,14,14\]/);
    wrongShape.dispose();
    const tooLong = new Int32Array(clip.config.maxLength + 1);
    await expect(rerankWithClip(clip, tooLong, firstDigit(3))).rejects.toThrow(/encode it with maxLength/);
    await expect(rerankWithClip(clip, [1, clip.config.vocabSize], firstDigit(3))).rejects.toThrow(/outside this CLIP's vocabulary/);
  });
});
