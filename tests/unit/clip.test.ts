import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import { Batcher } from '../../src/models/data/batches';
import { captionCorpus, DIGIT_WORDS } from '../../src/models/data/captions';
import { BpeTokenizer } from '../../src/models/text/bpe';
import { causalMask, initTransformerParams, attentionShapes, selfAttentionWithWeights } from '../../src/models/attention';
import {
  Clip,
  clipLoss,
  clipShapes,
  DEFAULT_CLIP_CONFIG,
  encodeCaptions,
  INITIAL_LOGIT_SCALE,
  MAX_LOGIT_SCALE,
  sameLabelLossFloor,
  sameLabelTargets,
  type ClipConfig,
} from '../../src/models/clip';
import { Trainer } from '../../src/models/trainer';
import { backend, mnist } from './helpers';

const schedule = { initial: 2e-3, final: 1e-4, warmupSteps: 5, totalSteps: 200 };

/** Trained on 13 captions of each of 1,000 images, enough to learn a whole token for every caption word. */
const tokenizer = BpeTokenizer.train(
  captionCorpus(Array.from({ length: 1000 }, (_, i) => i % 10), 2024, 13),
  { vocabSize: DEFAULT_CLIP_CONFIG.vocabSize },
);

/** A narrower model for the tests that only count tensors or compare runs. */
const SMALL_CONFIG: ClipConfig = { ...DEFAULT_CLIP_CONFIG, imageChannels: [8, 8, 16], imageHidden: 32, textWidth: 32, textHeads: 2, embedDim: 16 };

function captionIds(texts: string[], maxLength = DEFAULT_CLIP_CONFIG.maxLength): tf.Tensor2D {
  return tf.tensor2d(encodeCaptions(tokenizer, texts, maxLength).ids, [texts.length, maxLength], 'int32');
}

function rowNorms(x: tf.Tensor2D): number[] {
  return Array.from(tf.tidy(() => tf.norm(x, 'euclidean', 1)).dataSync());
}

beforeAll(async () => {
  await backend('wasm');
});

describe('CLIP loss', () => {
  it('matches a hand-computed 3×3 case', () => {
    // Images e1, e2, e3 and captions e1, e1, e3 give cosines S = [[1, 1, 0], [0, 0, 0], [0, 0, 1]].
    // With logit scale ln 2, exp(logits) = [[2, 2, 1], [1, 1, 1], [1, 1, 2]].
    // Image → text, rows, target on the diagonal: −ln(2/5), −ln(1/3), −ln(2/4) → mean ln(15)/3.
    // Text → image, columns [2, 1, 1], [2, 1, 1], [1, 1, 2] with targets 0, 1, 2:
    // −ln(2/4), −ln(1/4), −ln(2/4) → mean ln(16)/3. Loss = (ln 15 + ln 16)/6 = ln(240)/6.
    const images = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const texts = tf.tensor2d([[1, 0, 0], [1, 0, 0], [0, 0, 1]]);
    const { loss, imageToText, textToImage } = clipLoss(images, texts, Math.LN2);
    expect(imageToText.dataSync()[0]).toBeCloseTo(Math.log(15) / 3, 5);
    expect(textToImage.dataSync()[0]).toBeCloseTo(Math.log(16) / 3, 5);
    expect(loss.dataSync()[0]).toBeCloseTo(Math.log(240) / 6, 5);
    tf.dispose([images, texts, loss, imageToText, textToImage]);
  });

  it('same-label targets count same-digit captions as positives', () => {
    const targets = sameLabelTargets([3, 3, 5]);
    expect(Array.from(targets.dataSync())).toEqual([0.5, 0.5, 0, 0.5, 0.5, 0, 0, 0, 1]);

    // Identity embeddings, logit scale ln 2: each row's probabilities are [1/2, 1/4, 1/4] up to order.
    // Diagonal targets: −ln(1/2) per row → ln 2. Same-label targets for the two 3s:
    // −(ln(1/2) + ln(1/4))/2 = 1.5 ln 2, and ln 2 for the 5 → mean (4/3) ln 2.
    const identity = tf.eye(3) as tf.Tensor2D;
    const plain = clipLoss(identity, identity, Math.LN2);
    const sameLabel = clipLoss(identity, identity, Math.LN2, targets);
    expect(plain.loss.dataSync()[0]).toBeCloseTo(Math.LN2, 5);
    expect(sameLabel.loss.dataSync()[0]).toBeCloseTo((4 / 3) * Math.LN2, 5);
    tf.dispose([targets, identity, plain.loss, plain.imageToText, plain.textToImage, sameLabel.loss, sameLabel.imageToText, sameLabel.textToImage]);
  });

  it('loss floor is the mean log count of same-digit images', () => {
    expect(sameLabelLossFloor([3, 3, 5])).toBeCloseTo((2 * Math.LN2) / 3, 10);
    expect(sameLabelLossFloor([0, 1, 2, 3])).toBe(0);
  });

  it('rejects mismatched batch sizes', () => {
    const images = tf.zeros([3, 4]) as tf.Tensor2D;
    const texts = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => clipLoss(images, texts, 1)).toThrow(/as many captions as images/);
    tf.dispose([images, texts]);
  });
});

