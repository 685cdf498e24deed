/**
 * DALL·E-mini: the transformer of DALL·E (Ramesh et al. 2021, "Zero-Shot Text-to-Image
 * Generation", Section 2.2), shrunk to MNIST captions and 7×7 dVAE token grids.
 *
 * One decoder-only stream models text and image tokens autoregressively:
 *
 *   stream   [caption: T BPE ids padded with <pad> | image: 49 dVAE codes, row-major]
 *   input    stream[0 … T+47]                                  [b, L], L = T + 48
 *   embed    text: token or per-position padding + text position embedding
 *            image: code + image position embedding             [b, L, width]
 *   blocks   pre-LN: x += attn(LN(x)), x += MLP(LN(x)), causal over the whole stream
 *   heads    LN, then text_head on rows 0 … T−2 → next text id   [b, T−1, textVocabSize]
 *            and image_head on rows T−1 … T+47 → next image code [b, 49, imageVocabSize]
 *
 * Padding follows the paper: each text position has its own learned padding embedding,
 * used where the caption has no token (`PAD_ID`), instead of masking those positions out
 * of attention. The loss is the cross-entropy of the next token, averaged separately over
 * the text targets and the image targets of the batch, weighted 1/8 (text) and 7/8
 * (image) as the paper does. Padding targets are left out of the text average here.
 *
 * Unlike DALL·E, whose image-to-image attention uses sparse row, column and convolutional
 * masks, every layer here uses the dense causal mask, which is cheap for a stream of
 * T + 49 tokens (61 with the default 12 text positions).
 *
 * The blocks are written here, not taken from attention.ts, because decoding feeds each
 * layer the keys and values of earlier positions (a KV cache), which its self-attention
 * does not accept. Block parameters follow its names (`ln_1/gain`, `attn/qkv`, `mlp/fc`, …)
 * so that the two can merge without renaming checkpoint tensors.
 *
 * Projections and MLPs are 2-D matmuls over [rows, width]. The attention products q·kᵀ and
 * a·v are the only batched ones. On the wasm backend they run tfjs's scalar loop, the
 * largest single cost of a training step there. Their batch dimensions match, because
 * tfjs-core 4.22's BatchMatMul gradient throws on broadcast batch dimensions.
 */
import * as tf from './tf';
import { dense, denseShapes, initParams, type ParamShapes, type Params } from './nn';
import { Rng, deriveSeed } from './data/rng';
import { captionFor, captionTemplates } from './data/captions';
import { PAD_ID, type BpeTokenizer } from './text/bpe';
import { GRID_SIZE, type Dvae } from './dvae';
import type { Batch } from './data/batches';
import type { LossFunction } from './trainer';

export const TRANSFORMER_NAME = 'transformer';

/** Image tokens per digit: the dVAE's 7×7 grid, in row-major order. */
export const IMAGE_TOKENS = GRID_SIZE * GRID_SIZE;

/** Loss weights of the text and image cross-entropies, from DALL·E (Section 2.2). */
export const TEXT_LOSS_WEIGHT = 1 / 8;
export const IMAGE_LOSS_WEIGHT = 7 / 8;

export interface TransformerConfig {
  /** Text vocabulary size: the BPE tokenizer's `vocabSize`, special tokens included. */
  textVocabSize: number;
  /** Text positions per caption, `<bos>`, `<eos>` and padding included. */
  textLength: number;
  /** Image vocabulary size: the dVAE's codebook size. */
  imageVocabSize: number;
  layers: number;
  /** Width of the residual stream (d_model). */
  width: number;
  heads: number;
  /** Hidden units of each MLP as a multiple of `width`. */
  mlpRatio: number;
}

export const DEFAULT_TRANSFORMER_CONFIG: TransformerConfig = {
  textVocabSize: 256,
  textLength: 12,
  imageVocabSize: 128,
  layers: 4,
  width: 128,
  heads: 4,
  mlpRatio: 4,
};

/** Standard deviation of the initial weights and embeddings, as in nanoGPT. */
const INIT_STD = 0.02;
const LAYER_NORM_EPSILON = 1e-5;
/** Added to attention scores of future positions. Finite, so a fully masked row cannot give NaN. */
const MASKED_SCORE = -1e9;

export function transformerShapes(config: TransformerConfig): ParamShapes {
  const { width, textVocabSize, textLength, imageVocabSize } = config;
  const shapes: ParamShapes = {
    'text/token_embedding': [textVocabSize, width],
    'text/pad_embedding': [textLength, width],
    'text/position_embedding': [textLength, width],
    'image/token_embedding': [imageVocabSize, width],
    'image/position_embedding': [IMAGE_TOKENS, width],
  };
  for (let layer = 0; layer < config.layers; layer++) {
    const block = `block${layer}`;
    Object.assign(
      shapes,
      layerNormShapes(`${block}/ln_1`, width),
      denseShapes(`${block}/attn/qkv`, width, 3 * width),
      denseShapes(`${block}/attn/proj`, width, width),
      layerNormShapes(`${block}/ln_2`, width),
      denseShapes(`${block}/mlp/fc`, width, config.mlpRatio * width),
      denseShapes(`${block}/mlp/proj`, config.mlpRatio * width, width),
    );
  }
  Object.assign(
    shapes,
    layerNormShapes('ln_final', width),
    denseShapes('text_head', width, textVocabSize),
    denseShapes('image_head', width, imageVocabSize),
  );
  return shapes;
}

