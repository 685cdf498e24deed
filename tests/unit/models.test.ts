import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import { Batcher } from '../../src/models/data/batches';
import { Classifier } from '../../src/models/classifier';
import { codebookUsage } from '../../src/models/metrics';
import { Dvae, cosineAnneal, temperatureAt, klWeightAt, DEFAULT_DVAE_SCHEDULE } from '../../src/models/dvae';
import { upsample2x } from '../../src/models/nn';
import { Trainer, NonFiniteLossError, learningRateAt } from '../../src/models/trainer';
import { backend, mnist } from './helpers';

const schedule = { initial: 2e-3, final: 1e-4, warmupSteps: 5, totalSteps: 200 };

beforeAll(async () => {
  await backend('wasm');
});

describe('classifier', () => {
  it('maps images to logits and features', () => {
    const model = new Classifier(undefined, 1);
    const images = tf.zeros([3, 28, 28, 1]) as tf.Tensor4D;
    const logits = model.logits(images);
    const features = model.features(images);
    expect(logits.shape).toEqual([3, 10]);
    expect(features.shape).toEqual([3, 128]);
    tf.dispose([images, logits, features]);
    model.dispose();
  });

  it('loss falls on real MNIST', async () => {
    const train = await mnist('train');
    const model = new Classifier(undefined, 2);
    const trainer = new Trainer(model.params, model.lossFunction(2), { learningRate: schedule });
    const batcher = new Batcher(train, 32, 2);
    const first = trainer.trainStep(batcher.next()).crossEntropy;
    let last = first;
    for (let i = 0; i < 40; i++) last = trainer.trainStep(batcher.next()).crossEntropy;
    expect(last).toBeLessThan(first * 0.6);
    trainer.dispose();
    model.dispose();
  });
});

