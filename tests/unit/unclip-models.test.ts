/**
 * unCLIP's two networks on real MNIST: the decoder U-Net and the diffusion prior. A small
 * fresh CLIP supplies the embeddings; what is tested here does not need a trained one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import { Batcher, type Batch } from '../../src/models/data/batches';
import { captionCorpus, captionFor } from '../../src/models/data/captions';
import { deriveSeed } from '../../src/models/data/rng';
import { Clip, DEFAULT_CLIP_CONFIG, encodeCaptions, type ClipConfig } from '../../src/models/clip';
import { Decoder, decoderShapes, DEFAULT_DECODER_CONFIG, timestepFeatures, type DecoderConfig } from '../../src/models/decoder';
import { DEFAULT_PRIOR_CONFIG, Prior, priorShapes, type PriorConfig } from '../../src/models/prior';
import { BpeTokenizer } from '../../src/models/text/bpe';
import { Trainer } from '../../src/models/trainer';
import { backend, mnist } from './helpers';

const tokenizer = BpeTokenizer.train(captionCorpus(Array.from({ length: 500 }, (_, i) => i % 10), 3, 13), { vocabSize: DEFAULT_CLIP_CONFIG.vocabSize });
const CLIP_CONFIG: ClipConfig = { ...DEFAULT_CLIP_CONFIG, imageChannels: [8, 8, 16], imageHidden: 32, textWidth: 32, textHeads: 2, embedDim: 16 };
const DECODER: DecoderConfig = { ...DEFAULT_DECODER_CONFIG, channels: [8, 16, 16], embedWidth: 16, clipDim: 16, diffusionSteps: 50 };
const PRIOR: PriorConfig = { ...DEFAULT_PRIOR_CONFIG, clipDim: 16, width: 32, blocks: 2, diffusionSteps: 50 };
const schedule = { initial: 2e-3, final: 2e-4, warmupSteps: 5, totalSteps: 200 };

let clip: Clip;
let batcher: Batcher;

function embedImages(images: tf.Tensor4D): tf.Tensor2D {
  return clip.encodeImages(images);
}

function embedPairs(batch: Batch, step: number) {
  const captions = Array.from(batch.labels, (label, i) => captionFor(label, deriveSeed(1, batch.indices[i]), step));
  const { ids } = encodeCaptions(tokenizer, captions, CLIP_CONFIG.maxLength);
  return {
    images: clip.encodeImages(tf.tensor4d(batch.images, [batch.size, 28, 28, 1])),
    texts: clip.encodeTexts(tf.tensor2d(ids, [batch.size, CLIP_CONFIG.maxLength], 'int32')),
  };
}

beforeAll(async () => {
  await backend('wasm');
  clip = new Clip(CLIP_CONFIG, 1);
  batcher = new Batcher(await mnist('train', 2000), 16, 2);
});

describe('decoder', () => {
  it('predicts noise of the input shape', () => {
    const decoder = new Decoder(DECODER, 1);
    const out = tf.tidy(() => decoder.predictNoise(tf.zeros([3, 28, 28, 1]) as tf.Tensor4D, [0, 10, 49], tf.ones([3, 16]) as tf.Tensor2D));
    expect(out.shape).toEqual([3, 28, 28, 1]);
    const shapes = decoderShapes(DECODER);
    for (const [name, variable] of Object.entries(decoder.params)) expect(variable.shape).toEqual(shapes[name]);
    out.dispose();
    decoder.dispose();
  });

  it('timestep features are sines and cosines', () => {
    const features = timestepFeatures([0, 7]).arraySync();
    expect(features[0][0]).toBe(0);
    expect(features[0][16]).toBe(1);
    expect(features[1][0]).toBeCloseTo(Math.sin(7), 5);
  });

  it('loss falls within 60 steps on real MNIST', () => {
    const decoder = new Decoder(DECODER, 2);
    const trainer = new Trainer(decoder.params, decoder.lossFunction(embedImages, 2), { learningRate: schedule });
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) losses.push(trainer.trainStep(batcher.next()).noiseMse);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    trainer.dispose();
    decoder.dispose();
  });

  it('no tensor growth over 100 steps and 20 samples', async () => {
    const decoder = new Decoder(DECODER, 3);
    const trainer = new Trainer(decoder.params, decoder.lossFunction(embedImages, 3), { learningRate: schedule });
    trainer.trainStep(batcher.next()); // Adam creates its moment variables on the first step.
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) trainer.trainStep(batcher.next());
    expect(tf.memory().numTensors).toBe(before);

    const embeddings = tf.randomNormal([2, 16]) as tf.Tensor2D;
    const afterTraining = tf.memory().numTensors;
    for (let seed = 0; seed < 20; seed++) {
      const { images } = await decoder.sample({ embeddings, method: 'ddim', steps: 4, guidanceScale: 2, seed });
      expect(images.shape).toEqual([2, 28, 28, 1]);
      const range = tf.tidy(() => [tf.min(images).dataSync()[0], tf.max(images).dataSync()[0]]);
      expect(range[0]).toBeGreaterThanOrEqual(0);
      expect(range[1]).toBeLessThanOrEqual(1);
      images.dispose();
    }
    expect(tf.memory().numTensors).toBe(afterTraining);
    tf.dispose([embeddings]);
    trainer.dispose();
    decoder.dispose();
  });

  it('same seed repeats a sample', async () => {
    const decoder = new Decoder(DECODER, 4);
    const embeddings = tf.randomNormal([1, 16], 0, 1, 'float32', 9) as tf.Tensor2D;
    const draw = async (seed: number) => {
      const { images } = await decoder.sample({ embeddings, method: 'ddpm', steps: 5, seed });
      const values = images.dataSync().slice();
      images.dispose();
      return values;
    };
    expect(await draw(1)).toEqual(await draw(1));
    expect(await draw(2)).not.toEqual(await draw(1));
    embeddings.dispose();
    decoder.dispose();
  });
});

describe('prior', () => {
  it('predicts embeddings of the right shape', () => {
    const prior = new Prior(PRIOR, 1);
    const out = tf.tidy(() => prior.predictClean(tf.zeros([5, 16]) as tf.Tensor2D, [0, 1, 2, 3, 49], null));
    expect(out.shape).toEqual([5, 16]);
    const shapes = priorShapes(PRIOR);
    for (const [name, variable] of Object.entries(prior.params)) expect(variable.shape).toEqual(shapes[name]);
    out.dispose();
    prior.dispose();
  });

  it('loss falls within 60 steps on real MNIST', () => {
    const prior = new Prior(PRIOR, 2);
    const trainer = new Trainer(prior.params, prior.lossFunction(embedPairs, 2), { learningRate: schedule });
    const first = trainer.trainStep(batcher.next());
    let last = first;
    for (let i = 0; i < 59; i++) last = trainer.trainStep(batcher.next());
    expect(last.embeddingMse).toBeLessThan(0.7 * first.embeddingMse);
    trainer.dispose();
    prior.dispose();
  });

  it('samples unit embeddings without tensor growth', async () => {
    const prior = new Prior(PRIOR, 3);
    const trainer = new Trainer(prior.params, prior.lossFunction(embedPairs, 3), { learningRate: schedule });
    trainer.trainStep(batcher.next());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) trainer.trainStep(batcher.next());
    expect(tf.memory().numTensors).toBe(before);

    const texts = tf.tidy(() => {
      const raw = tf.randomNormal([3, 16], 0, 1, 'float32', 4);
      return tf.div(raw, tf.norm(raw, 2, 1, true)) as tf.Tensor2D;
    });
    const afterTraining = tf.memory().numTensors;
    for (let seed = 0; seed < 20; seed++) {
      const embeddings = await prior.sample({ textEmbeddings: texts, method: 'ddim', steps: 5, seed, guidanceScale: 1.5 });
      expect(embeddings.shape).toEqual([3, 16]);
      const norms = tf.tidy(() => tf.norm(embeddings, 2, 1).dataSync());
      norms.forEach((norm) => expect(norm).toBeCloseTo(1, 4));
      embeddings.dispose();
    }
    expect(tf.memory().numTensors).toBe(afterTraining);
    texts.dispose();
    trainer.dispose();
    prior.dispose();
  });

  it('keeps the candidate closest to its text', async () => {
    const prior = new Prior(PRIOR, 5);
    const texts = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3], 'int32'), 16).cast('float32') as tf.Tensor2D);
    const two = await prior.sample({ textEmbeddings: texts, method: 'ddim', steps: 3, seed: 7, candidates: 2 });
    // The eight-candidate draw starts with the same noise rows as the two-candidate one, so its winner scores at least as high.
    const score = (embeddings: tf.Tensor2D) => tf.tidy(() => tf.sum(tf.mul(embeddings, texts), 1).dataSync());
    const twoScores = score(two);
    const many = await prior.sample({ textEmbeddings: texts, method: 'ddim', steps: 3, seed: 7, candidates: 8 });
    const manyScores = score(many);
    for (let i = 0; i < 2; i++) expect(manyScores[i]).toBeGreaterThanOrEqual(twoScores[i] - 1e-6);
    tf.dispose([texts, two, many]);
    prior.dispose();
  });
});