describe('CLIP model', () => {
  it('embeds images and captions as unit vectors', async () => {
    const test = await mnist('test');
    const model = new Clip(undefined, 1);
    const batch = new Batcher(test, 3, 1).next();
    const images = tf.tensor4d(batch.images, [3, 28, 28, 1]);
    const ids = captionIds(['a handwritten seven', 'the digit 2', 'one']);

    const imageEmbeddings = model.encodeImages(images);
    const textEmbeddings = model.encodeTexts(ids);
    expect(imageEmbeddings.shape).toEqual([3, DEFAULT_CLIP_CONFIG.embedDim]);
    expect(textEmbeddings.shape).toEqual([3, DEFAULT_CLIP_CONFIG.embedDim]);
    for (const norm of [...rowNorms(imageEmbeddings), ...rowNorms(textEmbeddings)]) expect(norm).toBeCloseTo(1, 5);

    const similarity = model.similarity(images, ids);
    expect(similarity.shape).toEqual([3, 3]);
    tf.dispose([images, ids, imageEmbeddings, textEmbeddings, similarity]);
    model.dispose();
  });

  it('parameter shapes match clipShapes', () => {
    const model = new Clip(SMALL_CONFIG, 1);
    const shapes = clipShapes(SMALL_CONFIG);
    expect(Object.keys(model.params).sort()).toEqual(Object.keys(shapes).sort());
    for (const [name, shape] of Object.entries(shapes)) expect(model.params[name].shape).toEqual(shape);
    model.dispose();
  });

  it('text embedding ignores trailing padding', () => {
    const model = new Clip(SMALL_CONFIG, 2);
    const padded = captionIds(['a handwritten seven'], 12);
    const shorter = captionIds(['a handwritten seven'], 6);
    const fromPadded = model.encodeTexts(padded).dataSync();
    const fromShorter = model.encodeTexts(shorter).dataSync();
    fromShorter.forEach((value, i) => expect(value).toBeCloseTo(fromPadded[i], 5));
    tf.dispose([padded, shorter]);
    model.dispose();
  });

  it('logit scale starts at 1/0.07 and is clipped at 100', () => {
    const model = new Clip(SMALL_CONFIG, 3);
    expect(model.logitScale()).toBeCloseTo(INITIAL_LOGIT_SCALE, 4);

    model.params.logit_scale.assign(tf.scalar(Math.log(1000)));
    expect(model.logitScale()).toBeCloseTo(MAX_LOGIT_SCALE, 3);

    // Cosines [[0.6, 0.8], [0.8, 0.6]] put each pair 0.2 below its negative, so every row and
    // column costs ln(1 + exp(0.2 · scale)): about 20 nats at scale 100, 200 at 1000.
    const images = tf.tensor2d([[1, 0], [0, 1]]);
    const texts = tf.tensor2d([[0.6, 0.8], [0.8, 0.6]]);
    const { value, grads } = tf.variableGrads(() => clipLoss(images, texts, model.logitScaleTensor()).loss, [model.params.logit_scale]);
    expect(value.dataSync()[0]).toBeCloseTo(Math.log1p(Math.exp(0.2 * MAX_LOGIT_SCALE)), 3);
    // Past the clip the loss no longer depends on the parameter, so its gradient is zero.
    expect(grads[model.params.logit_scale.name].dataSync()[0]).toBe(0);
    tf.dispose([images, texts, value, grads]);
    model.dispose();
  });

  it('zero-shot returns one distribution per image', async () => {
    const test = await mnist('test');
    const model = new Clip(SMALL_CONFIG, 4);
    const batch = new Batcher(test, 5, 4).next();
    const images = tf.tensor4d(batch.images, [5, 28, 28, 1]);
    const prompts = DIGIT_WORDS.flatMap((word, digit) => [`a handwritten ${word}`, `the digit ${digit}`]);
    const ids = captionIds(prompts);

    const probabilities = model.zeroShot(images, ids, 2);
    expect(probabilities.shape).toEqual([5, 10]);
    for (const sum of tf.sum(probabilities, 1).dataSync()) expect(sum).toBeCloseTo(1, 5);
    expect(() => model.zeroShot(images, ids, 3)).toThrow(/groups of 3/);
    tf.dispose([images, ids, probabilities]);
    model.dispose();
  });

  it('rejects a tokenizer larger than the embedding table', () => {
    const model = new Clip({ ...SMALL_CONFIG, vocabSize: 100 }, 5);
    expect(() => model.lossFunction(tokenizer, 5)).toThrow(/vocabSize to at least 196/);
    expect(() => new Clip({ ...SMALL_CONFIG, textHeads: 3 })).toThrow(/divisible by textHeads/);
    model.dispose();
  });
});

