/**
 * Evaluation of the captioner and of the three caption-ablation generators, for
 * `npm run evaluate -- captioner captions-short captions-descriptive captions-blend`.
 *
 * All of it runs on the MNIST test split placed with `PLACEMENT_TEST_SEED`, digits the
 * captioner and the generators never trained on. The generators' prompts are the
 * descriptive captions measured from those digits' pixels, not the captioner's.
 */
import * as tf from '../../src/models/tf';
import { CAPTION_SLOTS, type Captioner } from '../../src/models/captioner';
import type { Classifier } from '../../src/models/classifier';
import { sliceBatch, gatherBatch } from '../../src/models/data/batches';
import {
  ATTRIBUTE_NAMES,
  attributesFromIndices,
  attributesOf,
  descriptiveCaption,
  measureDigit,
  normalizeLikeMnist,
  shortCaption,
  type AttributeName,
  type DigitAttributes,
  type PlacedSplit,
} from '../../src/models/data/attributes';
import type { Dvae } from '../../src/models/dvae';
import { DALLE_EVAL_SAMPLING } from '../../src/models/rerank';
import type { BpeTokenizer } from '../../src/models/text/bpe';
import type { DalleMini } from '../../src/models/transformer';

const BATCH = 500;
/** Prompts per `DalleMini.sample` call. */
const CHUNK = 100;

/** Per-slot accuracy of the captioner on every placed test digit, and the share with all five slots right. */
export function evaluateCaptioner(captioner: Captioner, placed: PlacedSplit): Record<string, number> {
  const slots = CAPTION_SLOTS.length;
  const correct = new Array<number>(slots).fill(0);
  let exact = 0;
  const test = placed.split;
  for (let start = 0; start < test.count; start += BATCH) {
    const batch = sliceBatch(test, start, Math.min(BATCH, test.count - start));
    const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
    const { classes } = captioner.predictSlots(images);
    images.dispose();
    for (let i = 0; i < batch.size; i++) {
      let all = true;
      for (let k = 0; k < slots; k++) {
        const truth = k === 0 ? batch.labels[i] : placed.attributes[(start + i) * 4 + k - 1];
        const right = classes[i * slots + k] === truth;
        correct[k] += right ? 1 : 0;
        all &&= right;
      }
      exact += all ? 1 : 0;
    }
  }
  const metrics: Record<string, number> = {};
  CAPTION_SLOTS.forEach((slot, k) => (metrics[`${slot.name}Accuracy`] = correct[k] / test.count));
  metrics.attributeAccuracy = ATTRIBUTE_NAMES.reduce((sum, name) => sum + metrics[`${name}Accuracy`], 0) / ATTRIBUTE_NAMES.length;
  metrics.captionExactMatch = exact / test.count;
  return metrics;
}

/** Returns the first `perDigit` placed test digits of each label, in label order. */
export function promptDigits(placed: PlacedSplit, perDigit: number): Int32Array {
  const chosen: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    let found = 0;
    for (let i = 0; i < placed.split.count && found < perDigit; i++) {
      if (placed.split.labels[i] === digit) {
        chosen.push(i);
        found += 1;
      }
    }
  }
  return Int32Array.from(chosen);
}

/** Attribute agreement of measured images with what was requested, summed per attribute. */
class AttributeTally {
  readonly matched: Record<AttributeName, number> = { thickness: 0, slant: 0, size: 0, position: 0 };
  allMatched = 0;
  count = 0;

  add(requested: DigitAttributes, measured: DigitAttributes | null): void {
    let all = true;
    for (const name of ATTRIBUTE_NAMES) {
      const same = measured !== null && measured[name] === requested[name];
      this.matched[name] += same ? 1 : 0;
      all &&= same;
    }
    this.allMatched += all ? 1 : 0;
    this.count += 1;
  }

  share(name: AttributeName): number {
    return this.matched[name] / this.count;
  }

  /** Mean over the four attributes of the share of images that match. */
  mean(): number {
    return ATTRIBUTE_NAMES.reduce((sum, name) => sum + this.share(name), 0) / ATTRIBUTE_NAMES.length;
  }
}

/** Measured attributes of each image of pixels [n, 28, 28, 1] (null where blank). */
function measureAll(pixels: Float32Array, count: number): (DigitAttributes | null)[] {
  return Array.from({ length: count }, (_, i) => {
    const m = measureDigit(pixels, i * 784);
    return m ? attributesOf(m) : null;
  });
}

