/**
 * unCLIP's decoder in miniature: a small U-Net that denoises 28×28 digits, conditioned on
 * the timestep and on a CLIP image embedding. Ramesh et al. 2022 ("Hierarchical
 * Text-Conditional Image Generation with CLIP Latents", Section 2.1) condition in two ways:
 * the embedding is projected and added to the timestep embedding, and it is projected into
 * four extra tokens of context for the decoder's attention. Here the first becomes a
 * per-block scale and shift of the features, and the second a learned 7×7 map added at the
 * bottleneck, the spatial analogue of the extra tokens at this size. During training the
 * embedding is replaced by a learned null embedding for a share of examples, so
 * classifier-free guidance works at sampling time (the paper drops it 10 % of the time).
 *
 *   x_t [b, 28, 28, 1] in the data range [−1, 1]
 *   → conv → res(c1) ──────────────────────────────────────┐ skip 28×28
 *   → conv stride 2 → res(c2) ──────────────────────┐ skip 14×14
 *   → conv stride 2 + embedding map → res(c3) → res(c3)  (7×7)
 *   → upsample → concat → conv → res(c2) ◄───────────┘      │
 *   → upsample → concat → conv → res(c1) ◄──────────────────┘
 *   → conv → ε̂ [b, 28, 28, 1]
 *
 * There is no normalisation layer: at this depth Adam with warm-up trains it stably, and
 * leaving norms out keeps each step cheap on the wasm backend.
 */
import * as tf from './tf';
import type { Batch } from './data/batches';
import { deriveSeed, Rng } from './data/rng';
import { makeSchedule, qSample, sampleDiffusion, type NoiseSchedule, type SamplerOptions, type SamplerResult, type ScheduleKind } from './diffusion';
import { conv, convShapes, dense, denseShapes, initParams, upsample2x, type ParamShapes, type Params } from './nn';
import type { LossFunction } from './trainer';

export interface DecoderConfig {
  /** Widths at 28×28, 14×14 and 7×7. */
  channels: [number, number, number];
  /** Width of the timestep and conditioning vector. */
  embedWidth: number;
  /** Dimension of the CLIP image embedding it is conditioned on. */
  clipDim: number;
  /** Diffusion steps T of training. */
  diffusionSteps: number;
  schedule: ScheduleKind;
  /** Share of training examples whose embedding is replaced by the null embedding. */
  conditionDropout: number;
}

export const DEFAULT_DECODER_CONFIG: DecoderConfig = {
  channels: [16, 32, 64],
  embedWidth: 64,
  clipDim: 64,
  diffusionSteps: 200,
  schedule: 'cosine',
  conditionDropout: 0.1,
};

/** Size of the sinusoidal timestep features before the embedding MLP. */
const TIME_FEATURES = 32;

function resShapes(name: string, channels: number, embedWidth: number): ParamShapes {
  return {
    ...convShapes(`${name}/conv1`, 3, channels, channels),
    // A scale and a shift per channel.
    ...denseShapes(`${name}/emb`, embedWidth, 2 * channels),
    ...convShapes(`${name}/conv2`, 3, channels, channels),
  };
}

export function decoderShapes(config: DecoderConfig): ParamShapes {
  const [c1, c2, c3] = config.channels;
  const e = config.embedWidth;
  return {
    ...denseShapes('time1', TIME_FEATURES, e),
    ...denseShapes('time2', e, e),
    ...denseShapes('cond1', config.clipDim, e),
    ...denseShapes('cond2', e, e),
    ...denseShapes('cond_map', config.clipDim, 7 * 7 * c3),
    'cond_null/w': [1, config.clipDim],
    ...convShapes('in', 3, 1, c1),
    ...resShapes('down1', c1, e),
    ...convShapes('down1_pool', 3, c1, c2),
    ...resShapes('down2', c2, e),
    ...convShapes('down2_pool', 3, c2, c3),
    ...resShapes('mid1', c3, e),
    ...resShapes('mid2', c3, e),
    ...convShapes('up2_merge', 3, c3 + c2, c2),
    ...resShapes('up2', c2, e),
    ...convShapes('up1_merge', 3, c2 + c1, c1),
    ...resShapes('up1', c1, e),
    ...convShapes('out', 3, c1, 1),
  };
}

