/**
 * A miniature CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural
 * Language Supervision"): an image encoder and a text encoder trained so that a digit and
 * its caption land close together on the unit sphere of a joint embedding space.
 *
 *   image encoder: image [b, 28, 28, 1]
 *     → conv1 3×3 → ReLU                     [b, 28, 28, c1]
 *     → conv2 3×3 stride 2 → ReLU            [b, 14, 14, c2]
 *     → conv3 3×3 stride 2 → ReLU            [b, 7, 7, c3]
 *     → flatten → fc → ReLU                  [b, imageHidden]
 *     → image_projection → L2 normalise      [b, embedDim]
 *   text encoder: BPE ids [b, tokens]
 *     → token + position embedding           [b, tokens, textWidth]
 *     → textLayers × pre-LN causal block     [b, tokens, textWidth]
 *     → ln_final, feature at the last non-pad token (`<eos>`)  [b, textWidth]
 *     → text_projection → L2 normalise       [b, embedDim]
 *   logits = exp(logit_scale) · image_embeddings · text_embeddingsᵀ   [b, b]
 *
 * As in CLIP, the text feature is the top layer's activation at the `<eos>` token, and the
 * causal mask means that position sees the whole caption but none of the padding after it.
 * The temperature is learned as a log logit scale t, initialised to log(1 / 0.07) and
 * clipped so that the logits are never scaled by more than 100, because the CLIP paper
 * found the clip necessary to prevent training instability. Here the forward pass uses
 * min(t, log 100), so above the clip the gradient of t is zero.
 *
 * An MNIST batch contains several images of each digit, and their captions are
 * interchangeable. The plain CLIP loss still counts those pairs as negatives, so it cannot
 * fall below `sameLabelLossFloor` (about 1.9 nats for a batch of 64). `sameLabel` targets
 * treat them as positives instead.
 */
import * as tf from './tf';
import { conv, convShapes, dense, denseShapes, type ParamShapes, type Params } from './nn';
import { blockShapes, initTransformerParams, layerNorm, layerNormShapes, transformerBlock } from './attention';
import type { Batch } from './data/batches';
import type { LossFunction } from './trainer';
import { captionCorpus, captionFor, DIGIT_WORDS } from './data/captions';
import { deriveSeed } from './data/rng';
import { BpeTokenizer, PAD_ID } from './text/bpe';

export const CLIP_NAME = 'clip';

/** Initial logit scale 1 / τ with τ = 0.07, the CLIP paper's initial temperature. */
export const INITIAL_LOGIT_SCALE = 1 / 0.07;
/** Largest logit scale the model uses: the learned log scale is clipped at log(100). */
export const MAX_LOGIT_SCALE = 100;
const MAX_LOG_LOGIT_SCALE = Math.log(MAX_LOGIT_SCALE);
/** Lower bound on a squared norm before dividing by it, so a zero vector gives no NaN. */
const MIN_SQUARED_NORM = 1e-12;

export interface ClipConfig {
  /** Size of the joint embedding space shared by images and captions. */
  embedDim: number;
  /** Image encoder widths at 28×28, 14×14 and 7×7. */
  imageChannels: [number, number, number];
  /** Width of the image encoder's last hidden layer, before the projection. */
  imageHidden: number;
  /** Rows of the token embedding table: at least the tokenizer's vocabulary size. */
  vocabSize: number;
  /** Caption length in tokens, `<bos>`, `<eos>` and padding included. */
  maxLength: number;
  textWidth: number;
  textHeads: number;
  textLayers: number;
}

export const DEFAULT_CLIP_CONFIG: ClipConfig = {
  embedDim: 64,
  imageChannels: [16, 32, 64],
  imageHidden: 128,
  vocabSize: 256,
  maxLength: 12,
  textWidth: 64,
  textHeads: 4,
  textLayers: 2,
};

/**
 * Target distribution of each image over the batch's captions. `diagonal` is CLIP's: image i
 * matches caption i only. `sameLabel` spreads the target evenly over every caption in the
 * batch whose image has the same digit (see `sameLabelTargets`).
 */
