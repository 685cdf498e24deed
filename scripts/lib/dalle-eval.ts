/**
 * DALL·E-mini evaluation, shared by the training log (`dallePromptAccuracy`) and
 * `npm run evaluate` (`evaluateDalle`).
 *
 * Each digit 0–9 gets `perDigit` slots, all with the prompt "a handwritten <digit word>".
 * Every slot draws `candidates` samples. Candidate 0 is the sample without reranking, and
 * CLIP's best candidate is the reranked sample (see src/models/rerank.ts). Both are judged
 * by the referee classifier and by FID on its features.
 */
import * as tf from '../../src/models/tf';
import type { Classifier } from '../../src/models/classifier';
import { zeroShotPrompt, type Clip } from '../../src/models/clip';
import { gatherBatch, sliceBatch } from '../../src/models/data/batches';
import type { MnistSplit } from '../../src/models/data/mnist';
import { Rng } from '../../src/models/data/rng';
import type { Dvae } from '../../src/models/dvae';
import { accuracy, featureStatistics, frechetDistance, type FeatureStatistics } from '../../src/models/metrics';
import { DALLE_EVAL_SAMPLING, DALLE_SAMPLING_CHOICE, orderByScore, rerankWithClip } from '../../src/models/rerank';
import type { BpeTokenizer } from '../../src/models/text/bpe';
import type { DalleMini } from '../../src/models/transformer';

/** Slots drawn per `DalleMini.sample` call; each call draws CHUNK_SLOTS × candidates samples. */
const CHUNK_SLOTS = 50;
/** Chunk seed = seed + DIGIT_SEED_STRIDE · digit + first slot, so no two chunks share a seed. */
const DIGIT_SEED_STRIDE = 100_003;
/** Images per referee forward pass when computing features of real digits. */
const FEATURE_BATCH = 500;

export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
}

/** One `DalleMini.sample` call's worth of slots; `tokens` is [slots · candidates, 49], candidate-major. */
interface Chunk {
  digit: number;
  firstSlot: number;
  slots: number;
  tokens: Int32Array;
}

/**
 * Draws every chunk of every digit in order and hands each to `visit`. Candidate c of slot
 * `firstSlot + j` is row c · slots + j of the chunk's single `sample` call, so candidate 0
 * of every slot uses the same seeds whatever the number of candidates.
 */
async function forEachChunk(
  model: DalleMini,
  tokenizer: BpeTokenizer,
  perDigit: number,
  candidates: number,
  seed: number,
  sampling: SamplingSettings,
  visit: (chunk: Chunk) => Promise<void>,
): Promise<void> {
  for (let digit = 0; digit < 10; digit++) {
    const { ids } = tokenizer.encode(zeroShotPrompt(digit), { maxLength: model.config.textLength });
    for (let firstSlot = 0; firstSlot < perDigit; firstSlot += CHUNK_SLOTS) {
      const slots = Math.min(CHUNK_SLOTS, perDigit - firstSlot);
      const chunkSeed = seed + digit * DIGIT_SEED_STRIDE + firstSlot;
      const { tokens } = await model.sample({ textIds: ids, count: slots * candidates, seed: chunkSeed, ...sampling });
      await visit({ digit, firstSlot, slots, tokens });
    }
  }
}

/**
 * Returns the share of samples, without reranking, that the referee classifies as the
 * prompted digit: `perDigit` samples per digit at the evaluation's sampling settings.
 */
export async function dallePromptAccuracy(model: DalleMini, dvae: Dvae, referee: Classifier, tokenizer: BpeTokenizer, perDigit: number, seed = 0): Promise<number> {
  const { temperature, topK, topP } = DALLE_EVAL_SAMPLING;
  let correct = 0;
  await forEachChunk(model, tokenizer, perDigit, 1, seed, { temperature, topK, topP }, async ({ digit, slots, tokens }) => {
    const predicted = tf.tidy(() => referee.predict(dvae.decodeTokens(tf.tensor3d(tokens, [slots, 7, 7], 'int32'))).dataSync());
    predicted.forEach((label) => (correct += label === digit ? 1 : 0));
  });
  return correct / (10 * perDigit);
}

