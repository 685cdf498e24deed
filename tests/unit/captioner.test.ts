/**
 * The captioner on placed real MNIST digits, and the caption regimes of the three
 * ablation generators.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import { Captioner, CAPTION_SLOTS, type CaptionerConfig } from '../../src/models/captioner';
import { ablationCorpus, BLEND_SHORT_SHARE, regimeCaption, shortTrainingCaption } from '../../src/models/caption-ablation';
import { placeSplit, readAttributes, type PlacedSplit } from '../../src/models/data/attributes';
import { Batcher, sliceBatch } from '../../src/models/data/batches';
import { DIGIT_WORDS } from '../../src/models/data/captions';
import { createModel } from '../../src/models/registry';
import { BpeTokenizer } from '../../src/models/text/bpe';
import type { DalleMini } from '../../src/models/transformer';
import { Trainer } from '../../src/models/trainer';
import { backend, mnist } from './helpers';

const SMALL: CaptionerConfig = { channels: [8, 16, 16, 16], hidden: 32 };
const schedule = { initial: 3e-3, final: 3e-3, warmupSteps: 0, totalSteps: 1 };
let placed: PlacedSplit;

beforeAll(async () => {
  await backend();
  placed = placeSplit(await mnist('train', 2000), 11);
});

describe('captioner', () => {
  it('gives one head per slot and writes captions that read back as written', () => {
    const captioner = new Captioner(SMALL, 1);
    const batch = sliceBatch(placed.split, 0, 4);
    const images = tf.tensor4d(batch.images, [4, 28, 28, 1]);
    const logits = captioner.slotLogits(images);
    expect(logits.map((l) => l.shape)).toEqual(CAPTION_SLOTS.map((slot) => [4, slot.classes]));
    const captions = captioner.caption(images);
    expect(captions).toHaveLength(4);
    for (const caption of captions) {
      expect(caption.text).toContain(DIGIT_WORDS[caption.digit]);
      expect(readAttributes(caption.text)).toEqual({ digit: caption.digit, attributes: caption.attributes, conflicts: [] });
      for (const value of Object.values(caption.confidence)) {
        expect(value).toBeGreaterThan(0);
        expect(value).toBeLessThanOrEqual(1);
      }
    }
    tf.dispose([images, ...logits]);
    captioner.dispose();
  });

  it('loss falls within 60 steps on placed MNIST, without tensor growth', () => {
    const captioner = new Captioner(SMALL, 2);
    const trainer = new Trainer(captioner.params, captioner.lossFunction(placed.attributes), { learningRate: schedule });
    const batcher = new Batcher(placed.split, 32, 3);
    const losses = [trainer.trainStep(batcher.next()).crossEntropy];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 60; i++) losses.push(trainer.trainStep(batcher.next()).crossEntropy);
    expect(tf.memory().numTensors).toBe(before);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.8 * mean(losses.slice(0, 10)));

    const images = tf.tensor4d(sliceBatch(placed.split, 0, 8).images, [8, 28, 28, 1]);
    const afterTraining = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) captioner.caption(images);
    expect(tf.memory().numTensors).toBe(afterTraining);
    images.dispose();
    trainer.dispose();
    captioner.dispose();
  });
});

describe('caption regimes', () => {
  const descriptive = ['a thin, upright seven, small, in the centre', 'a thick, left-slanted two, large, at the top'];

  it('gives short captions, the captioner’s captions, or a 95/5 blend', () => {
    expect(regimeCaption('descriptive', 1, 2, 7, descriptive, 3)).toBe(descriptive[1]);
    const short = regimeCaption('short', 0, 7, 5, descriptive, 3);
    expect(short).toBe(shortTrainingCaption(0, 7, 5, 3));
    expect(short).not.toBe(descriptive[0]);
    let shortCount = 0;
    const draws = 20_000;
    for (let step = 0; step < draws; step++) {
      const caption = regimeCaption('blend', step % 2, step % 2 === 0 ? 7 : 2, step, descriptive, 3);
      expect(regimeCaption('blend', step % 2, step % 2 === 0 ? 7 : 2, step, descriptive, 3)).toBe(caption);
      if (caption !== descriptive[step % 2]) shortCount += 1;
    }
    expect(Math.abs(shortCount / draws - BLEND_SHORT_SHARE)).toBeLessThan(0.006);
  });

  it('feeds the generator the regime’s captions through captionOf', () => {
    const corpus = ablationCorpus([7, 2], descriptive, 1);
    expect(corpus).toEqual(expect.arrayContaining(descriptive));
    const tokenizer = BpeTokenizer.train(corpus, { vocabSize: 80 });
    const handle = createModel('captions-descriptive', 1, { layers: 1, width: 16, heads: 2, mlpRatio: 2, textLength: 20, imageVocabSize: 128, textVocabSize: tokenizer.vocabSize });
    const model = handle.model as DalleMini;
    const batch = { size: 2, images: new Float32Array(2 * 784), labels: Int32Array.from([7, 2]), indices: Int32Array.from([0, 1]) };
    const ids = model.captionIds(batch, 4, { tokenizer, captionSeed: 1, captionOf: (index, label, step) => regimeCaption('descriptive', index, label, step, descriptive, 1) });
    expect(Array.from(ids.slice(0, 20))).toEqual(Array.from(tokenizer.encode(descriptive[0], { maxLength: 20 }).ids));
    expect(Array.from(ids.slice(20))).toEqual(Array.from(tokenizer.encode(descriptive[1], { maxLength: 20 }).ids));
    model.dispose();
  });
});