export type ClipTargets = 'diagonal' | 'sameLabel';

export interface ClipLossOptions {
  /** Default `diagonal`, the plain CLIP loss. */
  targets?: ClipTargets;
}

export function clipShapes(config: ClipConfig): ParamShapes {
  const [c1, c2, c3] = config.imageChannels;
  const width = config.textWidth;
  const blocks: ParamShapes = {};
  for (let layer = 0; layer < config.textLayers; layer++) {
    Object.assign(blocks, blockShapes(`text/block${layer}`, width, 4 * width));
  }
  return {
    ...convShapes('image/conv1', 3, 1, c1),
    ...convShapes('image/conv2', 3, c1, c2),
    ...convShapes('image/conv3', 3, c2, c3),
    ...denseShapes('image/fc', 7 * 7 * c3, config.imageHidden),
    'image_projection/w': [config.imageHidden, config.embedDim],
    'text/token_embedding/embedding': [config.vocabSize, width],
    'text/position_embedding/embedding': [config.maxLength, width],
    ...blocks,
    ...layerNormShapes('text/ln_final', width),
    'text_projection/w': [width, config.embedDim],
    logit_scale: [],
  };
}

function checkConfig(config: ClipConfig): void {
  const positive: (keyof ClipConfig)[] = ['embedDim', 'imageHidden', 'vocabSize', 'maxLength', 'textWidth', 'textHeads', 'textLayers'];
  for (const key of positive) {
    const value = config[key] as number;
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`CLIP config ${key} must be a positive integer, got ${value}.`);
    }
  }
  if (config.textWidth % config.textHeads !== 0) {
    throw new Error(`CLIP config textWidth ${config.textWidth} must be divisible by textHeads ${config.textHeads}.`);
  }
  if (config.maxLength < 2) {
    throw new Error(`CLIP config maxLength must be at least 2 to hold <bos> and <eos>, got ${config.maxLength}.`);
  }
}

/** Scales each row to unit L2 norm: [n, d] → [n, d]. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), MIN_SQUARED_NORM))) as tf.Tensor2D);
}

/** Mean over rows of the cross-entropy between target distributions and softmax(logits), in nats. */
function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

export interface ClipLossTerms {
  /** Mean of the two directions below, the scalar CLIP minimises. */
  loss: tf.Scalar;
  /** Cross-entropy of each image's distribution over the batch's captions. */
  imageToText: tf.Scalar;
  /** Cross-entropy of each caption's distribution over the batch's images. */
  textToImage: tf.Scalar;
}

/**
 * CLIP's symmetric contrastive loss (its Figure 3 pseudocode), in nats.
 *
 * `imageEmbeddings` and `textEmbeddings` are [n, d] and unit-norm, row i of each being a
 * pair. `logitScale` multiplies the cosine similarities (it is exp(t), not t). `targets`
 * [n, n] gives, for each image (row), the distribution over captions it should match;
 * the default is the identity, which is CLIP's loss. Columns of `targets` are used for the
 * text-to-image direction, so a symmetric matrix treats both directions alike.
 */
export function clipLoss(
  imageEmbeddings: tf.Tensor2D,
  textEmbeddings: tf.Tensor2D,
  logitScale: number | tf.Scalar,
  targets?: tf.Tensor2D,
): ClipLossTerms {
  const n = imageEmbeddings.shape[0];
  if (textEmbeddings.shape[0] !== n || textEmbeddings.shape[1] !== imageEmbeddings.shape[1]) {
    throw new Error(`CLIP loss needs as many captions as images with the same width: images [${imageEmbeddings.shape}], captions [${textEmbeddings.shape}].`);
  }
  if (targets && (targets.shape[0] !== n || targets.shape[1] !== n)) {
    throw new Error(`CLIP loss targets must be [${n}, ${n}] for ${n} pairs, got [${targets.shape}].`);
  }

  return tf.tidy(() => {
    const logits = tf.mul(tf.matMul(imageEmbeddings, textEmbeddings, false, true), logitScale) as tf.Tensor2D; // [images, captions]
    const labels = targets ?? (tf.eye(n) as tf.Tensor2D);
    const imageToText = crossEntropy(logits, labels);
    const textToImage = crossEntropy(tf.transpose(logits), tf.transpose(labels));
    const loss = tf.div(tf.add(imageToText, textToImage), 2) as tf.Scalar;
    return { loss, imageToText, textToImage };
  });
}