/** Referee labels of images after MNIST's normalisation, which the referee was trained on. */
function refereeLabels(referee: Classifier, pixels: Float32Array, count: number): Int32Array {
  const normalized = new Float32Array(count * 784);
  for (let i = 0; i < count; i++) normalized.set(normalizeLikeMnist(pixels, i * 784), i * 784);
  return tf.tidy(() => referee.predict(tf.tensor4d(normalized, [count, 28, 28, 1])).dataSync() as Int32Array);
}

/**
 * Measures what a perfect generator could reach through the dVAE: real placed test digits,
 * tokenized and decoded, measured against their own descriptive captions
 * (attributeAccuracyCeiling) and read by the referee (promptAccuracyCeiling). Thickness
 * suffers most, since decoding smooths strokes.
 */
export function dvaeCeilings(dvae: Dvae, referee: Classifier, placed: PlacedSplit, indices: Int32Array): { attributeAccuracyCeiling: number; promptAccuracyCeiling: number } {
  const tally = new AttributeTally();
  let correct = 0;
  for (let start = 0; start < indices.length; start += CHUNK) {
    const chunk = indices.slice(start, start + CHUNK);
    const batch = gatherBatch(placed.split, chunk);
    const pixels = tf.tidy(() => dvae.reconstruct(tf.tensor4d(batch.images, [batch.size, 28, 28, 1])).dataSync() as Float32Array);
    const measured = measureAll(pixels, batch.size);
    chunk.forEach((index, row) => tally.add(attributesFromIndices(placed.attributes, index * 4), measured[row]));
    refereeLabels(referee, pixels, batch.size).forEach((label, row) => (correct += label === batch.labels[row] ? 1 : 0));
  }
  return { attributeAccuracyCeiling: tally.mean(), promptAccuracyCeiling: correct / indices.length };
}

export interface GeneratorEvalModels {
  model: DalleMini;
  tokenizer: BpeTokenizer;
  dvae: Dvae;
  referee: Classifier;
}

/**
 * Samples one image per descriptive prompt of the chosen test digits and one per short
 * prompt ("a handwritten <digit>", as many per digit), at DALL·E-mini's evaluation
 * sampling settings. Returns attributeAccuracy (mean over the four attributes of the share
 * of samples whose measured attribute matches the prompt), each attribute's share,
 * allAttributesMatch, promptAccuracy (referee, descriptive prompts) and
 * shortPromptAccuracy (referee, short prompts).
 */
export async function evaluateCaptionGenerator(models: GeneratorEvalModels, placed: PlacedSplit, indices: Int32Array, seed: number): Promise<Record<string, number>> {
  const { model, tokenizer, dvae, referee } = models;
  const { temperature, topK, topP } = DALLE_EVAL_SAMPLING;
  const T = model.config.textLength;
  const tally = new AttributeTally();
  let descriptiveCorrect = 0;
  let shortCorrect = 0;

  const draw = async (prompts: string[], chunkSeed: number): Promise<Float32Array> => {
    const textIds = prompts.map((prompt) => tokenizer.encode(prompt, { maxLength: T }).ids);
    const { tokens } = await model.sample({ textIds, count: prompts.length, seed: chunkSeed, temperature, topK, topP });
    return tf.tidy(() => dvae.decodeTokens(tf.tensor3d(tokens, [prompts.length, 7, 7], 'int32')).dataSync() as Float32Array);
  };

  for (let start = 0; start < indices.length; start += CHUNK) {
    const chunk = Array.from(indices.slice(start, start + CHUNK));
    const requested = chunk.map((index) => attributesFromIndices(placed.attributes, index * 4));
    const labels = chunk.map((index) => placed.split.labels[index]);

    const pixels = await draw(
      chunk.map((_, row) => descriptiveCaption(labels[row], requested[row])),
      seed + start,
    );
    const measured = measureAll(pixels, chunk.length);
    const predicted = refereeLabels(referee, pixels, chunk.length);
    chunk.forEach((_, row) => {
      tally.add(requested[row], measured[row]);
      descriptiveCorrect += predicted[row] === labels[row] ? 1 : 0;
    });

    const shortPixels = await draw(labels.map(shortCaption), seed + 0x51de + start);
    refereeLabels(referee, shortPixels, chunk.length).forEach((label, row) => (shortCorrect += label === labels[row] ? 1 : 0));
  }

  const metrics: Record<string, number> = { attributeAccuracy: tally.mean() };
  for (const name of ATTRIBUTE_NAMES) metrics[`${name}Accuracy`] = tally.share(name);
  metrics.allAttributesMatch = tally.allMatched / tally.count;
  metrics.promptAccuracy = descriptiveCorrect / indices.length;
  metrics.shortPromptAccuracy = shortCorrect / indices.length;
  return metrics;
}