function layerNormShapes(name: string, width: number): ParamShapes {
  return { [`${name}/gain`]: [width], [`${name}/b`]: [width] };
}

/** Throws when a config cannot build a model, naming the field and the fix. */
export function checkTransformerConfig(config: TransformerConfig): void {
  const positive: (keyof TransformerConfig)[] = ['layers', 'width', 'heads', 'mlpRatio'];
  for (const key of positive) {
    if (!Number.isInteger(config[key]) || config[key] < 1) {
      throw new Error(`Transformer config ${key} must be a positive integer, got ${config[key]}.`);
    }
  }
  for (const key of ['textVocabSize', 'imageVocabSize'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 2) {
      throw new Error(`Transformer config ${key} must be an integer ≥ 2, got ${config[key]}.`);
    }
  }
  if (!Number.isInteger(config.textLength) || config.textLength < 2) {
    throw new Error(`Transformer config textLength must be an integer ≥ 2 to hold <bos> and <eos>, got ${config.textLength}.`);
  }
  if (config.width % config.heads !== 0) {
    throw new Error(`Transformer width ${config.width} is not divisible by ${config.heads} heads: pick a width that is a multiple of heads.`);
  }
}

/**
 * Creates the parameters: N(0, 0.02²) weights and embeddings, zero biases, unit LayerNorm
 * gains. The projections that write into the residual stream get 0.02/√(2·layers), as
 * nanoGPT does, so the stream's variance does not grow with depth.
 */
function initTransformerParams(config: TransformerConfig, seed: number): Params {
  // initParams names and scopes the variables. Their He-normal values are replaced below.
  const params = initParams(transformerShapes(config), seed);
  const rng = new Rng(deriveSeed(seed, 1));
  const residualStd = INIT_STD / Math.sqrt(2 * config.layers);
  for (const [name, variable] of Object.entries(params)) {
    let value: tf.Tensor;
    if (name.endsWith('/gain')) value = tf.ones(variable.shape);
    else if (name.endsWith('/b')) value = tf.zeros(variable.shape);
    else {
      const std = name.endsWith('attn/proj/w') || name.endsWith('mlp/proj/w') ? residualStd : INIT_STD;
      value = tf.randomNormal(variable.shape, 0, std, 'float32', rng.seed());
    }
    variable.assign(value);
    value.dispose();
  }
  return params;
}

// Type aliases, not interfaces, for what tf.tidy returns: only they match its TensorContainer.

/** Keys and values of one layer for the positions seen so far: [batch, heads, positions, headDim]. */
export type LayerCache = {
  keys: tf.Tensor4D;
  values: tf.Tensor4D;
};

/** One `LayerCache` per layer, grown by one position per decoding step. */
export type KvCache = LayerCache[];

/** Layer and head of an attention pattern to return. */
export interface AttentionRequest {
  layer: number;
  head: number;
}

/** Output of the blocks for `n` new positions. */
type StreamOutput = {
  hidden: tf.Tensor3D; // [b, n, width], after the final LayerNorm
  cache: KvCache;
  /** Softmax weights of the requested head, [b, n, past + n], one row per query. */
  attention?: tf.Tensor3D;
};

/** A decoding step: the blocks' output and the next image code's logits [b, 1, imageVocabSize]. */
type DecodingStep = StreamOutput & { logits: tf.Tensor3D };

export type TransformerLogits = {
  /** Logits of text tokens 1 … T−1, each from the positions before it: [b, T−1, textVocabSize]. */
  text: tf.Tensor3D;
  /** Logits of image tokens 0 … n (at most 48), each from the positions before it: [b, n+1, imageVocabSize]. */
  image: tf.Tensor3D;
  /** With an `AttentionRequest`: softmax weights [b, L, L] of that head, rows are query positions. */
  attention?: tf.Tensor3D;
};

export interface TransformerTrainingData {
  /** Tokenizes the batch's images. It is only read: no gradient reaches its weights. */
  dvae: Dvae;
  tokenizer: BpeTokenizer;
  /**
   * Seed of the captions: image `i` of the split gets `captionFor(label, deriveSeed(captionSeed, i), k)`,
   * the same captions `captionCorpus(labels, captionSeed, …)` gives the tokenizer.
   */
  captionSeed: number;
  /** Caption indices k drawn per image, 0 … captionsPerImage−1. Default: one per template. */
  captionsPerImage?: number;
  /**
   * Replaces the seeded template captions: the caption of split image `index` (label
   * `label`) at a training step. The caption-ablation generators train on captions from here.
   */
  captionOf?: (index: number, label: number, step: number) => string;
}

