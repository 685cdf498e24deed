/**
 * Sample sets and scores of the chapter's metric lab, without DOM, Svelte or TensorFlow.js,
 * so that unit tests run them on plain arrays.
 *
 * Every set contains `perDigit` images for each prompt "a handwritten <digit word>", digit 0
 * first. The lab scores each set against a reference set of real test digits in two feature
 * spaces: raw pixels and the tiny CLIP's image embeddings.
 */
import {
  clipScore,
  featureStatistics,
  frechetDistance,
  meanPooledCosine,
  precisionRecall,
  type FeatureStatistics,
} from '../../models/metrics';

export const PIXELS = 28 * 28;
/** Nearest neighbours behind precision and recall, as in Kynkäänniemi et al. 2019. */
export const PRECISION_RECALL_K = 3;

export type LabSetId = 'real' | 'dalle' | 'unclip' | 'wrongPrompt' | 'meanImage' | 'copiedDigit';

export interface LabSet {
  id: LabSetId;
  /** [count, 28, 28] pixels in [0, 1]. */
  images: Float32Array;
  /** The digit each image was prompted with, [count]. */
  prompts: Int32Array;
  count: number;
}

/** The worker's outputs for one set: CLIP image embeddings and the referee's labels. */
export interface LabFeatures {
  /** Unit CLIP image embeddings, [count, dim]. */
  embeddings: Float32Array;
  /** The referee classifier's label of each image, [count]. */
  predicted: Int32Array;
}

/** The reference set's pixels and embeddings, and the Gaussian fitted to its embeddings for FID. */
export interface LabReference {
  images: Float32Array;
  embeddings: Float32Array;
  count: number;
  dim: number;
  statistics: FeatureStatistics;
}

export interface LabScores {
  /** Cosine between the set's mean image and the reference's mean image. */
  pixelMeanCosine: number;
  /** Cosine between the set's mean CLIP embedding and the reference's. */
  clipMeanCosine: number;
  /** CLIPScore of each image with its own prompt, averaged. */
  clipScore: number;
  /** Share of images the referee classifier reads as their prompted digit. */
  promptAccuracy: number;
  /** Fréchet distance of the set's CLIP embeddings to the reference's. */
  fid: number;
  precision: number;
  recall: number;
}

/** Prompt digits of a balanced set: `perDigit` zeros, then ones, …, then nines. */
export function digitPrompts(perDigit: number): Int32Array {
  return Int32Array.from({ length: 10 * perDigit }, (_, index) => Math.floor(index / perDigit));
}

/**
 * Indices of the first `perDigit` digits of each class among `labels[start … end)`, zeros
 * first. Throws when some class has fewer.
 */
export function balancedIndices(labels: ArrayLike<number>, start: number, end: number, perDigit: number): number[] {
  const byDigit: number[][] = Array.from({ length: 10 }, () => []);
  for (let index = start; index < end; index++) {
    const list = byDigit[labels[index]];
    if (list && list.length < perDigit) list.push(index);
  }
  byDigit.forEach((list, digit) => {
    if (list.length < perDigit) throw new Error(`Test digits ${start} to ${end - 1} hold only ${list.length} of digit ${digit}, fewer than ${perDigit}.`);
  });
  return byDigit.flat();
}

export function gatherImages(images: Float32Array, indices: readonly number[]): Float32Array {
  const gathered = new Float32Array(indices.length * PIXELS);
  indices.forEach((source, target) => gathered.set(images.subarray(source * PIXELS, (source + 1) * PIXELS), target * PIXELS));
  return gathered;
}

/** `count` copies of one 28×28 image. */
export function repeatImage(image: Float32Array, count: number): Float32Array {
  const repeated = new Float32Array(count * PIXELS);
  for (let row = 0; row < count; row++) repeated.set(image.subarray(0, PIXELS), row * PIXELS);
  return repeated;
}