/**
 * Sinusoidal features of integer timesteps (Vaswani et al. 2017, Section 3.5, as DDPM uses
 * them): sin and cos of t / 10000^(2i/d), [b] → [b, TIME_FEATURES].
 */
export function timestepFeatures(timesteps: ArrayLike<number>): tf.Tensor2D {
  const half = TIME_FEATURES / 2;
  const values = new Float32Array(timesteps.length * TIME_FEATURES);
  for (let row = 0; row < timesteps.length; row++) {
    for (let i = 0; i < half; i++) {
      const angle = timesteps[row] / 10000 ** (i / half);
      values[row * TIME_FEATURES + i] = Math.sin(angle);
      values[row * TIME_FEATURES + half + i] = Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [timesteps.length, TIME_FEATURES]);
}

/** Pixels in [0, 1] to the data range [−1, 1] the diffusion runs in, and back. */
export const toDataRange = (pixels: tf.Tensor): tf.Tensor => tf.sub(tf.mul(pixels, 2), 1);
export const toPixels = (data: tf.Tensor): tf.Tensor => tf.clipByValue(tf.div(tf.add(data, 1), 2), 0, 1);

export interface DecoderSampleOptions extends Omit<SamplerOptions, 'parameterization' | 'clipX0'> {
  /** CLIP image embeddings [count, clipDim] to draw images for; the caller keeps ownership. */
  embeddings: tf.Tensor2D;
}

export class Decoder {
  readonly params: Params;
  readonly schedule: NoiseSchedule;

  constructor(
    readonly config: DecoderConfig = DEFAULT_DECODER_CONFIG,
    seed = 0,
  ) {
    if (!(config.conditionDropout >= 0 && config.conditionDropout < 1)) {
      throw new RangeError(`conditionDropout must be in [0, 1), got ${config.conditionDropout}.`);
    }
    this.params = initParams(decoderShapes(config), seed);
    // Each residual branch and the output start at zero, so the untrained network is a
    // stack of identity blocks with a small output. With He init alone and no normalisation
    // layer, the first loss was near 90 instead of 1.
    tf.tidy(() => {
      for (const [name, variable] of Object.entries(this.params)) {
        if (name === 'out/w' || name.endsWith('/conv2/w')) variable.assign(tf.zerosLike(variable));
      }
    });
    this.schedule = makeSchedule(config.schedule, config.diffusionSteps);
  }

  /**
   * The embedding each example is conditioned on: its CLIP embedding scaled to unit-variance
   * components, or the learned null embedding where `keep` is 0 (or everywhere when
   * `embeddings` is null). [b, clipDim].
   */
  private condition(batch: number, embeddings: tf.Tensor2D | null, keep: tf.Tensor2D | null): tf.Tensor2D {
    const nullEmbedding = tf.broadcastTo(this.params['cond_null/w'], [batch, this.config.clipDim]) as tf.Tensor2D;
    if (embeddings === null) return nullEmbedding;
    // CLIP embeddings have unit norm, so each component is about 1/√d; scaling by √d gives
    // the projections inputs of the size their He initialisation assumes.
    const scaled = tf.mul(embeddings, Math.sqrt(this.config.clipDim)) as tf.Tensor2D;
    if (keep === null) return scaled;
    return tf.add(tf.mul(scaled, keep), tf.mul(nullEmbedding, tf.sub(1, keep))) as tf.Tensor2D;
  }

  /** Computes the vector every residual block reads: timestep MLP plus embedding MLP, [b, embedWidth]. */
  private blockVector(timesteps: ArrayLike<number>, condition: tf.Tensor2D): tf.Tensor2D {
    const p = this.params;
    const time = dense(p, 'time2', tf.relu(dense(p, 'time1', timestepFeatures(timesteps))));
    const embedding = dense(p, 'cond2', tf.relu(dense(p, 'cond1', condition)));
    return tf.relu(tf.add(time, embedding)) as tf.Tensor2D;
  }

  /** h ← h·(1 + scale) + shift, with both read from the block vector; then the second conv. */
  private residual(name: string, x: tf.Tensor4D, vector: tf.Tensor2D): tf.Tensor4D {
    const p = this.params;
    const channels = x.shape[3];
    const [scale, shift] = tf.split(tf.reshape(dense(p, `${name}/emb`, vector), [-1, 1, 1, 2 * channels]), 2, 3);
    let h = tf.relu(conv(p, `${name}/conv1`, x));
    h = tf.add(tf.mul(h, tf.add(scale, 1)), shift);
    h = conv(p, `${name}/conv2`, tf.relu(h));
    return tf.add(x, h);
  }

  /**
   * Predicted noise ε̂ [b, 28, 28, 1] for x_t [b, 28, 28, 1] at integer `timesteps` [b].
   * `embeddings` null means unconditional (the null embedding); `keep` [b, 1] of 0s and 1s
   * mixes both per example during training.
   */
  predictNoise(xt: tf.Tensor4D, timesteps: ArrayLike<number>, embeddings: tf.Tensor2D | null, keep: tf.Tensor2D | null = null): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.params;
      const c3 = this.config.channels[2];
      const condition = this.condition(xt.shape[0], embeddings, keep);
      const e = this.blockVector(timesteps, condition);
      const map = tf.reshape(dense(p, 'cond_map', condition), [-1, 7, 7, c3]);
      const h1 = this.residual('down1', conv(p, 'in', xt), e); // [b, 28, 28, c1]
      const h2 = this.residual('down2', tf.relu(conv(p, 'down1_pool', h1, 2)), e); // [b, 14, 14, c2]
      let h = this.residual('mid1', tf.add(tf.relu(conv(p, 'down2_pool', h2, 2)), map) as tf.Tensor4D, e); // [b, 7, 7, c3]
      h = this.residual('mid2', h, e);
      h = tf.relu(conv(p, 'up2_merge', tf.concat([upsample2x(h), h2], 3)));
      h = this.residual('up2', h, e); // [b, 14, 14, c2]
      h = tf.relu(conv(p, 'up1_merge', tf.concat([upsample2x(h), h1], 3)));
      h = this.residual('up1', h, e); // [b, 28, 28, c1]
      return conv(p, 'out', h);
    });
  }

  /**
   * Training loss: mean squared error of the predicted noise (DDPM's simplified objective,
   * Ho et al. 2020, Eq. 14) at uniform random timesteps. `embed` gives the CLIP image
   * embeddings of a batch's pixels and is not trained. `seed` and the step fix t, ε and
   * which examples lose their conditioning.
   */
  lossFunction(embed: (images: tf.Tensor4D) => tf.Tensor2D, seed: number): LossFunction {
    return (batch: Batch, step: number) => {
      const rng = new Rng(deriveSeed(seed, step));
      const timesteps = Int32Array.from({ length: batch.size }, () => Math.floor(rng.next() * this.config.diffusionSteps));
      const keepValues = Float32Array.from({ length: batch.size }, () => (rng.next() < this.config.conditionDropout ? 0 : 1));

      const pixels = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
      const embeddings = tf.tidy(() => embed(pixels));
      const x0 = toDataRange(pixels) as tf.Tensor4D;
      const noise = tf.randomNormal(x0.shape, 0, 1, 'float32', rng.seed()) as tf.Tensor4D;
      const xt = qSample(this.schedule, x0, timesteps, noise) as tf.Tensor4D;
      const predicted = this.predictNoise(xt, timesteps, embeddings, tf.tensor2d(keepValues, [batch.size, 1]));
      const loss = tf.mean(tf.square(tf.sub(predicted, noise))) as tf.Scalar;
      return { total: loss, terms: { noiseMse: loss } };
    };
  }

  /**
   * Draws images for CLIP image embeddings with DDPM or DDIM and classifier-free guidance.
   * Resolves with pixels [count, 28, 28, 1] in [0, 1] (owned by the caller) and the run's facts.
   */
  async sample(options: DecoderSampleOptions): Promise<Omit<SamplerResult, 'sample'> & { images: tf.Tensor4D }> {
    const count = options.embeddings.shape[0];
    const embeddings = options.embeddings;
    const result = await sampleDiffusion(
      this.schedule,
      (xt, t, conditioned) => this.predictNoise(xt as tf.Tensor4D, new Int32Array(count).fill(t), conditioned ? embeddings : null),
      [count, 28, 28, 1],
      { ...options, parameterization: 'epsilon', clipX0: [-1, 1] },
    );
    const images = tf.tidy(() => toPixels(result.sample) as tf.Tensor4D);
    result.sample.dispose();
    return { images, timesteps: result.timesteps, interrupted: result.interrupted };
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }
}
