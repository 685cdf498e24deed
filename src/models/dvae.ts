/**
 * Discrete VAE: the image tokenizer of DALL·E (Ramesh et al. 2021, "Zero-Shot
 * Text-to-Image Generation", Section 2.1), shrunk from 256×256 RGB → 32×32 tokens over
 * 8,192 codes to 28×28 MNIST → 7×7 tokens over `codebookSize` codes.
 *
 *   encoder: image [b, 28, 28, 1] → conv stack (two stride-2 convs) → 1×1 conv
 *            → logits [b, 7, 7, K] over the codebook
 *   relaxation (training): y = softmax((logits + gumbel) / τ), τ cosine-annealed 1 → 1/16
 *   tokens (inference): argmax over K → [b, 7, 7] integers
 *   decoder: one-hot or relaxed tokens [b, 7, 7, K] → 1×1 conv (the codebook embeddings)
 *            → conv stack with 2× nearest upsampling → Bernoulli logits [b, 28, 28, 1]
 *
 * Loss per image (nats): −log p(x | y) + β · KL(q(y | x) ‖ uniform over K), summed over
 * pixels and grid positions and averaged over the batch. β ramps from 0 during training.
 */
import * as tf from './tf';
import { conv, convShapes, initParams, upsample2x, type ParamShapes, type Params } from './nn';
import type { Batch } from './data/batches';
import type { LossFunction } from './trainer';
import { deriveSeed } from './data/rng';

export const DVAE_NAME = 'dvae';
export const GRID_SIZE = 7;

export interface DvaeConfig {
  /** K, the number of codes; DALL·E uses 8,192. */
  codebookSize: number;
  /** Encoder widths at 28×28, 14×14 and 7×7; the decoder mirrors them. */
  channels: [number, number, number];
}

export const DEFAULT_DVAE_CONFIG: DvaeConfig = {
  codebookSize: 128,
  channels: [16, 32, 64],
};

/** Schedules of the relaxation; defaults follow DALL·E's shapes scaled to short runs. */
export interface DvaeSchedule {
  temperatureStart: number;
  temperatureEnd: number;
  /** Steps over which τ is cosine-annealed from start to end, then held. */
  temperatureSteps: number;
  /** Final KL weight β. */
  klWeight: number;
  /** Steps over which β is cosine-ramped from 0 to `klWeight`, then held. */
  klWarmupSteps: number;
}

export const DEFAULT_DVAE_SCHEDULE: DvaeSchedule = {
  temperatureStart: 1,
  temperatureEnd: 1 / 16,
  temperatureSteps: 3000,
  klWeight: 1,
  klWarmupSteps: 500,
};

/** Cosine interpolation from `from` (step 0) to `to` (step ≥ `steps`). */
export function cosineAnneal(step: number, steps: number, from: number, to: number): number {
  const progress = Math.min(1, Math.max(0, step / Math.max(1, steps)));
  return to + 0.5 * (from - to) * (1 + Math.cos(Math.PI * progress));
}

export function temperatureAt(step: number, schedule: DvaeSchedule): number {
  return cosineAnneal(step, schedule.temperatureSteps, schedule.temperatureStart, schedule.temperatureEnd);
}

export function klWeightAt(step: number, schedule: DvaeSchedule): number {
  return cosineAnneal(step, schedule.klWarmupSteps, 0, schedule.klWeight);
}

export function dvaeShapes(config: DvaeConfig): ParamShapes {
  const [c1, c2, c3] = config.channels;
  const k = config.codebookSize;
  return {
    ...convShapes('enc1', 3, 1, c1),
    ...convShapes('enc2', 3, c1, c2),
    ...convShapes('enc3', 3, c2, c3),
    ...convShapes('enc_logits', 1, c3, k),
    ...convShapes('dec_codebook', 1, k, c3),
    ...convShapes('dec1', 3, c3, c3),
    ...convShapes('dec2', 3, c3, c2),
    ...convShapes('dec3', 3, c2, c1),
    ...convShapes('dec_out', 3, c1, 1),
  };
}

export class Dvae {
  readonly params: Params;

  constructor(
    readonly config: DvaeConfig = DEFAULT_DVAE_CONFIG,
    seed = 0,
  ) {
    if (!Number.isInteger(config.codebookSize) || config.codebookSize < 2) {
      throw new Error(`dVAE codebook size must be an integer ≥ 2, got ${config.codebookSize}.`);
    }
    this.params = initParams(dvaeShapes(config), seed);
  }