export interface SampleOptions {
  /**
   * Prompt ids of length `textLength`, as `tokenizer.encode(text, { maxLength: textLength })`
   * returns them: one prompt for all `count` samples, or one prompt per sample.
   */
  textIds: ArrayLike<number> | ArrayLike<number>[];
  /** Number of samples. Default 1 with one prompt. With one prompt per sample, it must equal their number. */
  count?: number;
  /** Divisor of the logits. 0 picks the most likely code at every step (greedy). Default 1. */
  temperature?: number;
  /** Number of most likely codes kept at each step, or 0 to keep all. Default 0. */
  topK?: number;
  /** Nucleus mass: the smallest set of most likely codes whose probability reaches it is kept. Default 1. */
  topP?: number;
  /** Seed of the draws. Sample r uses `new Rng(deriveSeed(seed, r))`, so a seed repeats its samples. Default 0. */
  seed?: number;
  /** Whether to decode with a key/value cache (one position per step) or recompute the whole prefix. Default true. */
  useCache?: boolean;
  /** Callback after each image position with that position's codes, one per sample. */
  onToken?: (position: number, tokens: Int32Array) => void;
  /** Layer and head whose attention pattern the result includes. */
  attention?: AttentionRequest;
}

export interface AttentionMap extends AttentionRequest {
  /** Stream positions L = textLength + 48. Query and key i is text token i for i < textLength. */
  length: number;
  textLength: number;
  /** [count, L, L] row-major: row q contains the weights of query q over keys 0 … q, zero above. */
  weights: Float32Array;
}

export interface SampleResult {
  count: number;
  /** [count, 49] image codes, row-major per sample, ready for `dvae.decodeTokens` as [count, 7, 7]. */
  tokens: Int32Array;
  attention?: AttentionMap;
}

/** Sampling settings after validation. */
interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
}

export class DalleMini {
  readonly params: Params;

  constructor(
    readonly config: TransformerConfig = DEFAULT_TRANSFORMER_CONFIG,
    seed = 0,
  ) {
    checkTransformerConfig(config);
    this.params = initTransformerParams(config, seed);
  }

  /** Input length L of the full stream: the caption and the first 48 image tokens. */
  get streamLength(): number {
    return this.config.textLength + IMAGE_TOKENS - 1;
  }

  /**
   * Next-token logits for a batch of captions and image tokens.
   *
   * `textIds` is [b, T] int32. `imageTokens` is [b, n] or [b, 7, 7] int32 with n ≤ 49. The
   * model reads the first min(n, 48) of them and returns min(n + 1, 49) image logits. So a
   * full grid gives logits for all 49 codes, and a prefix gives the distribution of the next.
   */
  logits(textIds: tf.Tensor2D, imageTokens: tf.Tensor2D | tf.Tensor3D, attention?: AttentionRequest): TransformerLogits {
    const batch = this.checkTextIds(textIds);
    this.checkImageTokens(imageTokens, batch);
    if (attention) this.checkAttentionRequest(attention);
    const T = this.config.textLength;

    return tf.tidy(() => {
      const tokens = flattenImageTokens(imageTokens);
      const inputCount = Math.min(tokens.shape[1], IMAGE_TOKENS - 1);
      const inputs = inputCount > 0 ? tf.slice(tokens, [0, 0], [batch, inputCount]) : null;
      const out = this.forward(textIds, inputs, 0, undefined, attention);

      const textHidden = tf.slice(out.hidden, [0, 0, 0], [batch, T - 1, -1]); // [b, T−1, width]
      const imageHidden = tf.slice(out.hidden, [0, T - 1, 0], [batch, inputCount + 1, -1]); // [b, n+1, width]
      const result: TransformerLogits = {
        text: this.head('text_head', textHidden),
        image: this.head('image_head', imageHidden),
      };
      if (out.attention) result.attention = out.attention;
      return result;
    });
  }

  /**
   * Weighted next-token cross-entropy (nats per token) of captions [b, T] and full image
   * grids [b, 49] or [b, 7, 7]. Text targets equal to `PAD_ID` are left out of the text mean.
   * Call it inside tf.tidy or a `Trainer` step: its intermediate tensors belong to that scope.
   */
  loss(textIds: tf.Tensor2D, imageTokens: tf.Tensor2D | tf.Tensor3D): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
    const batch = this.checkTextIds(textIds);
    this.checkImageTokens(imageTokens, batch);
    if (imageTokens.size !== batch * IMAGE_TOKENS) {
      throw new Error(`The loss needs all ${IMAGE_TOKENS} image tokens per image, got [${imageTokens.shape}].`);
    }
    const T = this.config.textLength;