/**
 * Targets [n, n] that treat every same-digit pair as a positive: row i is uniform over the
 * captions j with labels[j] === labels[i]. The matrix is symmetric.
 */
export function sameLabelTargets(labels: ArrayLike<number>): tf.Tensor2D {
  const n = labels.length;
  const values = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    let matches = 0;
    for (let j = 0; j < n; j++) if (labels[j] === labels[i]) matches += 1;
    for (let j = 0; j < n; j++) if (labels[j] === labels[i]) values[i * n + j] = 1 / matches;
  }
  return tf.tensor2d(values, [n, n]);
}

/**
 * Returns the lower bound, in nats, on the loss of a batch with these labels when captions
 * describe nothing but the digit: the mean over images of log(number of images in the batch
 * with the same digit). A model approaches it only as the logit scale grows.
 *
 * With the plain CLIP loss, the other images of the same digit are false negatives. Their
 * captions are interchangeable with the true one, so the best a model can do is spread
 * each row's probability evenly over them, which costs log(count) per row, and the same
 * applies to each caption's column. With `sameLabel` targets the bound is the same number,
 * the entropy of the targets, but the gradient stops pushing same-digit pairs apart.
 */
export function sameLabelLossFloor(labels: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  let total = 0;
  for (let i = 0; i < labels.length; i++) total += Math.log(counts.get(labels[i])!);
  return total / labels.length;
}

/**
 * Encodes captions with `<bos>`, `<eos>` and padding to `maxLength` ids each: row-major
 * [texts.length, maxLength]. `truncated` counts captions that lost tokens to fit.
 */
export function encodeCaptions(tokenizer: BpeTokenizer, texts: readonly string[], maxLength: number): { ids: Int32Array; truncated: number } {
  const ids = new Int32Array(texts.length * maxLength);
  let truncated = 0;
  texts.forEach((text, row) => {
    const encoding = tokenizer.encode(text, { maxLength });
    ids.set(encoding.ids, row * maxLength);
    if (encoding.truncated) truncated += 1;
  });
  return { ids, truncated };
}

export class Clip {
  readonly params: Params;

  constructor(
    readonly config: ClipConfig = DEFAULT_CLIP_CONFIG,
    seed = 0,
  ) {
    checkConfig(config);
    this.params = initTransformerParams(clipShapes(config), seed);
    tf.tidy(() => this.params.logit_scale.assign(tf.scalar(Math.log(INITIAL_LOGIT_SCALE))));
  }

