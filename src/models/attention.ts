/**
 * Transformer pieces shared by the text models: layer normalisation, multi-head
 * self-attention (causal or bidirectional, with an optional key padding mask), the MLP and
 * the pre-LN residual block, which normalises the input of each sub-layer rather than its
 * output.
 *
 * Functions take a `Params` record and a name prefix, like `conv` and `dense` in nn.ts, so
 * a model lists its blocks' shapes with the `...Shapes` helpers and checkpoints store one
 * flat record. Activations are [batch, tokens, width]. Dense layers run on the
 * [batch·tokens, width] reshape because tfjs-core 4.22's BatchMatMul gradient throws when
 * a 3-D input meets a 2-D weight, and the wasm backend reaches XNNPACK only for 2-D
 * operands.
 *
 * Parameter names: `<block>/ln_1/gain`, `<block>/ln_1/b`, `<block>/attn/qkv/w`,
 * `<block>/attn/qkv/b`, `<block>/attn/proj/w`, `<block>/attn/proj/b`, `<block>/ln_2/…`,
 * `<block>/mlp/fc/…` and `<block>/mlp/proj/…`. Create them with `initTransformerParams`,
 * which sets every layer-norm gain to 1.
 */
import * as tf from './tf';
import { dense, denseShapes, initParams, type ParamShapes, type Params } from './nn';
import { deriveSeed } from './data/rng';

/** Added to the attention logits of masked keys; exp() of it underflows to 0 in float32. */
const MASKED_LOGIT = -1e9;
const LAYER_NORM_EPSILON = 1e-5;
/** Standard deviation of the initial token and position embeddings. */
const EMBEDDING_INIT_STD = 0.02;

export interface AttentionOptions {
  heads: number;
  /** Each position attends to itself and earlier positions only. */
  causal: boolean;
  /** [batch, tokens]: 1 for keys that may be attended to, 0 for padding. */
  keyMask?: tf.Tensor2D;
}

/**
 * Creates variables like `initParams`, then sets layer-norm gains (names ending `/gain`) to 1
 * and embedding tables (names ending `/embedding`) to small normal values (std 0.02).
 * Scalars and other special values are left to the caller.
 */
export function initTransformerParams(shapes: ParamShapes, seed: number): Params {
  const params = initParams(shapes, seed);
  Object.entries(params).forEach(([name, variable], index) => {
    if (name.endsWith('/gain')) {
      tf.tidy(() => variable.assign(tf.onesLike(variable)));
    } else if (name.endsWith('/embedding')) {
      const initSeed = deriveSeed(seed, index);
      tf.tidy(() => variable.assign(tf.randomNormal(variable.shape, 0, EMBEDDING_INIT_STD, 'float32', initSeed)));
    }
  });
  return params;
}

export function layerNormShapes(name: string, width: number): ParamShapes {
  return { [`${name}/gain`]: [width], [`${name}/b`]: [width] };
}

/** Layer normalisation over the last axis, with a learned gain and bias. */
export function layerNorm<T extends tf.Tensor>(params: Params, name: string, x: T): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON)));
    return tf.add(tf.mul(normalized, params[`${name}/gain`]), params[`${name}/b`]) as T;
  });
}

/** Applies a dense layer to every token: [batch, tokens, in] → [batch, tokens, out]. */
export function denseTokens(params: Params, name: string, x: tf.Tensor3D): tf.Tensor3D {
  const [batch, tokens, width] = x.shape;
  return tf.tidy(() => {
    const flat = dense(params, name, tf.reshape(x, [batch * tokens, width]) as tf.Tensor2D); // [batch·tokens, out]
    return tf.reshape(flat, [batch, tokens, flat.shape[1]]) as tf.Tensor3D;
  });
}

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
  });
}

/** Additive mask [tokens, tokens]: 0 where key j ≤ query i, a large negative number elsewhere. */
export function causalMask(tokens: number): tf.Tensor2D {
  const values = new Float32Array(tokens * tokens);
  for (let query = 0; query < tokens; query++) {
    for (let key = query + 1; key < tokens; key++) values[query * tokens + key] = MASKED_LOGIT;
  }
  return tf.tensor2d(values, [tokens, tokens]);
}

export function attentionShapes(name: string, width: number): ParamShapes {
  return { ...denseShapes(`${name}/qkv`, width, 3 * width), ...denseShapes(`${name}/proj`, width, width) };
}