    const tokens = flattenImageTokens(imageTokens); // [b, 49]
    const { text, image } = this.logits(textIds, tokens);

    const textTargets = tf.slice(textIds, [0, 1], [batch, T - 1]); // [b, T−1]
    const textMask = tf.cast(tf.notEqual(textTargets, PAD_ID), 'float32');
    const textNll = negativeLogLikelihood(text, textTargets); // [b, T−1]
    const textCount = tf.maximum(tf.sum(textMask), 1);
    const textCrossEntropy = tf.div(tf.sum(tf.mul(textNll, textMask)), textCount) as tf.Scalar;

    const imageCrossEntropy = tf.mean(negativeLogLikelihood(image, tokens)) as tf.Scalar;

    const total = tf.add(tf.mul(textCrossEntropy, TEXT_LOSS_WEIGHT), tf.mul(imageCrossEntropy, IMAGE_LOSS_WEIGHT)) as tf.Scalar;
    return { total, terms: { textCrossEntropy, imageCrossEntropy } };
  }

  /**
   * Training loss over MNIST batches: the images become tokens through `data.dvae`, and
   * each image gets one of its seeded captions, drawn per step.
   */
  lossFunction(data: TransformerTrainingData): LossFunction {
    const captionsPerImage = data.captionsPerImage ?? captionTemplates.length;
    this.checkTrainingData(data, captionsPerImage);

    return (batch: Batch, step: number) => {
      const textIds = tf.tensor2d(this.captionIds(batch, step, data), [batch.size, this.config.textLength], 'int32');
      const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
      // argMax has no gradient, so the dVAE only tokenizes here.
      const imageTokens = tf.tidy(() => tf.reshape(data.dvae.tokenize(images), [batch.size, IMAGE_TOKENS]) as tf.Tensor2D);
      return this.loss(textIds, imageTokens);
    };
  }

  /**
   * Caption ids [size, T] for a batch at a training step. Image `i` of the split gets
   * caption k = deriveSeed(deriveSeed(captionSeed, step), i) mod captionsPerImage.
   */
  captionIds(batch: Batch, step: number, data: Omit<TransformerTrainingData, 'dvae'>): Int32Array {
    const { tokenizer, captionSeed } = data;
    const captionsPerImage = data.captionsPerImage ?? captionTemplates.length;
    const T = this.config.textLength;
    const ids = new Int32Array(batch.size * T);
    const stepSeed = deriveSeed(captionSeed, step);
    for (let i = 0; i < batch.size; i++) {
      const index = batch.indices[i];
      const k = deriveSeed(stepSeed, index) % captionsPerImage;
      const caption = data.captionOf ? data.captionOf(index, batch.labels[i], step) : captionFor(batch.labels[i], deriveSeed(captionSeed, index), k);
      ids.set(tokenizer.encode(caption, { maxLength: T }).ids, i * T);
    }
    return ids;
  }

  /**
   * Draws `count` grids of 49 image codes for the prompt(s), one position at a time.
   * Every tensor it creates is disposed before it returns or throws.
   */
  async sample(options: SampleOptions): Promise<SampleResult> {
    const { textIds, count } = this.checkPrompts(options);
    const settings = checkSamplingSettings(options);
    if (options.attention) this.checkAttentionRequest(options.attention);
    const seed = options.seed ?? 0;
    if (!Number.isFinite(seed)) throw new Error(`Sampling seed must be a finite number, got ${seed}.`);

    const T = this.config.textLength;
    const L = this.streamLength;
    const tokens = new Int32Array(count * IMAGE_TOKENS);
    const rngs = Array.from({ length: count }, (_, row) => new Rng(deriveSeed(seed, row)));
    const attention: AttentionMap | undefined = options.attention && {
      ...options.attention,
      length: L,
      textLength: T,
      weights: new Float32Array(count * L * L),
    };

    // Draws the codes at `position` from logits [count, imageVocabSize] and reports them.
    const draw = (position: number, logits: Float32Array): void => {
      const V = this.config.imageVocabSize;
      const column = new Int32Array(count);
      for (let row = 0; row < count; row++) {
        const token = sampleToken(logits.subarray(row * V, (row + 1) * V), settings, () => rngs[row].next());
        tokens[row * IMAGE_TOKENS + position] = token;
        column[row] = token;
      }
      options.onToken?.(position, column);
    };

    const text = tf.tensor2d(textIds, [count, T], 'int32');
    try {
      if (options.useCache ?? true) await this.decodeWithCache(text, tokens, draw, attention);
      else await this.decodeByRecomputation(text, tokens, draw, attention);
    } finally {
      text.dispose();
    }
    return attention ? { count, tokens, attention } : { count, tokens };
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }

  // ---------------------------------------------------------------------------------------
  // Decoding

  /**
   * Decodes with a key/value cache: one pass over the caption, then one position per step.
   * Each step appends that position's keys and values to every layer's cache.
   */
  private async decodeWithCache(text: tf.Tensor2D, tokens: Int32Array, draw: (position: number, logits: Float32Array) => void, attention?: AttentionMap): Promise<void> {
    const count = text.shape[0];
    const T = this.config.textLength;
    const request = attention && { layer: attention.layer, head: attention.head };

    let step = tf.tidy((): DecodingStep => {
      const out = this.forward(text, null, 0, undefined, request);
      const last = tf.slice(out.hidden, [0, T - 1, 0], [count, 1, -1]); // [b, 1, width]
      return { ...out, logits: this.head('image_head', last) };
    });
    try {
      for (let position = 0; position < IMAGE_TOKENS; position++) {
        draw(position, (await step.logits.data()) as Float32Array);
        if (attention && step.attention) {
          // The caption pass returns rows 0 … T−1, and the step that read code p−1 returns row T+p−1.
          const firstRow = position === 0 ? 0 : T + position - 1;
          writeAttentionRows(attention, (await step.attention.data()) as Float32Array, count, firstRow, step.attention.shape);
        }
        if (position === IMAGE_TOKENS - 1) break;

        const input = tf.tensor2d(imageColumn(tokens, count, position), [count, 1], 'int32');
        const previous = step;
        try {
          step = tf.tidy((): DecodingStep => {
            const out = this.forward(null, input, position, previous.cache, request);
            return { ...out, logits: this.head('image_head', out.hidden) };
          });
        } finally {
          input.dispose();
          disposeStep(previous);
        }
      }
    } finally {
      disposeStep(step);
    }
  }

  /** Decodes by running the whole prefix through the model again for every position. */
  private async decodeByRecomputation(text: tf.Tensor2D, tokens: Int32Array, draw: (position: number, logits: Float32Array) => void, attention?: AttentionMap): Promise<void> {
    const count = text.shape[0];
    for (let position = 0; position < IMAGE_TOKENS; position++) {
      const prefix = position > 0 ? tf.tensor2d(imagePrefix(tokens, count, position), [count, position], 'int32') : tf.zeros([count, 0], 'int32');
      // The last pass reads the whole input stream, so its attention covers every row.
      const request = attention && position === IMAGE_TOKENS - 1 ? { layer: attention.layer, head: attention.head } : undefined;
      let out: TransformerLogits | undefined;
      try {
        out = this.logits(text, prefix as tf.Tensor2D, request);
        const last = tf.tidy(() => tf.reshape(tf.slice(out!.image, [0, position, 0], [count, 1, -1]), [count, -1]));
        try {
          draw(position, (await last.data()) as Float32Array);
        } finally {
          last.dispose();
        }
        if (attention && out.attention) {
          writeAttentionRows(attention, (await out.attention.data()) as Float32Array, count, 0, out.attention.shape);
        }
      } finally {
        prefix.dispose();
        if (out) tf.dispose([out.text, out.image, ...(out.attention ? [out.attention] : [])]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // The network

  /**
   * Runs the blocks over new stream positions: the caption (when `textIds` is given) then
   * `imageInputs` [b, n] at image positions `imageStart` …, after the `past` positions.
   */
  private forward(textIds: tf.Tensor2D | null, imageInputs: tf.Tensor2D | null, imageStart: number, past: KvCache | undefined, attention?: AttentionRequest): StreamOutput {
    const batch = (textIds ?? imageInputs)!.shape[0];
    const parts: tf.Tensor3D[] = [];
    if (textIds) parts.push(this.embedText(textIds));
    if (imageInputs && imageInputs.shape[1] > 0) parts.push(this.embedImage(imageInputs, imageStart));
    const embedded = parts.length === 1 ? parts[0] : tf.concat(parts, 1); // [b, n, width]
    const length = embedded.shape[1];
    const pastLength = past ? past[0].keys.shape[2] : 0;
    const mask = length > 1 ? causalMask(length, pastLength + length) : undefined;

    let x = tf.reshape(embedded, [batch * length, this.config.width]) as tf.Tensor2D; // [b·n, width]
    const cache: KvCache = [];
    let weights: tf.Tensor3D | undefined;
    for (let layer = 0; layer < this.config.layers; layer++) {
      const block = `block${layer}`;
      const head = attention?.layer === layer ? attention.head : undefined;
      const attended = this.selfAttention(block, layerNorm(this.params, `${block}/ln_1`, x), batch, length, past?.[layer], mask, head);
      x = tf.add(x, attended.output);
      x = tf.add(x, this.mlp(block, layerNorm(this.params, `${block}/ln_2`, x)));
      cache.push(attended.cache);
      if (attended.weights) weights = attended.weights;
    }

    const hidden = tf.reshape(layerNorm(this.params, 'ln_final', x), [batch, length, this.config.width]) as tf.Tensor3D;
    return weights ? { hidden, cache, attention: weights } : { hidden, cache };
  }

  /** Caption embeddings [b, T, width]: token or per-position padding, plus position. */
  private embedText(textIds: tf.Tensor2D): tf.Tensor3D {
    const p = this.params;
    const tokenEmbedding = tf.gather(p['text/token_embedding'], textIds); // [b, T, width]
    // The row of PAD_ID in the token table is never used: padding reads text/pad_embedding.
    const isPad = tf.expandDims(tf.cast(tf.equal(textIds, PAD_ID), 'float32'), 2); // [b, T, 1]
    const withPadding = tf.add(tf.mul(tokenEmbedding, tf.sub(1, isPad)), tf.mul(p['text/pad_embedding'], isPad));
    return tf.add(withPadding, p['text/position_embedding']) as tf.Tensor3D;
  }

  /** Image code embeddings [b, n, width] at image positions start … start+n−1. */
  private embedImage(tokens: tf.Tensor2D, start: number): tf.Tensor3D {
    const n = tokens.shape[1];
    const positions = tf.slice(this.params['image/position_embedding'], [start, 0], [n, -1]); // [n, width]
    return tf.add(tf.gather(this.params['image/token_embedding'], tokens), positions) as tf.Tensor3D;
  }

  /**
   * Multi-head causal self-attention of `length` new positions per sequence over the
   * `past` ones and themselves. Returns the projected output [b·n, width], the keys and
   * values of all positions, and the weights of `head` when asked.
   */
  private selfAttention(block: string, x: tf.Tensor2D, batch: number, length: number, past: LayerCache | undefined, mask: tf.Tensor2D | undefined, head?: number): { output: tf.Tensor2D; cache: LayerCache; weights?: tf.Tensor3D } {
    const { width, heads } = this.config;
    const headDim = width / heads;
    const qkv = dense(this.params, `${block}/attn/qkv`, x); // [b·n, 3·width]
    const [q, k, v] = tf.split(qkv, 3, 1).map((part) => splitHeads(part as tf.Tensor2D, batch, length, heads)); // [b, heads, n, headDim]

    const keys = past ? (tf.concat([past.keys, k], 2) as tf.Tensor4D) : k; // [b, heads, t, headDim]
    const values = past ? (tf.concat([past.values, v], 2) as tf.Tensor4D) : v;

    let scores = tf.mul(tf.matMul(q, keys, false, true), 1 / Math.sqrt(headDim)); // [b, heads, n, t]
    if (mask) scores = tf.add(scores, mask);
    const weights = tf.softmax(scores) as tf.Tensor4D;
    const attended = tf.matMul(weights, values); // [b, heads, n, headDim]

    const output = dense(this.params, `${block}/attn/proj`, mergeHeads(attended as tf.Tensor4D)); // [b·n, width]
    const cache = { keys, values };
    if (head === undefined) return { output, cache };
    const t = keys.shape[2];
    const headWeights = tf.reshape(tf.slice(weights, [0, head, 0, 0], [batch, 1, length, t]), [batch, length, t]) as tf.Tensor3D;
    return { output, cache, weights: headWeights };
  }

  /** Position-wise MLP with GELU: [b·n, width] → [b·n, mlpRatio·width] → [b·n, width]. */
  private mlp(block: string, x: tf.Tensor2D): tf.Tensor2D {
    const hidden = gelu(dense(this.params, `${block}/mlp/fc`, x)); // [b·n, mlpRatio·width]
    return dense(this.params, `${block}/mlp/proj`, hidden);
  }

  /** Applies an output head to hidden states [b, n, width] → logits [b, n, vocab]. */
  private head(name: 'text_head' | 'image_head', hidden: tf.Tensor3D): tf.Tensor3D {
    const [batch, n, width] = hidden.shape;
    const logits = dense(this.params, name, tf.reshape(hidden, [batch * n, width]) as tf.Tensor2D); // [b·n, vocab]
    return tf.reshape(logits, [batch, n, -1]) as tf.Tensor3D;
  }

  // ---------------------------------------------------------------------------------------
  // Input checks

  private checkTextIds(textIds: tf.Tensor2D): number {
    const T = this.config.textLength;
    if (textIds.rank !== 2 || textIds.shape[1] !== T || textIds.dtype !== 'int32') {
      throw new Error(`Text ids must be an int32 tensor [batch, ${T}], got ${textIds.dtype} [${textIds.shape}]: encode captions with { maxLength: ${T} }.`);
    }
    return textIds.shape[0];
  }

  private checkImageTokens(imageTokens: tf.Tensor2D | tf.Tensor3D, batch: number): void {
    const shape = imageTokens.shape;
    const isGrid = imageTokens.rank === 3 && shape[1] === GRID_SIZE && shape[2] === GRID_SIZE;
    const isRows = imageTokens.rank === 2 && shape[1] <= IMAGE_TOKENS;
    if (imageTokens.dtype !== 'int32' || shape[0] !== batch || !(isGrid || isRows)) {
      throw new Error(`Image tokens must be int32 [${batch}, n ≤ ${IMAGE_TOKENS}] or [${batch}, ${GRID_SIZE}, ${GRID_SIZE}], got ${imageTokens.dtype} [${shape}].`);
    }
  }

  private checkAttentionRequest({ layer, head }: AttentionRequest): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.config.layers) {
      throw new RangeError(`Attention layer ${layer} is outside 0 … ${this.config.layers - 1}.`);
    }
    if (!Number.isInteger(head) || head < 0 || head >= this.config.heads) {
      throw new RangeError(`Attention head ${head} is outside 0 … ${this.config.heads - 1}.`);
    }
  }

  /** Validates prompt ids and returns them as one [count, T] array. */
  private checkPrompts(options: SampleOptions): { textIds: Int32Array; count: number } {
    const { textLength: T, textVocabSize } = this.config;
    const prompts = options.textIds;
    const perSample = prompts.length > 0 && typeof prompts[0] !== 'number';
    const rows = perSample ? (prompts as ArrayLike<number>[]) : [prompts as ArrayLike<number>];
    const count = options.count ?? (perSample ? rows.length : 1);
    if (!Number.isInteger(count) || count < 1) {
      throw new Error(`Sample count must be a positive integer, got ${count}.`);
    }
    if (perSample && count !== rows.length) {
      throw new Error(`Sample count ${count} does not match the ${rows.length} prompts: pass one prompt or one per sample.`);
    }

    const textIds = new Int32Array(count * T);
    for (let row = 0; row < count; row++) {
      const ids = rows[perSample ? row : 0];
      if (ids.length !== T) {
        throw new Error(`Prompt ${row} has ${ids.length} ids, the model expects ${T}: encode it with { maxLength: ${T} }.`);
      }
      for (let i = 0; i < T; i++) {
        const id = ids[i];
        if (!Number.isInteger(id) || id < 0 || id >= textVocabSize) {
          throw new RangeError(`Prompt ${row} has id ${id} at position ${i}, outside the text vocabulary 0 … ${textVocabSize - 1}.`);
        }
        textIds[row * T + i] = id;
      }
    }
    return { textIds, count };
  }

  private checkTrainingData(data: TransformerTrainingData, captionsPerImage: number): void {
    if (data.dvae.config.codebookSize !== this.config.imageVocabSize) {
      throw new Error(`The dVAE has ${data.dvae.config.codebookSize} codes, the transformer's image vocabulary has ${this.config.imageVocabSize}: build the config with imageVocabSize: dvae.config.codebookSize.`);
    }
    if (data.tokenizer.vocabSize !== this.config.textVocabSize) {
      throw new Error(`The tokenizer has ${data.tokenizer.vocabSize} tokens, the transformer's text vocabulary has ${this.config.textVocabSize}: build the config with textVocabSize: tokenizer.vocabSize.`);
    }
    if (!Number.isInteger(captionsPerImage) || captionsPerImage < 1) {
      throw new Error(`captionsPerImage must be a positive integer, got ${captionsPerImage}.`);
    }
  }
}

// -----------------------------------------------------------------------------------------
// Layers and helpers

/** LayerNorm over the last axis of [rows, width]. */
function layerNorm(params: Params, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON)));
  return tf.add(tf.mul(normalized, params[`${name}/gain`]), params[`${name}/b`]) as tf.Tensor2D;
}

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³). It is
 * computed as the equal x·σ(2u) because tfjs-core 4.22 has no GELU op, and its wasm Sigmoid
 * kernel took 2 ms where Tanh took 12 ms on a [960, 512] tensor (Node 24, 2 CPU cores).
 */