describe('CLIP training', () => {
  it('loss falls within 50 steps on real MNIST', async () => {
    const train = await mnist('train');
    const model = new Clip(undefined, 6);
    const trainer = new Trainer(model.params, model.lossFunction(tokenizer, 6), { learningRate: schedule });
    const batcher = new Batcher(train, 32, 6);
    const first = trainer.trainStep(batcher.next());
    // An untrained model does no better than chance, ln 32 ≈ 3.47 nats for a batch of 32.
    expect(first.loss).toBeGreaterThan(0.8 * Math.log(32));
    let last = first;
    for (let i = 0; i < 49; i++) last = trainer.trainStep(batcher.next());
    expect(last.loss).toBeLessThan(0.8 * first.loss);
    expect(last.labelAccuracy).toBeGreaterThan(0.3);
    expect(last.truncated).toBe(0);
    trainer.dispose();
    model.dispose();
  });

  it('no tensor growth over 100 training steps', async () => {
    const train = await mnist('train');
    const model = new Clip(SMALL_CONFIG, 7);
    const trainer = new Trainer(model.params, model.lossFunction(tokenizer, 7, { targets: 'sameLabel' }), { learningRate: schedule });
    const batcher = new Batcher(train, 8, 7);
    trainer.trainStep(batcher.next()); // Adam creates its moment variables on the first step.
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) trainer.trainStep(batcher.next());
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    model.dispose();
  });

  it('no tensor growth over 100 encode calls', async () => {
    const test = await mnist('test');
    const model = new Clip(SMALL_CONFIG, 8);
    const batch = new Batcher(test, 4, 8).next();
    const prompts = DIGIT_WORDS.map((word) => `a handwritten ${word}`);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const images = tf.tensor4d(batch.images, [4, 28, 28, 1]);
      const ids = captionIds(prompts);
      const imageEmbeddings = model.encodeImages(images);
      const textEmbeddings = model.encodeTexts(ids);
      const probabilities = model.zeroShot(images, ids);
      model.logitScale();
      tf.dispose([images, ids, imageEmbeddings, textEmbeddings, probabilities]);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('same seed gives the same loss', async () => {
    const test = await mnist('test');
    const batch = new Batcher(test, 8, 9).next();
    const losses = [1, 2].map(() => {
      const model = new Clip(SMALL_CONFIG, 9);
      const trainer = new Trainer(model.params, model.lossFunction(tokenizer, 9), { learningRate: schedule });
      const terms = [trainer.trainStep(batch), trainer.trainStep(batch)];
      trainer.dispose();
      model.dispose();
      return terms.map((t) => t.loss);
    });
    expect(losses[0]).toEqual(losses[1]);
  });
});

describe('self-attention', () => {
  const width = 8;
  const heads = 2;
  const tokens = 4;

  it('causal attention ignores later tokens', () => {
    const params = initTransformerParams(attentionShapes('attn', width), 10);
    const x = tf.randomNormal([1, tokens, width], 0, 1, 'float32', 11) as tf.Tensor3D;
    const changedLast = tf.concat([tf.slice(x, [0, 0, 0], [1, tokens - 1, width]), tf.ones([1, 1, width])], 1) as tf.Tensor3D;

    const a = selfAttentionWithWeights(params, 'attn', x, { heads, causal: true });
    const b = selfAttentionWithWeights(params, 'attn', changedLast, { heads, causal: true });
    const early = (t: tf.Tensor3D) => Array.from(tf.slice(t, [0, 0, 0], [1, tokens - 1, width]).dataSync());
    const [earlyA, earlyB] = [early(a.output), early(b.output)];
    earlyA.forEach((value, i) => expect(earlyB[i]).toBeCloseTo(value, 5));

    expect(a.weights.shape).toEqual([1, heads, tokens, tokens]);
    const weights = a.weights.arraySync()[0];
    for (const head of weights) {
      head.forEach((row, query) => {
        expect(row.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
        for (let key = query + 1; key < tokens; key++) expect(row[key]).toBe(0);
      });
    }
    tf.dispose([x, changedLast, a.output, a.weights, b.output, b.weights]);
    Object.values(params).forEach((variable) => variable.dispose());
  });

  it('key mask hides padding from bidirectional attention', () => {
    const params = initTransformerParams(attentionShapes('attn', width), 12);
    const x = tf.randomNormal([1, tokens, width], 0, 1, 'float32', 13) as tf.Tensor3D;
    const keyMask = tf.tensor2d([[1, 1, 0, 0]]);
    const { output, weights } = selfAttentionWithWeights(params, 'attn', x, { heads, causal: false, keyMask });
    for (const head of weights.arraySync()[0]) {
      for (const row of head) {
        expect(row[2]).toBe(0);
        expect(row[3]).toBe(0);
        expect(row[0] + row[1]).toBeCloseTo(1, 5);
      }
    }
    tf.dispose([x, keyMask, output, weights]);
    Object.values(params).forEach((variable) => variable.dispose());
  });

  it('causal mask blocks keys after the query', () => {
    const mask = causalMask(3);
    const values = mask.arraySync();
    expect(values[0][0]).toBe(0);
    expect(values[2][0]).toBe(0);
    expect(values[0][1]).toBeLessThan(-1e8);
    expect(values[1][2]).toBeLessThan(-1e8);
    mask.dispose();
  });
});
