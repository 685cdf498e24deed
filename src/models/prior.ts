/**
 * unCLIP's diffusion prior in miniature (Ramesh et al. 2022, "Hierarchical Text-Conditional
 * Image Generation with CLIP Latents", Section 2.2): it turns a caption's CLIP text embedding
 * into a CLIP image embedding by denoising, and, as in the paper, predicts the clean
 * embedding z_0 directly with a mean squared error loss instead of predicting the noise. At
 * sampling time it draws two candidates and keeps the one with the larger dot product with
 * the text embedding, as the paper does.
 *
 * The paper's prior is a decoder-only transformer over a sequence of tokens (text, text
 * embedding, timestep, noisy image embedding). This one is a residual MLP over their
 * concatenation, because the inputs here are three short vectors of 64 and 32 numbers.
 *
 * Embeddings are unit vectors, whose coordinates are about 1/√d. The diffusion runs on
 * √d · z so coordinates have unit scale like the noise, and samples are normalised back.
 */
import * as tf from './tf';
import type { Batch } from './data/batches';
import { deriveSeed, Rng } from './data/rng';
import { makeSchedule, qSample, sampleDiffusion, type NoiseSchedule, type SamplerOptions, type ScheduleKind } from './diffusion';
import { timestepFeatures } from './decoder';
import { dense, denseShapes, initParams, type ParamShapes, type Params } from './nn';
import type { LossFunction } from './trainer';

export interface PriorConfig {
  /** Dimension of the CLIP embeddings. */
  clipDim: number;
  /** Width of the hidden layers. */
  width: number;
  /** Residual blocks (two dense layers each). */
  blocks: number;
  diffusionSteps: number;
  schedule: ScheduleKind;
  /** Share of training examples whose text embedding is replaced by the null vector. */
  conditionDropout: number;
}

export const DEFAULT_PRIOR_CONFIG: PriorConfig = {
  clipDim: 64,
  width: 256,
  blocks: 3,
  diffusionSteps: 100,
  schedule: 'cosine',
  conditionDropout: 0.1,
};

/** Width of the sinusoidal timestep features, as in decoder.ts. */
const TIME_FEATURES = 32;

export function priorShapes(config: PriorConfig): ParamShapes {
  const shapes: ParamShapes = {
    'text_null/w': [1, config.clipDim],
    ...denseShapes('in', 2 * config.clipDim + TIME_FEATURES, config.width),
    ...denseShapes('out', config.width, config.clipDim),
  };
  for (let block = 0; block < config.blocks; block++) {
    Object.assign(shapes, denseShapes(`block${block}/fc1`, config.width, config.width), denseShapes(`block${block}/fc2`, config.width, config.width));
  }
  return shapes;
}

export interface PriorSampleOptions extends Omit<SamplerOptions, 'parameterization' | 'clipX0' | 'onStep'> {
  /** Unit text embeddings [count, clipDim]; the caller keeps ownership. */
  textEmbeddings: tf.Tensor2D;
  /** Candidates drawn per text; the one with the largest dot product with its text wins. Default 2. */
  candidates?: number;
}

export class Prior {
  readonly params: Params;
  readonly schedule: NoiseSchedule;

  constructor(
    readonly config: PriorConfig = DEFAULT_PRIOR_CONFIG,
    seed = 0,
  ) {
    if (!(config.conditionDropout >= 0 && config.conditionDropout < 1)) {
      throw new RangeError(`conditionDropout must be in [0, 1), got ${config.conditionDropout}.`);
    }
    this.params = initParams(priorShapes(config), seed);
    // Residual branches start at zero, as in decoder.ts, so the untrained MLP stays well scaled.
    tf.tidy(() => {
      for (const [name, variable] of Object.entries(this.params)) {
        if (name.endsWith('/fc2/w')) variable.assign(tf.zerosLike(variable));
      }
    });
    this.schedule = makeSchedule(config.schedule, config.diffusionSteps);
  }

  /** Scale between unit embeddings and the diffusion's data range. */
  get scale(): number {
    return Math.sqrt(this.config.clipDim);
  }

