import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as tf from '../../src/models/tf';
import { Batcher } from '../../src/models/data/batches';
import { captionCorpus, captionsFor, captionTemplates, DIGIT_WORDS } from '../../src/models/data/captions';
import { deriveSeed } from '../../src/models/data/rng';
import { assignParams, decodeCheckpoint } from '../../src/models/checkpoint';
import { Dvae, dvaeShapes, type DvaeConfig } from '../../src/models/dvae';
import { BpeTokenizer, PAD_ID } from '../../src/models/text/bpe';
import { Trainer } from '../../src/models/trainer';
import {
  DalleMini,
  IMAGE_TOKENS,
  sampleToken,
  transformerShapes,
  type SampleOptions,
  type TransformerConfig,
} from '../../src/models/transformer';
import { readCheckpointDir } from '../../scripts/lib/checkpoint-files';
import { backend, mnist } from './helpers';

const CAPTION_SEED = 11;
const schedule = { initial: 3e-3, final: 1e-4, warmupSteps: 5, totalSteps: 200 };

/** The captions of 500 images contain every word of the captions that these tests draw, so none has unknown words. */
const tokenizer = BpeTokenizer.train(
  captionCorpus(
    Array.from({ length: 500 }, (_, i) => i % 10),
    CAPTION_SEED,
    captionTemplates.length,
  ),
  { vocabSize: 256 },
);

const small: TransformerConfig = {
  textVocabSize: tokenizer.vocabSize,
  textLength: 12,
  imageVocabSize: 32,
  layers: 2,
  width: 32,
  heads: 2,
  mlpRatio: 2,
};

const prompt = tokenizer.encode('a handwritten seven', { maxLength: small.textLength }).ids;

/** Text ids [batch, T] of real captions, one per digit 0 … batch−1. */
function captionTensor(batch: number): tf.Tensor2D {
  const ids = Array.from({ length: batch }, (_, i) => tokenizer.encode(`the digit ${DIGIT_WORDS[i % 10]}`, { maxLength: small.textLength }).ids);
  return tf.tensor2d(ids, [batch, small.textLength], 'int32');
}

function randomImageTokens(batch: number, seed: number): tf.Tensor2D {
  return tf.randomUniform([batch, IMAGE_TOKENS], 0, small.imageVocabSize, 'int32', seed) as tf.Tensor2D;
}

/** Copies of `tokens` with position `index` set to `value` in every row. */
function withToken(tokens: tf.Tensor2D, index: number, value: number): tf.Tensor2D {
  const data = tokens.arraySync();
  for (const row of data) row[index] = value;
  return tf.tensor2d(data, tokens.shape, 'int32');
}

/** Largest |a − b| over rows [from, to) of axis 1 of two [b, n, V] tensors. */
function maxDifference(a: tf.Tensor3D, b: tf.Tensor3D, from: number, to: number): number {
  return tf.tidy(() => {
    const size = [a.shape[0], to - from, a.shape[2]];
    return tf.max(tf.abs(tf.sub(tf.slice(a, [0, from, 0], size), tf.slice(b, [0, from, 0], size)))).dataSync()[0];
  });
}

async function loadShippedDvae(): Promise<Dvae> {
  const dir = join(import.meta.dirname, '../../public/models/dvae');
  const checkpoint = await readCheckpointDir(dir);
  const config = checkpoint.manifest.config as unknown as DvaeConfig;
  const dvae = new Dvae(config, 0);
  assignParams(dvae.params, await decodeCheckpoint(checkpoint, { model: 'dvae', shapes: dvaeShapes(config), origin: dir }));
  return dvae;
}

beforeAll(async () => {
  await backend('wasm');
});