/**
 * Multi-head scaled dot-product self-attention: [batch, tokens, width] → the output
 * [batch, tokens, width] and the attention probabilities [batch, heads, tokens, tokens],
 * which charts draw.
 */
export function selfAttentionWithWeights(
  params: Params,
  name: string,
  x: tf.Tensor3D,
  options: AttentionOptions,
): { output: tf.Tensor3D; weights: tf.Tensor4D } {
  const [batch, tokens, width] = x.shape;
  const { heads } = options;
  if (!Number.isInteger(heads) || heads < 1 || width % heads !== 0) {
    throw new Error(`Attention ${name}: width ${width} must be divisible by a positive integer number of heads, got ${heads}.`);
  }
  const headWidth = width / heads;

  return tf.tidy(() => {
    const qkv = denseTokens(params, `${name}/qkv`, x); // [batch, tokens, 3·width]
    const splitHeads = (t: tf.Tensor): tf.Tensor3D =>
      tf.reshape(tf.transpose(tf.reshape(t, [batch, tokens, heads, headWidth]), [0, 2, 1, 3]), [batch * heads, tokens, headWidth]) as tf.Tensor3D;
    const [q, k, v] = tf.split(qkv, 3, 2).map(splitHeads); // [batch·heads, tokens, headWidth]

    let logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headWidth)); // [batch·heads, tokens, tokens]
    if (options.causal) logits = tf.add(logits, causalMask(tokens));
    if (options.keyMask) {
      const keyBias = tf.mul(tf.sub(1, tf.cast(options.keyMask, 'float32')), MASKED_LOGIT); // [batch, tokens]
      const perHead = tf.reshape(tf.tile(tf.reshape(keyBias, [batch, 1, 1, tokens]), [1, heads, 1, 1]), [batch * heads, 1, tokens]);
      logits = tf.add(logits, perHead);
    }
    const weights = tf.softmax(logits); // [batch·heads, tokens, tokens]

    const mixed = tf.matMul(weights, v); // [batch·heads, tokens, headWidth]
    const merged = tf.reshape(tf.transpose(tf.reshape(mixed, [batch, heads, tokens, headWidth]), [0, 2, 1, 3]), [batch, tokens, width]) as tf.Tensor3D;
    return {
      output: denseTokens(params, `${name}/proj`, merged), // [batch, tokens, width]
      weights: tf.reshape(weights, [batch, heads, tokens, tokens]) as tf.Tensor4D,
    };
  });
}

/** Multi-head self-attention, output only: [batch, tokens, width] → [batch, tokens, width]. */
export function selfAttention(params: Params, name: string, x: tf.Tensor3D, options: AttentionOptions): tf.Tensor3D {
  return tf.tidy(() => selfAttentionWithWeights(params, name, x, options).output);
}

export function mlpShapes(name: string, width: number, hidden: number): ParamShapes {
  return { ...denseShapes(`${name}/fc`, width, hidden), ...denseShapes(`${name}/proj`, hidden, width) };
}

/** Position-wise MLP: dense → GELU → dense, [batch, tokens, width] → same. */
export function mlp(params: Params, name: string, x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => denseTokens(params, `${name}/proj`, gelu(denseTokens(params, `${name}/fc`, x))));
}

export function blockShapes(name: string, width: number, hidden: number): ParamShapes {
  return {
    ...layerNormShapes(`${name}/ln_1`, width),
    ...attentionShapes(`${name}/attn`, width),
    ...layerNormShapes(`${name}/ln_2`, width),
    ...mlpShapes(`${name}/mlp`, width, hidden),
  };
}

/** Pre-LN residual block: x + attention(LN(x)), then x + MLP(LN(x)). Shapes stay [batch, tokens, width]. */
export function transformerBlock(params: Params, name: string, x: tf.Tensor3D, options: AttentionOptions): tf.Tensor3D {
  return tf.tidy(() => {
    const attended = tf.add(x, selfAttention(params, `${name}/attn`, layerNorm(params, `${name}/ln_1`, x), options)) as tf.Tensor3D;
    return tf.add(attended, mlp(params, `${name}/mlp`, layerNorm(params, `${name}/ln_2`, attended))) as tf.Tensor3D;
  });
}