function gelu(x: tf.Tensor2D): tf.Tensor2D {
  const cubic = tf.mul(tf.mul(tf.mul(x, x), x), 0.044715);
  const twiceU = tf.mul(tf.add(x, cubic), 2 * Math.sqrt(2 / Math.PI));
  return tf.mul(x, tf.sigmoid(twiceU)) as tf.Tensor2D;
}

/** Image tokens as [b, n]: a [b, 7, 7] grid is flattened row-major. */
function flattenImageTokens(imageTokens: tf.Tensor2D | tf.Tensor3D): tf.Tensor2D {
  return imageTokens.rank === 3 ? (tf.reshape(imageTokens, [imageTokens.shape[0], IMAGE_TOKENS]) as tf.Tensor2D) : (imageTokens as tf.Tensor2D);
}

/** [b·n, width] → [b, heads, n, headDim]. */
function splitHeads(x: tf.Tensor2D, batch: number, length: number, heads: number): tf.Tensor4D {
  const headDim = x.shape[1] / heads;
  return tf.transpose(tf.reshape(x, [batch, length, heads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [b, heads, n, headDim] → [b·n, width]. */
function mergeHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, heads, length, headDim] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch * length, heads * headDim]) as tf.Tensor2D;
}

/**
 * Additive mask [queries, keys] for queries at the last `queries` of `keys` positions:
 * query i may attend to keys 0 … keys − queries + i.
 */