describe('dVAE', () => {
  it('encodes to a 7×7 grid and decodes back to 28×28', () => {
    const model = new Dvae({ codebookSize: 32, channels: [8, 16, 16] }, 1);
    const images = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const logits = model.encode(images);
    const tokens = model.tokenize(images);
    const decoded = model.decodeTokens(tokens);
    expect(logits.shape).toEqual([2, 7, 7, 32]);
    expect(tokens.shape).toEqual([2, 7, 7]);
    expect(tokens.dtype).toBe('int32');
    expect(decoded.shape).toEqual([2, 28, 28, 1]);
    const values = decoded.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    tf.dispose([images, logits, tokens, decoded]);
    model.dispose();
  });

  it('relaxed tokens are distributions that sharpen as τ falls', () => {
    const model = new Dvae({ codebookSize: 16, channels: [8, 8, 8] }, 1);
    const logits = tf.randomNormal([1, 7, 7, 16], 0, 1, 'float32', 4) as tf.Tensor4D;
    const warm = model.relax(logits, 1, 5);
    const cold = model.relax(logits, 1 / 16, 5);
    const sums = tf.sum(warm, -1).dataSync();
    sums.forEach((sum) => expect(sum).toBeCloseTo(1, 5));
    const maxWarm = tf.mean(tf.max(warm, -1)).dataSync()[0];
    const maxCold = tf.mean(tf.max(cold, -1)).dataSync()[0];
    expect(maxCold).toBeGreaterThan(maxWarm);
    expect(maxCold).toBeGreaterThan(0.9);
    tf.dispose([logits, warm, cold]);
    model.dispose();
  });

  it('loss falls within 50 steps on real MNIST', async () => {
    const train = await mnist('train');
    const model = new Dvae(undefined, 3);
    const trainer = new Trainer(model.params, model.lossFunction(DEFAULT_DVAE_SCHEDULE, 3), { learningRate: schedule });
    const batcher = new Batcher(train, 32, 3);
    const first = trainer.trainStep(batcher.next()).reconstruction;
    let last = first;
    for (let i = 0; i < 49; i++) last = trainer.trainStep(batcher.next()).reconstruction;
    // Reconstruction is in nats per image; an untrained decoder scores about 545 (log 2 · 784).
    expect(last).toBeLessThan(first * 0.5);
    trainer.dispose();
    model.dispose();
  });

  it('no tensor growth over 100 training steps', async () => {
    const train = await mnist('train');
    const model = new Dvae({ codebookSize: 32, channels: [8, 16, 16] }, 4);
    const trainer = new Trainer(model.params, model.lossFunction(DEFAULT_DVAE_SCHEDULE, 4), { learningRate: schedule });
    const batcher = new Batcher(train, 8, 4);
    trainer.trainStep(batcher.next()); // Adam creates its moment variables on the first step.
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) trainer.trainStep(batcher.next());
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    model.dispose();
  });

  it('no tensor growth over 100 tokenise calls', async () => {
    const test = await mnist('test');
    const model = new Dvae(undefined, 5);
    const batch = new Batcher(test, 4, 5).next();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const images = tf.tensor4d(batch.images, [4, 28, 28, 1]);
      const tokens = model.tokenize(images);
      const decoded = model.decodeTokens(tokens);
      tf.dispose([images, tokens, decoded]);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('same seed gives the same weights and loss', async () => {
    const test = await mnist('test');
    const batch = new Batcher(test, 8, 6).next();
    const losses = [1, 2].map(() => {
      const model = new Dvae({ codebookSize: 32, channels: [8, 16, 16] }, 6);
      const trainer = new Trainer(model.params, model.lossFunction(DEFAULT_DVAE_SCHEDULE, 6), { learningRate: schedule });
      const terms = [trainer.trainStep(batch), trainer.trainStep(batch)];
      trainer.dispose();
      model.dispose();
      return terms.map((t) => t.loss);
    });
    expect(losses[0]).toEqual(losses[1]);
  });

  it('non-finite loss stops the step and keeps the weights', async () => {
    const test = await mnist('test');
    const model = new Dvae({ codebookSize: 32, channels: [8, 16, 16] }, 7);
    const batch = new Batcher(test, 4, 7).next();
    batch.images[10] = Number.NaN;
    const trainer = new Trainer(model.params, model.lossFunction(DEFAULT_DVAE_SCHEDULE, 7), { learningRate: schedule });
    const before = model.params['enc1/w'].dataSync().slice();
    expect(() => trainer.trainStep(batch)).toThrow(NonFiniteLossError);
    expect(model.params['enc1/w'].dataSync()).toEqual(before);
    expect(trainer.step).toBe(0);
    trainer.dispose();
    model.dispose();
  });

  it('rejects a codebook smaller than 2', () => {
    expect(() => new Dvae({ codebookSize: 1, channels: [8, 8, 8] })).toThrow(/codebook size/);
  });
});

describe('schedules and helpers', () => {
  it('temperature anneals 1 → 1/16 by cosine', () => {
    expect(temperatureAt(0, DEFAULT_DVAE_SCHEDULE)).toBe(1);
    expect(temperatureAt(DEFAULT_DVAE_SCHEDULE.temperatureSteps, DEFAULT_DVAE_SCHEDULE)).toBeCloseTo(1 / 16, 10);
    expect(temperatureAt(DEFAULT_DVAE_SCHEDULE.temperatureSteps / 2, DEFAULT_DVAE_SCHEDULE)).toBeCloseTo((1 + 1 / 16) / 2, 10);
    expect(cosineAnneal(10_000, 100, 3, 1)).toBe(1);
  });

  it('KL weight ramps from 0', () => {
    expect(klWeightAt(0, DEFAULT_DVAE_SCHEDULE)).toBe(0);
    expect(klWeightAt(DEFAULT_DVAE_SCHEDULE.klWarmupSteps, DEFAULT_DVAE_SCHEDULE)).toBeCloseTo(DEFAULT_DVAE_SCHEDULE.klWeight, 10);
  });

  it('learning rate warms up then decays', () => {
    expect(learningRateAt(0, schedule)).toBeCloseTo(schedule.initial / 5, 10);
    expect(learningRateAt(4, schedule)).toBeCloseTo(schedule.initial, 10);
    expect(learningRateAt(200, schedule)).toBeCloseTo(schedule.final, 10);
  });

  it('codebook usage perplexity', () => {
    expect(codebookUsage([0, 1, 2, 3], 8).perplexity).toBeCloseTo(4, 10);
    expect(codebookUsage([5, 5, 5], 8).perplexity).toBeCloseTo(1, 10);
    expect(codebookUsage([5, 5, 1], 8).codesUsed).toBe(2);
  });

  it('upsample2x repeats each pixel in a 2×2 block', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const up = upsample2x(x);
    expect(Array.from(up.dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    tf.dispose([x, up]);
  });
});