describe('DALL·E-mini forward pass', () => {
  it('logits have the stream shapes', () => {
    const model = new DalleMini(small, 1);
    const text = captionTensor(3);
    const grid = tf.tidy(() => tf.reshape(randomImageTokens(3, 1), [3, 7, 7]) as tf.Tensor3D);
    const prefix = tf.tidy(() => tf.slice(randomImageTokens(3, 2), [0, 0], [3, 6]) as tf.Tensor2D);

    const full = model.logits(text, grid, { layer: 1, head: 1 });
    expect(full.text.shape).toEqual([3, small.textLength - 1, small.textVocabSize]);
    expect(full.image.shape).toEqual([3, IMAGE_TOKENS, small.imageVocabSize]);
    expect(full.attention!.shape).toEqual([3, small.textLength + 48, small.textLength + 48]);

    const partial = model.logits(text, prefix);
    expect(partial.image.shape).toEqual([3, 7, small.imageVocabSize]);
    expect(partial.attention).toBeUndefined();

    tf.dispose([text, grid, prefix, full.text, full.image, full.attention!, partial.text, partial.image]);
    model.dispose();
  });

  it('parameter shapes match the variables', () => {
    const model = new DalleMini(small, 1);
    const shapes = transformerShapes(small);
    expect(Object.keys(model.params).sort()).toEqual(Object.keys(shapes).sort());
    for (const [name, shape] of Object.entries(shapes)) expect(model.params[name].shape).toEqual(shape);
    expect(shapes['text/pad_embedding']).toEqual([small.textLength, small.width]);
    model.dispose();
  });

  it('rejects invalid configs and inputs', async () => {
    expect(() => new DalleMini({ ...small, width: 30, heads: 4 })).toThrow(/not divisible by 4 heads/);
    expect(() => new DalleMini({ ...small, textLength: 1 })).toThrow(/textLength/);
    const model = new DalleMini(small, 1);
    const shortText = tf.zeros([2, 5], 'int32') as tf.Tensor2D;
    const tokens = randomImageTokens(2, 3);
    expect(() => model.logits(shortText, tokens)).toThrow(/maxLength: 12/);
    await expect(model.sample({ textIds: prompt.slice(0, 5) })).rejects.toThrow(/has 5 ids/);
    await expect(model.sample({ textIds: prompt, topP: 0 })).rejects.toThrow(/topP/);
    await expect(model.sample({ textIds: prompt, attention: { layer: 2, head: 0 } })).rejects.toThrow(/layer 2/);
    tf.dispose([shortText, tokens]);
    model.dispose();
  });

  it('causal mask hides later tokens', () => {
    const model = new DalleMini(small, 2);
    const text = captionTensor(2);
    const tokens = randomImageTokens(2, 4);
    const base = model.logits(text, tokens);

    // Image logit j predicts code j from the positions before it, so code 30 reaches logits 31 … 48 only.
    const changedImage = withToken(tokens, 30, (tokens.arraySync()[0][30] + 1) % small.imageVocabSize);
    const afterImage = model.logits(text, changedImage);
    expect(maxDifference(base.image, afterImage.image, 0, 31)).toBe(0);
    expect(maxDifference(base.text, afterImage.text, 0, small.textLength - 1)).toBe(0);
    expect(maxDifference(base.image, afterImage.image, 31, IMAGE_TOKENS)).toBeGreaterThan(0);

    // Text logit i predicts text token i + 1, so text token 5 reaches text logits 5 … and every image logit.
    const changedText = withToken(text, 5, 7);
    const afterText = model.logits(changedText, tokens);
    expect(maxDifference(base.text, afterText.text, 0, 5)).toBe(0);
    expect(maxDifference(base.text, afterText.text, 5, small.textLength - 1)).toBeGreaterThan(0);
    expect(maxDifference(base.image, afterText.image, 0, IMAGE_TOKENS)).toBeGreaterThan(0);

    tf.dispose([text, tokens, changedImage, changedText, base.text, base.image, afterImage.text, afterImage.image, afterText.text, afterText.image]);
    model.dispose();
  });

  it('padding reads per-position embeddings', () => {
    const model = new DalleMini(small, 3);
    const text = captionTensor(2);
    const tokens = randomImageTokens(2, 5);
    const before = model.logits(text, tokens);

    // The token embedding row of <pad> is never read.
    const table = model.params['text/token_embedding'];
    const replacement = tf.tidy(() => tf.concat([tf.fill([1, small.width], 5), tf.slice(table, [1, 0], [-1, -1])], 0));
    table.assign(replacement);
    const afterTable = model.logits(text, tokens);
    expect(maxDifference(before.image, afterTable.image, 0, IMAGE_TOKENS)).toBe(0);

    // Each padded position has its own embedding: changing the last one changes the image logits.
    const lastPadRow = small.textLength - 1;
    expect(text.arraySync()[0][lastPadRow]).toBe(PAD_ID);
    const pad = model.params['text/pad_embedding'];
    const shifted = tf.tidy(() => tf.concat([tf.slice(pad, [0, 0], [lastPadRow, -1]), tf.fill([1, small.width], 1)], 0));
    pad.assign(shifted);
    const afterPad = model.logits(text, tokens);
    expect(maxDifference(before.image, afterPad.image, 0, IMAGE_TOKENS)).toBeGreaterThan(0);

    tf.dispose([text, tokens, replacement, shifted, before.text, before.image, afterTable.text, afterTable.image, afterPad.text, afterPad.image]);
    model.dispose();
  });
});