function causalMask(queries: number, keys: number): tf.Tensor2D {
  const offset = keys - queries;
  const values = new Float32Array(queries * keys);
  for (let i = 0; i < queries; i++) values.fill(MASKED_SCORE, i * keys + offset + i + 1, (i + 1) * keys);
  return tf.tensor2d(values, [queries, keys]);
}

/** −log softmax(logits)[target] per position: logits [b, n, V], targets [b, n] int32 → [b, n]. */
function negativeLogLikelihood(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const vocab = logits.shape[2];
  const logProbabilities = tf.logSoftmax(logits);
  // Cast an int32 one-hot: the wasm OneHot kernel of tfjs 4.22 ignores `dtype` and writes
  // int32 bits into a float32 tensor, so oneHot(…, 'float32') reads as denormals there.
  const oneHot = tf.cast(tf.oneHot(targets, vocab), 'float32');
  const picked = tf.sum(tf.mul(logProbabilities, oneHot), -1);
  return tf.neg(picked) as tf.Tensor2D;
}

/** Returns the codes at image position `position` of every sample. */
function imageColumn(tokens: Int32Array, count: number, position: number): Int32Array {
  return Int32Array.from({ length: count }, (_, row) => tokens[row * IMAGE_TOKENS + position]);
}

/** Copies the first `length` codes of every sample into a [count, length] row-major array. */
function imagePrefix(tokens: Int32Array, count: number, length: number): Int32Array {
  const prefix = new Int32Array(count * length);
  for (let row = 0; row < count; row++) prefix.set(tokens.subarray(row * IMAGE_TOKENS, row * IMAGE_TOKENS + length), row * length);
  return prefix;
}