/** Returns the pixel-wise mean of `count` images. */
export function meanImage(images: Float32Array, count: number): Float32Array {
  const mean = new Float32Array(PIXELS);
  for (let row = 0; row < count; row++) for (let pixel = 0; pixel < PIXELS; pixel++) mean[pixel] += images[row * PIXELS + pixel] / count;
  return mean;
}

/**
 * The three sets that need no generator, built from held-out real digits:
 * - wrongPrompt: the real digits, each prompted as the previous digit (a 3 for "a handwritten two");
 * - meanImage: the real digits' mean image, once for every prompt;
 * - copiedDigit: the first real digit (a 0), once for every prompt.
 */
export function degenerateSets(real: LabSet): LabSet[] {
  const { images, prompts, count } = real;
  return [
    { id: 'wrongPrompt', images, prompts: prompts.map((digit) => (digit + 9) % 10), count },
    { id: 'meanImage', images: repeatImage(meanImage(images, count), count), prompts, count },
    { id: 'copiedDigit', images: repeatImage(images, count), prompts, count },
  ];
}

/** Cosine of each image's unit embedding with its prompt's unit text embedding ([10, dim], digit order). */
export function promptCosines(embeddings: Float32Array, prompts: Int32Array, textEmbeddings: Float32Array, dim: number): Float32Array {
  return Float32Array.from(prompts, (digit, row) => {
    let dot = 0;
    for (let i = 0; i < dim; i++) dot += embeddings[row * dim + i] * textEmbeddings[digit * dim + i];
    return dot;
  });
}

export function makeReference(images: Float32Array, embeddings: Float32Array, count: number, dim: number): LabReference {
  return { images, embeddings, count, dim, statistics: featureStatistics(embeddings, count, dim) };
}

/** Scores one set against the reference. `textEmbeddings` are the ten prompts' unit CLIP embeddings, [10, dim]. */
export function scoreSet(set: LabSet, features: LabFeatures, reference: LabReference, textEmbeddings: Float32Array): LabScores {
  const { dim } = reference;
  let correct = 0;
  features.predicted.forEach((label, row) => {
    if (label === set.prompts[row]) correct += 1;
  });
  const { precision, recall } = precisionRecall(reference.embeddings, reference.count, features.embeddings, set.count, dim, PRECISION_RECALL_K);
  return {
    pixelMeanCosine: meanPooledCosine(set.images, set.count, reference.images, reference.count, PIXELS),
    clipMeanCosine: meanPooledCosine(features.embeddings, set.count, reference.embeddings, reference.count, dim),
    clipScore: clipScore(promptCosines(features.embeddings, set.prompts, textEmbeddings, dim)),
    promptAccuracy: correct / set.count,
    fid: frechetDistance(featureStatistics(features.embeddings, set.count, dim), reference.statistics),
    precision,
    recall,
  };
}

/**
 * Mean cosine over all pairs of distinct rows, split into pairs with the same label and pairs
 * with different labels. Rows are [count, dim]; they need not be unit length.
 */
export function pairCosines(rows: Float32Array, labels: ArrayLike<number>, count: number, dim: number): { same: number; different: number } {
  const norms = Float64Array.from({ length: count }, (_, row) => {
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += rows[row * dim + i] ** 2;
    return Math.sqrt(sum);
  });
  let same = 0;
  let sameCount = 0;
  let different = 0;
  let differentCount = 0;
  for (let a = 0; a < count; a++) {
    for (let b = a + 1; b < count; b++) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += rows[a * dim + i] * rows[b * dim + i];
      const cosine = norms[a] > 0 && norms[b] > 0 ? dot / (norms[a] * norms[b]) : 0;
      if (labels[a] === labels[b]) {
        same += cosine;
        sameCount += 1;
      } else {
        different += cosine;
        differentCount += 1;
      }
    }
  }
  return { same: sameCount ? same / sameCount : Number.NaN, different: differentCount ? different / differentCount : Number.NaN };
}