export interface DalleEvalModels {
  model: DalleMini;
  /** DALL·E-mini's own tokenizer, for the prompts it is conditioned on. */
  tokenizer: BpeTokenizer;
  dvae: Dvae;
  referee: Classifier;
  clip: Clip;
  /** CLIP's tokenizer, for the prompts CLIP scores against. */
  clipTokenizer: BpeTokenizer;
}

export interface DalleEvalOptions {
  perDigit: number;
  candidates: number;
  seed: number;
  sampling: SamplingSettings;
  /** Referee features of the reference set (the MNIST test split) for FID. */
  reference: FeatureStatistics;
  /** Referee features of real training digits, as many as samples, for `fidFloor`. */
  floor: FeatureStatistics;
  /** Called after each digit with the slots done so far. */
  onDigit?: (digit: number, slotsDone: number) => void;
}

/** Referee labels, referee features and CLIP scores of one set of 10 · perDigit samples. */
interface SampleSet {
  predicted: Int32Array; // [samples] referee label
  features: Float32Array; // [samples, hidden] referee features
  clipScores: Float32Array; // [samples] cosine with the prompt
}

function emptySampleSet(samples: number, hidden: number): SampleSet {
  return { predicted: new Int32Array(samples), features: new Float32Array(samples * hidden), clipScores: new Float32Array(samples) };
}

/**
 * Draws the evaluation samples and returns DALL·E-mini's metrics with and without CLIP
 * reranking: promptAccuracy, fid and cosineSimilarity (mean CLIP cosine between a sample
 * and its prompt), each also as …Reranked, and fidFloor, the FID of real training
 * digits against the same reference.
 */
export async function evaluateDalle(models: DalleEvalModels, options: DalleEvalOptions): Promise<Record<string, number>> {
  const { model, tokenizer, dvae, referee, clip, clipTokenizer } = models;
  const { perDigit, candidates } = options;
  const samples = 10 * perDigit;
  const hidden = referee.config.hidden;
  const labels = new Int32Array(samples);
  const plain = emptySampleSet(samples, hidden);
  const reranked = emptySampleSet(samples, hidden);

  await forEachChunk(model, tokenizer, perDigit, candidates, options.seed, options.sampling, async ({ digit, firstSlot, slots, tokens }) => {
    const offset = digit * perDigit + firstSlot;
    labels.fill(digit, offset, offset + slots);

    const images = tf.tidy(() => dvae.decodeTokens(tf.tensor3d(tokens, [slots * candidates, 7, 7], 'int32'))); // [slots·candidates, 28, 28, 1]
    try {
      const clipIds = clipTokenizer.encode(zeroShotPrompt(digit), { maxLength: clip.config.maxLength }).ids;
      const { scores } = await rerankWithClip(clip, clipIds, images);

      // Row of each slot's best candidate; ties go to the earlier candidate.
      const bestRows = new Int32Array(slots);
      for (let j = 0; j < slots; j++) {
        const slotScores = Array.from({ length: candidates }, (_, c) => scores[c * slots + j]);
        bestRows[j] = orderByScore(slotScores)[0] * slots + j;
      }
      const plainRows = Int32Array.from({ length: slots }, (_, j) => j);

      judge(referee, images, plainRows, scores, plain, offset);
      judge(referee, images, bestRows, scores, reranked, offset);
    } finally {
      images.dispose();
    }
    if (firstSlot + slots === perDigit) options.onDigit?.(digit, offset + slots);
  });

  const fid = frechetDistance(featureStatistics(plain.features, samples, hidden), options.reference);
  const fidReranked = frechetDistance(featureStatistics(reranked.features, samples, hidden), options.reference);
  return {
    promptAccuracy: accuracy(plain.predicted, labels),
    promptAccuracyReranked: accuracy(reranked.predicted, labels),
    fid,
    fidReranked,
    fidFloor: frechetDistance(options.floor, options.reference),
    cosineSimilarity: mean(plain.clipScores),
    cosineSimilarityReranked: mean(reranked.clipScores),
  };
}