/** Copies attention rows [count, rows, keys] into the map starting at query `firstRow`. */
function writeAttentionRows(map: AttentionMap, rows: Float32Array, count: number, firstRow: number, shape: number[]): void {
  const [, rowCount, keyCount] = shape;
  const L = map.length;
  for (let sample = 0; sample < count; sample++) {
    for (let r = 0; r < rowCount; r++) {
      const source = (sample * rowCount + r) * keyCount;
      map.weights.set(rows.subarray(source, source + keyCount), (sample * L + firstRow + r) * L);
    }
  }
}

function disposeStep(step: DecodingStep): void {
  tf.dispose([step.logits, step.hidden, ...(step.attention ? [step.attention] : [])]);
  for (const { keys, values } of step.cache) tf.dispose([keys, values]);
}

function checkSamplingSettings(options: SampleOptions): SamplingSettings {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  if (!Number.isFinite(temperature) || temperature < 0) {
    throw new RangeError(`Temperature must be a finite number ≥ 0, got ${temperature}.`);
  }
  if (!Number.isInteger(topK) || topK < 0) {
    throw new RangeError(`topK must be an integer ≥ 0 (0 keeps every code), got ${topK}.`);
  }
  if (!(topP > 0 && topP <= 1)) {
    throw new RangeError(`topP must be in (0, 1], got ${topP}.`);
  }
  return { temperature, topK, topP };
}