describe('DALL·E-mini sampling', () => {
  it('KV cache matches full recomputation', async () => {
    const model = new DalleMini(small, 4);
    const options: SampleOptions = { textIds: prompt, count: 3, temperature: 1, seed: 21, attention: { layer: 1, head: 1 } };
    const cached = await model.sample({ ...options, useCache: true });
    const recomputed = await model.sample({ ...options, useCache: false });

    expect(Array.from(cached.tokens)).toEqual(Array.from(recomputed.tokens));
    const L = small.textLength + 48;
    expect(cached.attention!.length).toBe(L);
    const a = cached.attention!.weights;
    const b = recomputed.attention!.weights;
    let largest = 0;
    for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
    expect(largest).toBeLessThan(1e-5);
    // Each query row is a distribution over the keys up to itself.
    const lastRow = a.subarray((L - 1) * L, L * L);
    expect(lastRow.reduce((sum, w) => sum + w, 0)).toBeCloseTo(1, 5);
    expect(a[1]).toBe(0); // Query 0 cannot see key 1.
    model.dispose();
  });

  it('greedy decoding follows logits argmax', async () => {
    const model = new DalleMini(small, 5);
    const greedy = await model.sample({ textIds: prompt, count: 2, temperature: 0 });

    const text = tf.tensor2d([prompt, prompt], [2, small.textLength], 'int32');
    const tokens = tf.tensor2d(greedy.tokens, [2, IMAGE_TOKENS], 'int32');
    const { text: textLogits, image } = model.logits(text, tokens);
    const argmax = tf.argMax(image, -1);
    expect(Array.from(argmax.dataSync())).toEqual(Array.from(greedy.tokens));
    tf.dispose([text, tokens, textLogits, image, argmax]);
    model.dispose();
  });

  it('topK 1 and tiny topP equal greedy', async () => {
    const model = new DalleMini(small, 6);
    const greedy = await model.sample({ textIds: prompt, count: 2, temperature: 0 });
    const topK = await model.sample({ textIds: prompt, count: 2, temperature: 1, topK: 1, seed: 3 });
    const topP = await model.sample({ textIds: prompt, count: 2, temperature: 1, topP: 1e-9, seed: 4 });
    expect(Array.from(topK.tokens)).toEqual(Array.from(greedy.tokens));
    expect(Array.from(topP.tokens)).toEqual(Array.from(greedy.tokens));
    model.dispose();
  });

  it('same seed repeats, different seeds differ', async () => {
    const model = new DalleMini(small, 7);
    const prompts = [prompt, tokenizer.encode('the number 3', { maxLength: small.textLength }).ids];
    const first = await model.sample({ textIds: prompts, seed: 9 });
    const again = await model.sample({ textIds: prompts, seed: 9 });
    const other = await model.sample({ textIds: prompts, seed: 10 });
    expect(first.count).toBe(2);
    expect(Array.from(again.tokens)).toEqual(Array.from(first.tokens));
    expect(Array.from(other.tokens)).not.toEqual(Array.from(first.tokens));
    model.dispose();
  });

  it('onToken reports every position in order', async () => {
    const model = new DalleMini(small, 8);
    const positions: number[] = [];
    const columns: number[][] = [];
    const result = await model.sample({
      textIds: prompt,
      count: 2,
      seed: 2,
      onToken: (position, tokens) => {
        positions.push(position);
        columns.push(Array.from(tokens));
      },
    });
    expect(positions).toEqual(Array.from({ length: IMAGE_TOKENS }, (_, i) => i));
    expect(columns[10]).toEqual([result.tokens[10], result.tokens[IMAGE_TOKENS + 10]]);
    model.dispose();
  });

  it('sampleToken filters by topK and topP', () => {
    const logits = [0, 3, 1, 2, 3];
    const draws = (settings: { temperature: number; topK: number; topP: number }) =>
      new Set(Array.from({ length: 200 }, (_, i) => sampleToken(logits, settings, () => i / 200)));

    expect(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, () => 0.99)).toBe(1);
    expect(draws({ temperature: 1, topK: 0, topP: 1 })).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(draws({ temperature: 1, topK: 3, topP: 1 })).toEqual(new Set([1, 3, 4]));
    // p(1) = p(4) ≈ 0.39 and p(3) ≈ 0.14: 0.5 needs the two tied ids, 0.9 needs three.
    expect(draws({ temperature: 1, topK: 0, topP: 0.5 })).toEqual(new Set([1, 4]));
    expect(draws({ temperature: 1, topK: 0, topP: 0.9 })).toEqual(new Set([1, 3, 4]));
  });
});

