/**
 * Evaluation of the unCLIP pipeline (CLIP text embedding → prior → decoder) for
 * `npm run evaluate -- unclip`: prompt accuracy, FID against the test split, mean CLIP
 * cosine with the prompt, and the share of variations that keep their source digit.
 */
import * as tf from '../../src/models/tf';
import type { Classifier } from '../../src/models/classifier';
import { zeroShotPrompt, type Clip } from '../../src/models/clip';
import { gatherBatch } from '../../src/models/data/batches';
import type { MnistSplit } from '../../src/models/data/mnist';
import { deriveSeed } from '../../src/models/data/rng';
import type { Decoder } from '../../src/models/decoder';
import { featureStatistics, frechetDistance, type FeatureStatistics } from '../../src/models/metrics';
import type { Prior } from '../../src/models/prior';
import type { BpeTokenizer } from '../../src/models/text/bpe';

/** Sampling settings behind the unCLIP card's metrics; the card records them. */
export const UNCLIP_EVAL_SAMPLING = {
  prior: { method: 'ddim', steps: 25, eta: 0, guidanceScale: 1, candidates: 2 },
  decoder: { method: 'ddim', steps: 25, eta: 0, guidanceScale: 1.5 },
  variationsPerSource: 10,
} as const;

/** Record of how the decoder's guidance scale was chosen without the test split, copied into the card. */
export const UNCLIP_SAMPLING_CHOICE =
  'Decoder guidance 1.5 gave the lowest FID among 1, 1.5, 2 and 3 (DDIM, 25 steps, η 0), measured with 500 pipeline samples against 10,000 training digits (indices 50,000–59,999); at guidance 2, η = 1 and 50 steps did not lower it.';

export interface UnclipEvalModels {
  clip: Clip;
  clipTokenizer: BpeTokenizer;
  prior: Prior;
  decoder: Decoder;
  referee: Classifier;
}

export interface UnclipEvalOptions {
  perDigit: number;
  seed: number;
  /** Referee feature statistics of the test split, and of the real digits behind `fidFloor`. */
  reference: FeatureStatistics;
  floor: FeatureStatistics;
  test: MnistSplit;
  onProgress?: (message: string) => void;
}

/** Images drawn per decoder call; the U-Net's activations for 100 digits fit easily in memory. */
const CHUNK = 100;

/** Returns the referee's labels and features of pixels [n, 28, 28, 1], and disposes nothing it was given. */
function refereeView(referee: Classifier, images: tf.Tensor4D): { labels: Int32Array; features: Float32Array } {
  return tf.tidy(() => ({
    labels: referee.predict(images).dataSync() as Int32Array,
    features: referee.features(images).dataSync() as Float32Array,
  }));
}

/** Decodes image embeddings [n, dim] in one call with the evaluation's decoder settings. */
async function decode(decoder: Decoder, embeddings: tf.Tensor2D, seed: number): Promise<tf.Tensor4D> {
  const { images } = await decoder.sample({ ...UNCLIP_EVAL_SAMPLING.decoder, embeddings, seed });
  return images;
}

/**
 * Runs the evaluation. Digit d's prompt is "a handwritten <word>"; its `perDigit` images
 * share one prior call and one decoder call seeded from `seed` and d. Variations decode the
 * CLIP image embeddings of the first `perDigit / variationsPerSource` test digits of each
 * class, `variationsPerSource` times each with seeds derived from the source index.
 */
export async function evaluateUnclip(models: UnclipEvalModels, options: UnclipEvalOptions): Promise<Record<string, number>> {
  const { clip, clipTokenizer, prior, decoder, referee } = models;
  const { perDigit, seed, test } = options;
  const hidden = referee.config.hidden;
  const maxLength = clip.config.maxLength;

  const features = new Float32Array(10 * perDigit * hidden);
  let correct = 0;
  let cosineSum = 0;
  for (let digit = 0; digit < 10; digit++) {
    const ids = clipTokenizer.encode(zeroShotPrompt(digit), { maxLength }).ids;
    const text = tf.tidy(() => clip.encodeTexts(tf.tensor2d(ids, [1, maxLength], 'int32')));
    for (let start = 0; start < perDigit; start += CHUNK) {
      const size = Math.min(CHUNK, perDigit - start);
      const chunkSeed = deriveSeed(seed, digit * 100_003 + start);
      const texts = tf.tidy(() => tf.tile(text, [size, 1]) as tf.Tensor2D);
      const embeddings = await prior.sample({ ...UNCLIP_EVAL_SAMPLING.prior, textEmbeddings: texts, seed: chunkSeed });
      const images = await decode(decoder, embeddings, deriveSeed(chunkSeed, 1));
      const view = refereeView(referee, images);
      view.labels.forEach((label) => (correct += label === digit ? 1 : 0));
      features.set(view.features, (digit * perDigit + start) * hidden);
      cosineSum += tf.tidy(() => tf.sum(tf.matMul(clip.encodeImages(images), text, false, true)).dataSync()[0]);
      tf.dispose([texts, embeddings, images]);
    }
    text.dispose();
    options.onProgress?.(`digit ${digit} done`);
  }
  const count = 10 * perDigit;

  // Variations: sources are the first test digits of each class, in test-split order.
  const perSource = UNCLIP_EVAL_SAMPLING.variationsPerSource;
  const sourcesPerDigit = Math.max(1, Math.floor(perDigit / perSource));
  const sources: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    let found = 0;
    for (let i = 0; i < test.count && found < sourcesPerDigit; i++) {
      if (test.labels[i] === digit) {
        sources.push(i);
        found += 1;
      }
    }
  }
  let kept = 0;
  for (let start = 0; start < sources.length; start += CHUNK / perSource) {
    const chunk = sources.slice(start, start + CHUNK / perSource);
    const batch = gatherBatch(test, Int32Array.from(chunk));
    const embeddings = tf.tidy(() => {
      const own = clip.encodeImages(tf.tensor4d(batch.images, [chunk.length, 28, 28, 1]));
      return tf.reshape(tf.tile(tf.expandDims(own, 1), [1, perSource, 1]), [chunk.length * perSource, -1]) as tf.Tensor2D;
    });
    const images = await decode(decoder, embeddings, deriveSeed(seed, 0x7a11 + start));
    const { labels } = refereeView(referee, images);
    labels.forEach((label, row) => (kept += label === batch.labels[Math.floor(row / perSource)] ? 1 : 0));
    tf.dispose([embeddings, images]);
  }
  options.onProgress?.(`${sources.length * perSource} variations done`);

  return {
    promptAccuracy: correct / count,
    fid: frechetDistance(featureStatistics(features, count, hidden), options.reference),
    fidFloor: frechetDistance(options.floor, options.reference),
    cosineSimilarity: cosineSum / count,
    variationClassKept: kept / (sources.length * perSource),
  };
}