/**
 * Draws one id from a row of logits. Temperature 0 returns the first maximum. Otherwise
 * the logits are divided by the temperature and cut to the `topK` most likely ids (0 keeps
 * all). Then they are cut to the smallest most-likely set whose probability reaches `topP`,
 * and one `random()` value in [0, 1) picks an id from what remains. Ties in rank go to the
 * lower id, so `topK: 1` and a tiny `topP` both return the temperature-0 choice.
 */
export function sampleToken(logits: ArrayLike<number>, settings: SamplingSettings, random: () => number): number {
  const vocab = logits.length;
  if (settings.temperature === 0) {
    let best = 0;
    for (let i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }

  const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = settings.topK > 0 ? Math.min(settings.topK, vocab) : vocab;
  const maxLogit = logits[order[0]];
  const weights = new Float64Array(kept);
  let sum = 0;
  for (let i = 0; i < kept; i++) {
    weights[i] = Math.exp((logits[order[i]] - maxLogit) / settings.temperature);
    sum += weights[i];
  }

  let nucleus = kept;
  if (settings.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < kept; i++) {
      cumulative += weights[i];
      if (cumulative >= settings.topP * sum) {
        nucleus = i + 1;
        break;
      }
    }
  }

  let nucleusSum = 0;
  for (let i = 0; i < nucleus; i++) nucleusSum += weights[i];
  let remaining = random() * nucleusSum;
  for (let i = 0; i < nucleus; i++) {
    remaining -= weights[i];
    if (remaining < 0) return order[i];
  }
  // Rounding can leave a tiny remainder, which belongs to the last kept id.
  return order[nucleus - 1];
}