describe('DALL·E-mini training', () => {
  it('loss falls within 50 steps on real MNIST', async () => {
    const train = await mnist('train');
    const dvae = await loadShippedDvae();
    const config: TransformerConfig = { ...small, imageVocabSize: dvae.config.codebookSize, width: 64, heads: 4, mlpRatio: 4 };
    const model = new DalleMini(config, 9);
    const trainer = new Trainer(model.params, model.lossFunction({ dvae, tokenizer, captionSeed: CAPTION_SEED }), { learningRate: schedule });
    const batcher = new Batcher(train, 16, 9);
    const dvaeWeights = dvae.params['enc_logits/w'].dataSync().slice();

    const first = trainer.trainStep(batcher.next());
    // Near-uniform logits at the start: about log V nats per token.
    expect(first.imageCrossEntropy).toBeGreaterThan(Math.log(config.imageVocabSize) - 0.2);
    const last: { textCrossEntropy: number; imageCrossEntropy: number }[] = [];
    for (let i = 1; i < 50; i++) {
      const terms = trainer.trainStep(batcher.next());
      if (i >= 45) last.push({ textCrossEntropy: terms.textCrossEntropy, imageCrossEntropy: terms.imageCrossEntropy });
    }
    const mean = (key: 'textCrossEntropy' | 'imageCrossEntropy') => last.reduce((sum, terms) => sum + terms[key], 0) / last.length;
    expect(mean('imageCrossEntropy')).toBeLessThan(first.imageCrossEntropy * 0.8);
    expect(mean('textCrossEntropy')).toBeLessThan(first.textCrossEntropy * 0.5);
    // The dVAE only tokenizes: the optimizer never updates it.
    expect(dvae.params['enc_logits/w'].dataSync()).toEqual(dvaeWeights);

    trainer.dispose();
    model.dispose();
    dvae.dispose();
  });

  it('training captions come from captionFor', async () => {
    const train = await mnist('train');
    const model = new DalleMini(small, 13);
    const batch = new Batcher(train, 8, 13).next();
    const ids = model.captionIds(batch, 4, { tokenizer, captionSeed: CAPTION_SEED });
    const T = small.textLength;
    for (let i = 0; i < batch.size; i++) {
      const row = Array.from(ids.subarray(i * T, (i + 1) * T));
      const seed = deriveSeed(CAPTION_SEED, batch.indices[i]);
      const choices = captionsFor(batch.labels[i], seed, captionTemplates.length).map((caption) => tokenizer.encode(caption, { maxLength: T }).ids);
      expect(choices).toContainEqual(row);
    }
    expect(Array.from(model.captionIds(batch, 4, { tokenizer, captionSeed: CAPTION_SEED }))).toEqual(Array.from(ids));
    model.dispose();
  });

  it('rejects a dVAE or tokenizer of another size', () => {
    const model = new DalleMini(small, 10);
    const dvae = new Dvae({ codebookSize: 16, channels: [4, 4, 4] }, 1);
    expect(() => model.lossFunction({ dvae, tokenizer, captionSeed: 1 })).toThrow(/16 codes.*32/);
    const otherModel = new DalleMini({ ...small, imageVocabSize: 16, textVocabSize: tokenizer.vocabSize + 1 }, 10);
    expect(() => otherModel.lossFunction({ dvae, tokenizer, captionSeed: 1 })).toThrow(/textVocabSize: tokenizer.vocabSize/);
    otherModel.dispose();
    dvae.dispose();
    model.dispose();
  });

  it('no tensor growth over 100 training steps', async () => {
    const train = await mnist('train');
    const dvae = new Dvae({ codebookSize: small.imageVocabSize, channels: [4, 8, 8] }, 11);
    const model = new DalleMini(small, 11);
    const trainer = new Trainer(model.params, model.lossFunction({ dvae, tokenizer, captionSeed: CAPTION_SEED }), { learningRate: schedule });
    const batcher = new Batcher(train, 4, 11);
    trainer.trainStep(batcher.next()); // Adam creates its moment variables on the first step.
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) trainer.trainStep(batcher.next());
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    model.dispose();
    dvae.dispose();
  });

  it('no tensor growth over 100 sampling calls', async () => {
    const model = new DalleMini(small, 12);
    await model.sample({ textIds: prompt });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      // Every 10th call recomputes the prefix, and every 4th returns attention.
      const attention = i % 4 === 0 ? { layer: i % 2, head: 1 } : undefined;
      await model.sample({ textIds: prompt, count: 2, seed: i, topK: 8, useCache: i % 10 !== 0, attention });
    }
    const onTokenFails = model.sample({
      textIds: prompt,
      onToken: () => {
        throw new Error('stop');
      },
    });
    await expect(onTokenFails).rejects.toThrow('stop');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