  /** Logits over the codebook at each grid position: [b, 28, 28, 1] → [b, 7, 7, K]. */
  encode(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.params;
      let h = tf.relu(conv(p, 'enc1', images)); // [b, 28, 28, c1]
      h = tf.relu(conv(p, 'enc2', h, 2)); // [b, 14, 14, c2]
      h = tf.relu(conv(p, 'enc3', h, 2)); // [b, 7, 7, c3]
      return conv(p, 'enc_logits', h); // [b, 7, 7, K]
    });
  }

  /** Bernoulli logits of the pixels from one-hot or relaxed tokens: [b, 7, 7, K] → [b, 28, 28, 1]. */
  decode(tokenDistribution: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.params;
      let h = conv(p, 'dec_codebook', tokenDistribution); // [b, 7, 7, c3]
      h = tf.relu(conv(p, 'dec1', h)); // [b, 7, 7, c3]
      h = tf.relu(conv(p, 'dec2', upsample2x(h))); // [b, 14, 14, c2]
      h = tf.relu(conv(p, 'dec3', upsample2x(h))); // [b, 28, 28, c1]
      return conv(p, 'dec_out', h); // [b, 28, 28, 1]
    });
  }

  /** Hard tokenisation: the most likely code at each position, [b, 7, 7] int32. */
  tokenize(images: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => tf.argMax(this.encode(images), 3) as tf.Tensor3D);
  }

  /** Pixels in [0, 1] decoded from a token grid [b, 7, 7] int32 → [b, 28, 28, 1]. */
  decodeTokens(tokens: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const oneHot = tf.cast(tf.oneHot(tokens, this.config.codebookSize), 'float32') as tf.Tensor4D;
      return tf.sigmoid(this.decode(oneHot));
    });
  }

  /** Tokenises then decodes: the reconstruction the widgets show, [b, 28, 28, 1] in [0, 1]. */
  reconstruct(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decodeTokens(this.tokenize(images)));
  }

  /**
   * Gumbel-softmax sample of the relaxed tokens at temperature τ (Jang et al. 2016;
   * Maddison et al. 2016): softmax((logits + g) / τ) with g = −log(−log u), u ~ U(0, 1).
   */
  relax(logits: tf.Tensor4D, temperature: number, seed: number): tf.Tensor4D {
    return tf.tidy(() => {
      const u = tf.randomUniform(logits.shape, 1e-6, 1 - 1e-6, 'float32', seed);
      const gumbel = tf.neg(tf.log(tf.neg(tf.log(u))));
      return tf.softmax(tf.div(tf.add(logits, gumbel), temperature)) as tf.Tensor4D;
    });
  }

  /** Training loss with the relaxation; `seed` and the step fix the Gumbel noise. */
  lossFunction(schedule: DvaeSchedule, seed: number): LossFunction {
    const k = this.config.codebookSize;
    return (batch: Batch, step: number) => {
      const temperature = temperatureAt(step, schedule);
      const klWeight = klWeightAt(step, schedule);
      const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);

      const logits = this.encode(images);
      const relaxed = this.relax(logits, temperature, deriveSeed(seed, step));
      const pixelLogits = this.decode(relaxed);

      // −log p(x | y) for Bernoulli pixels, computed stably from logits l:
      // max(l, 0) − l·x + log(1 + exp(−|l|)), summed over the 784 pixels.
      const perPixel = tf.add(tf.sub(tf.relu(pixelLogits), tf.mul(pixelLogits, images)), tf.log1p(tf.exp(tf.neg(tf.abs(pixelLogits)))));
      const reconstruction = tf.div(tf.sum(perPixel), batch.size) as tf.Scalar;

      // KL(q ‖ uniform) = Σ q log q + log K at each of the 49 positions, summed.
      const logQ = tf.logSoftmax(logits);
      const perPosition = tf.add(tf.sum(tf.mul(tf.exp(logQ), logQ), -1), Math.log(k));
      const kl = tf.div(tf.sum(perPosition), batch.size) as tf.Scalar;

      const total = tf.add(reconstruction, tf.mul(kl, klWeight)) as tf.Scalar;
      return {
        total,
        terms: { reconstruction, kl, temperature: tf.scalar(temperature), klWeight: tf.scalar(klWeight) },
      };
    };
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }
}