  /** Unit-norm image embeddings: [b, 28, 28, 1] pixels in [0, 1] → [b, embedDim]. */
  encodeImages(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.params;
      let h = tf.relu(conv(p, 'image/conv1', images)); // [b, 28, 28, c1]
      h = tf.relu(conv(p, 'image/conv2', h, 2)); // [b, 14, 14, c2]
      h = tf.relu(conv(p, 'image/conv3', h, 2)); // [b, 7, 7, c3]
      const flat = tf.reshape(h, [images.shape[0], -1]) as tf.Tensor2D; // [b, 49·c3]
      const features = tf.relu(dense(p, 'image/fc', flat)); // [b, imageHidden]
      return l2Normalize(tf.matMul(features, p['image_projection/w'] as unknown as tf.Tensor2D)); // [b, embedDim]
    });
  }

  /**
   * Unit-norm text embeddings: int32 token ids [b, tokens] → [b, embedDim], with tokens ≤
   * `maxLength`, ids below `vocabSize`, and padding (id 0) only after the caption, as
   * `BpeTokenizer.encode` writes them. The feature is read at the last non-pad token, which
   * is `<eos>` for such ids; an all-padding row reads position 0.
   */
  encodeTexts(ids: tf.Tensor2D): tf.Tensor2D {
    const [batch, tokens] = ids.shape;
    if (ids.dtype !== 'int32') {
      throw new Error(`CLIP text ids must be an int32 tensor, got ${ids.dtype}: create it with tf.tensor2d(ids, shape, 'int32').`);
    }
    if (tokens > this.config.maxLength) {
      throw new Error(`CLIP text ids have ${tokens} tokens per caption, this model reads at most ${this.config.maxLength}: encode with maxLength ${this.config.maxLength}.`);
    }

    return tf.tidy(() => {
      const p = this.params;
      const width = this.config.textWidth;
      const tokenEmbedding = tf.gather(p['text/token_embedding/embedding'], ids); // [b, tokens, width]
      const positionEmbedding = tf.slice(p['text/position_embedding/embedding'], [0, 0], [tokens, width]); // [tokens, width]
      let h = tf.add(tokenEmbedding, positionEmbedding) as tf.Tensor3D; // [b, tokens, width]
      for (let layer = 0; layer < this.config.textLayers; layer++) {
        h = transformerBlock(p, `text/block${layer}`, h, { heads: this.config.textHeads, causal: true });
      }
      h = layerNorm(p, 'text/ln_final', h);

      // One-hot over positions picks each caption's last non-pad token without a gather.
      const lengths = tf.sum(tf.cast(tf.notEqual(ids, PAD_ID), 'int32'), 1); // [b]
      const lastPosition = tf.maximum(tf.sub(lengths, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')) as tf.Tensor1D;
      const pick = tf.reshape(tf.oneHot(lastPosition, tokens), [batch, tokens, 1]); // [b, tokens, 1]
      const features = tf.sum(tf.mul(h, pick), 1) as tf.Tensor2D; // [b, width]
      return l2Normalize(tf.matMul(features, p['text_projection/w'] as unknown as tf.Tensor2D)); // [b, embedDim]
    });
  }

  /** Computes the logit scale exp(t), clipped at 100, as a scalar tensor that carries gradients. */
  logitScaleTensor(): tf.Scalar {
    return tf.tidy(() => tf.exp(tf.minimum(this.params.logit_scale, MAX_LOG_LOGIT_SCALE)) as tf.Scalar);
  }

  /** Reads the logit scale exp(t), clipped at 100: the inverse of the temperature. */
  logitScale(): number {
    const scale = this.logitScaleTensor();
    const value = scale.dataSync()[0];
    scale.dispose();
    return value;
  }

  /** Cosine similarity of every image with every caption: [images, texts] in [−1, 1]. */
  similarity(images: tf.Tensor4D, ids: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.matMul(this.encodeImages(images), this.encodeTexts(ids), false, true));
  }

  /**
   * Zero-shot classification: probabilities [b, classes] that each image shows each class,
   * softmax(logitScale · cosine similarity) over one prompt per class. With
   * `promptsPerClass` k > 1, `promptIds` contains k prompts per class, class by class, and
   * each class is represented by the normalised mean of its prompts' embeddings (CLIP's
   * prompt ensembling).
   */
  zeroShot(images: tf.Tensor4D, promptIds: tf.Tensor2D, promptsPerClass = 1): tf.Tensor2D {
    const prompts = promptIds.shape[0];
    if (!Number.isInteger(promptsPerClass) || promptsPerClass < 1 || prompts % promptsPerClass !== 0) {
      throw new Error(`Zero-shot prompts: ${prompts} prompts cannot be split into groups of ${promptsPerClass} per class.`);
    }

    return tf.tidy(() => {
      const promptEmbeddings = this.encodeTexts(promptIds); // [classes·k, embedDim]
      const classes = prompts / promptsPerClass;
      const grouped = tf.reshape(promptEmbeddings, [classes, promptsPerClass, this.config.embedDim]);
      const classEmbeddings = l2Normalize(tf.mean(grouped, 1) as tf.Tensor2D); // [classes, embedDim]
      const similarities = tf.matMul(this.encodeImages(images), classEmbeddings, false, true); // [b, classes]
      return tf.softmax(tf.mul(similarities, this.logitScaleTensor())) as tf.Tensor2D;
    });
  }

  /**
   * Training loss on a batch of digits and synthetic captions. Image i of the split gets
   * caption `captionFor(label, deriveSeed(seed, i), step)`, so each epoch pairs an image with
   * new wording, the same in every run with this seed and batch order. Captions are encoded
   * to `maxLength` tokens. Besides the two loss directions, the terms report `lossFloor`
   * (see `sameLabelLossFloor`), `labelAccuracy`, `logitScale` and `truncated`, the share of
   * captions that lost tokens to fit.
   */
  lossFunction(tokenizer: BpeTokenizer, seed: number, options: ClipLossOptions = {}): LossFunction {
    const { maxLength, vocabSize } = this.config;
    if (tokenizer.vocabSize > vocabSize) {
      throw new Error(`The tokenizer has ${tokenizer.vocabSize} tokens but this CLIP model embeds ${vocabSize}: set vocabSize to at least ${tokenizer.vocabSize}.`);
    }
    const targetKind = options.targets ?? 'diagonal';

    return (batch: Batch, step: number) => {
      const captions = Array.from(batch.labels, (label, i) => captionFor(label, deriveSeed(seed, batch.indices[i]), step));
      const { ids, truncated } = encodeCaptions(tokenizer, captions, maxLength);

      const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
      const tokens = tf.tensor2d(ids, [batch.size, maxLength], 'int32');
      const imageEmbeddings = this.encodeImages(images); // [b, embedDim]
      const textEmbeddings = this.encodeTexts(tokens); // [b, embedDim]
      const logitScale = this.logitScaleTensor();
      const targets = targetKind === 'sameLabel' ? sameLabelTargets(batch.labels) : undefined;
      const { loss, imageToText, textToImage } = clipLoss(imageEmbeddings, textEmbeddings, logitScale, targets);

      // Share of images whose best caption in the batch describes the same digit.
      const labels = tf.tensor1d(batch.labels, 'int32');
      const bestCaption = tf.argMax(tf.matMul(imageEmbeddings, textEmbeddings, false, true), 1);
      const labelAccuracy = tf.mean(tf.cast(tf.equal(tf.gather(labels, bestCaption), labels), 'float32')) as tf.Scalar;

      return {
        total: loss,
        terms: {
          imageToText,
          textToImage,
          lossFloor: tf.scalar(sameLabelLossFloor(batch.labels)),
          labelAccuracy,
          logitScale,
          truncated: tf.scalar(truncated / batch.size),
        },
      };
    };
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }
}

/** Prompt used for zero-shot classification and evaluation, one per digit 0–9. */
export function zeroShotPrompt(digit: number): string {
  return `a handwritten ${DIGIT_WORDS[digit]}`;
}

/** Token ids [10, maxLength] of the zero-shot prompts for digits 0–9. */
export function zeroShotPromptIds(tokenizer: BpeTokenizer, maxLength: number): tf.Tensor2D {
  const prompts = DIGIT_WORDS.map((_, digit) => zeroShotPrompt(digit));
  return tf.tensor2d(encodeCaptions(tokenizer, prompts, maxLength).ids, [prompts.length, maxLength], 'int32');
}

/**
 * Learns the caption tokenizer that ships with a CLIP checkpoint: BPE over
 * `captionsPerImage` seeded captions of each of the first `images` training labels. The
 * same labels and seed always give the same vocabulary.
 */
export function trainCaptionTokenizer(labels: ArrayLike<number>, seed: number, vocabSize: number, images = 10_000, captionsPerImage = 13): BpeTokenizer {
  const subset = Array.from({ length: Math.min(images, labels.length) }, (_, i) => labels[i]);
  return BpeTokenizer.train(captionCorpus(subset, seed, captionsPerImage), { vocabSize });
}