/** Writes the referee's labels and features and CLIP's scores of the chosen rows into `set` at `offset`. */
function judge(referee: Classifier, images: tf.Tensor4D, rows: Int32Array, scores: Float32Array, set: SampleSet, offset: number): void {
  const [predicted, features] = tf.tidy(() => {
    const chosen = tf.gather(images, tf.tensor1d(rows, 'int32')) as tf.Tensor4D; // [slots, 28, 28, 1]
    return [referee.predict(chosen), referee.features(chosen)];
  });
  set.predicted.set(predicted.dataSync(), offset);
  set.features.set(features.dataSync(), offset * referee.config.hidden);
  rows.forEach((row, j) => (set.clipScores[offset + j] = scores[row]));
  tf.dispose([predicted, features]);
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * Picks `perDigit` training digits of each label: the first ones of that label in a
 * Fisher–Yates shuffle of all training indices by `new Rng(seed)`. Returns their
 * indices, digit 0's first.
 */
export function balancedTrainingSample(train: MnistSplit, perDigit: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: train.count }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const byDigit = Array.from({ length: 10 }, (): number[] => []);
  for (const index of order) {
    const bucket = byDigit[train.labels[index]];
    if (bucket.length < perDigit) bucket.push(index);
  }
  const short = byDigit.findIndex((bucket) => bucket.length < perDigit);
  if (short >= 0) {
    throw new Error(`The training split has only ${byDigit[short].length} digits labelled ${short}, fewer than the ${perDigit} requested per digit.`);
  }
  return Int32Array.from(byDigit.flat());
}

/** Referee features [indices.length, hidden] of the given digits of a split, or of all of them. */
export function refereeFeatures(referee: Classifier, split: MnistSplit, indices?: Int32Array): Float32Array {
  const count = indices?.length ?? split.count;
  const hidden = referee.config.hidden;
  const features = new Float32Array(count * hidden);
  for (let start = 0; start < count; start += FEATURE_BATCH) {
    const size = Math.min(FEATURE_BATCH, count - start);
    const batch = indices ? gatherBatch(split, indices.subarray(start, start + size)) : sliceBatch(split, start, size);
    const values = tf.tidy(() => referee.features(tf.tensor4d(batch.images, [size, 28, 28, 1])).dataSync());
    features.set(values, start * hidden);
  }
  return features;
}

/** Inputs of `dalleEvaluationRecord`: the evaluation's options and the sizes of the real sets. */
export interface DalleEvaluationSettings {
  perDigit: number;
  candidates: number;
  seed: number;
  sampling: SamplingSettings;
  floorSeed: number;
  hidden: number;
  testCount: number;
  trainCount: number;
}

/** Describes the evaluation's settings for the model card, so the numbers can be reproduced. */
export function dalleEvaluationRecord(settings: DalleEvaluationSettings) {
  const { perDigit, candidates, seed, sampling, floorSeed, hidden, testCount, trainCount } = settings;
  return {
    sampling: {
      prompt: 'a handwritten <digit word>',
      ...sampling,
      candidates,
      chosenBy: DALLE_SAMPLING_CHOICE,
      seed,
      seeds:
        `Slots s … s + ${CHUNK_SLOTS - 1} of digit d are drawn in one DalleMini.sample call with seed ` +
        `${seed} + ${DIGIT_SEED_STRIDE}·d + s; candidate c of slot s + j is row n·c + j of that call, where n is ` +
        `the call's slot count (${CHUNK_SLOTS}, fewer in a last, shorter chunk). Candidate 0 is the sample without reranking.`,
    },
    reranking:
      `CLIP (the clip checkpoint evaluated with this model, and its tokenizer) scores each candidate by the cosine similarity of its image ` +
      `embedding with the prompt's text embedding. Each slot keeps the best of its ${candidates} candidates, the earlier one on a tie.`,
    fid: {
      features: `referee classifier penultimate activations (fc1 after ReLU, ${hidden}-d)`,
      reference: `all ${testCount} MNIST test digits`,
      samples: 10 * perDigit,
      floorSample:
        `${perDigit} training digits per label: the first ones of each label in a Fisher–Yates shuffle ` +
        `of the ${trainCount} training indices by the mulberry32 Rng with seed ${floorSeed}.`,
    },
  };
}