  /**
   * Predicted clean, scaled image embedding [b, clipDim] from the noisy one z_t [b, clipDim]
   * at `timesteps` [b]. `textEmbeddings` null means unconditional; `keep` [b, 1] of 0s and
   * 1s mixes both per example during training.
   */
  predictClean(zt: tf.Tensor2D, timesteps: ArrayLike<number>, textEmbeddings: tf.Tensor2D | null, keep: tf.Tensor2D | null = null): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.params;
      const batch = timesteps.length;
      const nullText = tf.broadcastTo(p['text_null/w'], [batch, this.config.clipDim]);
      let text: tf.Tensor = nullText;
      if (textEmbeddings !== null) {
        const scaled = tf.mul(textEmbeddings, this.scale);
        text = keep === null ? scaled : tf.add(tf.mul(scaled, keep), tf.mul(nullText, tf.sub(1, keep)));
      }
      let h = tf.relu(dense(p, 'in', tf.concat([zt, text as tf.Tensor2D, timestepFeatures(timesteps)], 1)));
      for (let block = 0; block < this.config.blocks; block++) {
        const inner = tf.relu(dense(p, `block${block}/fc1`, h));
        h = tf.relu(tf.add(h, dense(p, `block${block}/fc2`, inner))) as tf.Tensor2D;
      }
      return dense(p, 'out', h);
    });
  }

  /**
   * Training loss: ‖ẑ_0 − z_0‖² per coordinate at uniform random timesteps. `embed` maps a
   * batch to its unit CLIP image and caption embeddings (CLIP is not trained). `seed` and
   * the step fix t, the noise and which examples lose their text.
   */
  lossFunction(embed: (batch: Batch, step: number) => { images: tf.Tensor2D; texts: tf.Tensor2D }, seed: number): LossFunction {
    return (batch: Batch, step: number) => {
      const rng = new Rng(deriveSeed(seed, step));
      const timesteps = Int32Array.from({ length: batch.size }, () => Math.floor(rng.next() * this.config.diffusionSteps));
      const keepValues = Float32Array.from({ length: batch.size }, () => (rng.next() < this.config.conditionDropout ? 0 : 1));

      const { images, texts } = tf.tidy(() => embed(batch, step));
      const z0 = tf.mul(images, this.scale) as tf.Tensor2D;
      const noise = tf.randomNormal(z0.shape, 0, 1, 'float32', rng.seed());
      const zt = qSample(this.schedule, z0, timesteps, noise) as tf.Tensor2D;
      const predicted = this.predictClean(zt, timesteps, texts, tf.tensor2d(keepValues, [batch.size, 1]));
      const loss = tf.mean(tf.square(tf.sub(predicted, z0))) as tf.Scalar;
      // Cosine between the prediction and the true image embedding, a readable progress figure.
      const cosine = tf.mean(tf.sum(tf.mul(tf.div(predicted, tf.norm(predicted, 2, 1, true)), images), 1)) as tf.Scalar;
      return { total: loss, terms: { embeddingMse: loss, cosine } };
    };
  }

  /**
   * Samples unit image embeddings [count, clipDim] for text embeddings, drawing `candidates`
   * per text and keeping the one with the largest dot product with its text. The caller
   * owns the returned tensor.
   */
  async sample(options: PriorSampleOptions): Promise<tf.Tensor2D> {
    const candidates = options.candidates ?? 2;
    if (!Number.isInteger(candidates) || candidates < 1) throw new RangeError(`The prior needs at least one candidate per text, got ${candidates}.`);
    const count = options.textEmbeddings.shape[0];
    const total = count * candidates;
    // Candidate c of text i sits at row c·count + i.
    const texts = tf.tidy(() => tf.tile(options.textEmbeddings, [candidates, 1]) as tf.Tensor2D);
    try {
      const result = await sampleDiffusion(
        this.schedule,
        (zt, t, conditioned) => this.predictClean(zt as tf.Tensor2D, new Int32Array(total).fill(t), conditioned ? texts : null),
        [total, this.config.clipDim],
        { ...options, parameterization: 'x0' },
      );
      return tf.tidy(() => {
        const unit = tf.div(result.sample, tf.norm(result.sample, 2, 1, true)) as tf.Tensor2D;
        result.sample.dispose();
        const scores = tf.reshape(tf.sum(tf.mul(unit, texts), 1), [candidates, count]);
        const best = tf.argMax(scores, 0); // [count], the winning candidate of each text
        const rows = tf.add(tf.mul(best, tf.scalar(count, 'int32')), tf.range(0, count, 1, 'int32'));
        return tf.gather(unit, rows) as tf.Tensor2D;
      });
    } finally {
      texts.dispose();
    }
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }
}
