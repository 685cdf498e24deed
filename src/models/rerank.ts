/**
 * CLIP reranking of generated images, as DALL·E does it (Ramesh et al. 2021, "Zero-Shot
 * Text-to-Image Generation", section "Sample Generation"): draw several candidates for one
 * prompt, score each by the cosine similarity of CLIP's image and text embeddings, and keep
 * the best.
 */
import * as tf from './tf';
import type { Clip } from './clip';

export { DALLE_EVAL_SAMPLING, DALLE_SAMPLING_CHOICE } from './dalle-sampling';

export interface RerankResult {
  /** CLIP cosine similarity of each candidate with the prompt, in [−1, 1], in draw order. */
  scores: Float32Array;
  /** Candidate indices, best score first; equal scores keep draw order. */
  order: Int32Array;
}

/**
 * Returns the indices of `scores` sorted from highest to lowest score. Equal scores keep
 * their original order, and NaN scores come last, in their original order.
 */
export function orderByScore(scores: ArrayLike<number>): Int32Array {
  const indices = Array.from({ length: scores.length }, (_, i) => i);
  indices.sort((i, j) => {
    const iIsNaN = Number.isNaN(scores[i]);
    const jIsNaN = Number.isNaN(scores[j]);
    if (iIsNaN && jIsNaN) return i - j;
    if (iIsNaN) return 1;
    if (jIsNaN) return -1;
    // Infinity − Infinity is NaN, which `||` turns into the draw-order tie-break.
    return scores[j] - scores[i] || i - j;
  });
  return Int32Array.from(indices);
}

/**
 * Scores candidate images against one prompt with CLIP and orders them best first.
 *
 * `promptIds` are the prompt's token ids from CLIP's own tokenizer, as
 * `tokenizer.encode(prompt, { maxLength: clip.config.maxLength })` returns them.
 * `images` are pixels in [0, 1]: a tensor [n, 28, 28] or [n, 28, 28, 1], or a Float32Array
 * of n × 784 values, row-major. The caller keeps ownership of a tensor input. Every tensor
 * created here is disposed before the promise settles.
 */
export async function rerankWithClip(clip: Clip, promptIds: ArrayLike<number>, images: tf.Tensor | Float32Array): Promise<RerankResult> {
  checkPromptIds(clip, promptIds);
  const count = candidateCount(images);

  const cosines = tf.tidy(() => {
    const pixels = tf.reshape(images instanceof Float32Array ? tf.tensor(images) : images, [count, 28, 28, 1]) as tf.Tensor4D;
    const ids = tf.tensor2d(Array.from(promptIds), [1, promptIds.length], 'int32');
    return tf.reshape(clip.similarity(pixels, ids), [count]); // [n]: one column of [n, 1]
  });
  let scores: Float32Array;
  try {
    scores = (await cosines.data()) as Float32Array;
  } finally {
    cosines.dispose();
  }
  return { scores, order: orderByScore(scores) };
}

function candidateCount(images: tf.Tensor | Float32Array): number {
  if (images instanceof Float32Array) {
    if (images.length === 0 || images.length % 784 !== 0) {
      throw new Error(`Reranking expected candidate pixels as n × 784 values (28×28 each), got ${images.length}.`);
    }
    return images.length / 784;
  }
  const [count, height, width, channels = 1] = images.shape;
  const shapeOk = (images.rank === 3 || images.rank === 4) && height === 28 && width === 28 && channels === 1 && count > 0;
  if (!shapeOk) {
    throw new Error(`Reranking expected candidate images of shape [n, 28, 28] or [n, 28, 28, 1] with n ≥ 1, got [${images.shape}].`);
  }
  return count;
}

function checkPromptIds(clip: Clip, promptIds: ArrayLike<number>): void {
  const { maxLength, vocabSize } = clip.config;
  if (promptIds.length < 1 || promptIds.length > maxLength) {
    throw new Error(`Reranking prompt has ${promptIds.length} token ids, but this CLIP reads 1 to ${maxLength}: encode it with maxLength ${maxLength}.`);
  }
  for (let i = 0; i < promptIds.length; i++) {
    const id = promptIds[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`Reranking prompt token ${i} is ${id}, outside this CLIP's vocabulary [0, ${vocabSize}): encode the prompt with CLIP's own tokenizer.`);
    }
  }
}
