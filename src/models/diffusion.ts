/**
 * Diffusion core, independent of any network: noise schedules, the forward process
 * q(x_t | x_0), and the reverse samplers DDPM (ancestral) and DDIM with a chosen number of
 * steps and η, with classifier-free guidance. The network enters only as a function that
 * maps (x_t, t, conditioned?) to its prediction of the noise ε or of the clean x_0.
 *
 * Sources: Ho et al. 2020, "Denoising Diffusion Probabilistic Models" (DDPM), Eq. 4 for
 * q(x_t | x_0), Eq. 6–7 for the posterior q(x_{t−1} | x_t, x_0), Section 4 for the linear
 * schedule 1e-4 … 0.02 over T = 1000. Nichol & Dhariwal 2021, "Improved Denoising Diffusion
 * Probabilistic Models", Eq. 17 for the cosine schedule with s = 0.008 and β capped at 0.999.
 * Song et al. 2021, "Denoising Diffusion Implicit Models", Eq. 12 and 16 for DDIM and its σ(η).
 * Ho & Salimans 2021, "Classifier-Free Diffusion Guidance", Eq. 6 for the guided prediction.
 *
 * Timesteps t run from 0 (least noise) to T − 1 (most noise), and ᾱ_t is the signal share
 * after step t, so ᾱ_{−1} = 1 stands for clean data.
 */
import * as tf from './tf';
import { deriveSeed } from './data/rng';
import { alphaBarAt, samplingTimesteps, type NoiseSchedule } from './diffusion-schedule';

export { alphaBarAt, makeSchedule, samplingTimesteps, signalToNoise, type NoiseSchedule, type ScheduleKind } from './diffusion-schedule';

function checkTimestep(schedule: NoiseSchedule, t: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= schedule.steps) {
    throw new RangeError(`Timestep ${t} is outside 0 … ${schedule.steps - 1}.`);
  }
}

/**
 * Draws x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with the given noise:
 * x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε. `timesteps` contains one t per example (the first axis).
 */
export function qSample(schedule: NoiseSchedule, x0: tf.Tensor, timesteps: ArrayLike<number>, noise: tf.Tensor): tf.Tensor {
  const batch = x0.shape[0]!;
  if (timesteps.length !== batch) throw new Error(`qSample needs one timestep per example: ${batch} examples, ${timesteps.length} timesteps.`);
  const signal = new Float32Array(batch);
  const spread = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    checkTimestep(schedule, timesteps[i]);
    signal[i] = Math.sqrt(schedule.alphaBars[timesteps[i]]);
    spread[i] = Math.sqrt(1 - schedule.alphaBars[timesteps[i]]);
  }
  return tf.tidy(() => {
    const perExample = [batch, ...x0.shape.slice(1).map(() => 1)];
    return tf.add(tf.mul(x0, tf.tensor(signal, perExample)), tf.mul(noise, tf.tensor(spread, perExample)));
  });
}

/** The target a denoiser predicts: the noise ε (DDPM's choice) or the clean sample x_0 (unCLIP's prior). */
export type Parameterization = 'epsilon' | 'x0';

/**
 * Converts a prediction at timestep t into both forms: x̂_0 = (x_t − √(1−ᾱ) ε̂) / √ᾱ and
 * ε̂ = (x_t − √ᾱ x̂_0) / √(1−ᾱ).
 */
export function bothPredictions(
  schedule: NoiseSchedule,
  xt: tf.Tensor,
  t: number,
  output: tf.Tensor,
  parameterization: Parameterization,
): { x0: tf.Tensor; epsilon: tf.Tensor } {
  const a = schedule.alphaBars[t];
  return tf.tidy(() => {
    if (parameterization === 'epsilon') {
      const x0 = tf.div(tf.sub(xt, tf.mul(output, Math.sqrt(1 - a))), Math.sqrt(a));
      return { x0, epsilon: tf.clone(output) };
    }
    const epsilon = tf.div(tf.sub(xt, tf.mul(output, Math.sqrt(a))), Math.sqrt(1 - a));
    return { x0: tf.clone(output), epsilon };
  });
}

/**
 * Classifier-free guidance: ε̃ = ε_u + w (ε_c − ε_u), with w = 1 giving the conditional
 * prediction and w = 0 the unconditional one (Ho & Salimans 2021 write (1 + w') ε_c − w' ε_u,
 * the same with w = 1 + w').
 */
export function guide(conditional: tf.Tensor, unconditional: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => tf.add(unconditional, tf.mul(tf.sub(conditional, unconditional), scale)));
}

/**
 * The network: maps a batch x_t at timestep t to its prediction (of ε or x_0, see
 * `Parameterization`). With `conditioned` false it must drop the conditioning, as it was
 * trained to for classifier-free guidance. The caller owns the returned tensor.
 */
export type Denoiser = (xt: tf.Tensor, t: number, conditioned: boolean) => tf.Tensor;

export interface SamplerOptions {
  /** 'ddpm' draws from the posterior at every visited step, 'ddim' follows Eq. 12 with `eta`. */
  method: 'ddpm' | 'ddim';
  /** Number of denoising steps, 1 … T; fewer skip timesteps evenly. */
  steps: number;
  /** DDIM's η: 0 is deterministic, 1 matches DDPM's variance. Ignored by 'ddpm'. */
  eta?: number;
  /** Classifier-free guidance scale w; 1 (the default) uses the conditional prediction alone. */
  guidanceScale?: number;
  parameterization: Parameterization;
  /** Seed of the starting noise and of every step's noise. */
  seed: number;
  /** Range that x̂_0 is clipped to at every step, e.g. [0, 1] for pixels. None by default. */
  clipX0?: [number, number];
  /**
   * Called after each step with copies of x_{t_prev} and x̂_0. Returning false stops the
   * sampler, which then resolves with the state so far and `interrupted: true`.
   */
  onStep?: (step: SamplerStep) => boolean | void | Promise<boolean | void>;
}

export interface SamplerStep {
  /** Index of this step, 0 for the first (noisiest). */
  index: number;
  /** Number of steps in the run. */
  count: number;
  /** The timestep just denoised. */
  t: number;
  /** The new, less noisy sample, as plain values. */
  sample: Float32Array;
  /** The prediction of the clean sample at this step. */
  predictedX0: Float32Array;
}

export interface SamplerResult {
  /** The final sample (x_0), or the last state when interrupted. */
  sample: tf.Tensor;
  /** The timesteps visited, noisiest first. */
  timesteps: number[];
  interrupted: boolean;
}

/** Raised when a sample turns to NaN or infinity, which a diverged network can cause. */
export class NonFiniteSampleError extends Error {
  constructor(readonly step: number) {
    super(`Sampling produced NaN or infinite values at step ${step}. The weights may have diverged: reload the pretrained model.`);
    this.name = 'NonFiniteSampleError';
  }
}

/**
 * Takes one reverse step from timestep t to `previous` (−1 for clean data) given x̂_0 and ε̂.
 * DDIM (Song et al. 2021, Eq. 12): x_prev = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev − σ²) ε̂ + σ z with
 * σ = η √((1 − ᾱ_prev) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_prev). DDPM draws from the posterior
 * q(x_prev | x_t, x̂_0), whose variance is σ² at η = 1, so it is written as that case.
 */
export function reverseStep(
  schedule: NoiseSchedule,
  t: number,
  previous: number,
  x0: tf.Tensor,
  epsilon: tf.Tensor,
  eta: number,
  noise: tf.Tensor | null,
): tf.Tensor {
  const a = schedule.alphaBars[t];
  const aPrev = alphaBarAt(schedule, previous);
  const sigma = previous < 0 ? 0 : eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(1 - a / aPrev);
  const direction = Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma));
  return tf.tidy(() => {
    let next = tf.add(tf.mul(x0, Math.sqrt(aPrev)), tf.mul(epsilon, direction));
    if (sigma > 0 && noise !== null) next = tf.add(next, tf.mul(noise, sigma));
    return next;
  });
}

/**
 * Draws samples of `shape` (batch first) by running the reverse process from pure noise.
 * Every intermediate tensor is disposed; the caller owns `result.sample`. The same seed,
 * options and weights give the same samples on the same backend.
 */
export async function sampleDiffusion(schedule: NoiseSchedule, denoiser: Denoiser, shape: number[], options: SamplerOptions): Promise<SamplerResult> {
  const eta = options.method === 'ddpm' ? 1 : (options.eta ?? 0);
  if (!(eta >= 0 && eta <= 1)) throw new RangeError(`DDIM's η must be between 0 and 1, got ${options.eta}.`);
  const scale = options.guidanceScale ?? 1;
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError(`The guidance scale must be a finite number ≥ 0, got ${scale}.`);
  const timesteps = samplingTimesteps(schedule, options.steps);

  let x = tf.randomNormal(shape, 0, 1, 'float32', deriveSeed(options.seed, 0xffff));
  let interrupted = false;
  try {
    for (let index = 0; index < timesteps.length; index++) {
      const t = timesteps[index];
      const previous = index + 1 < timesteps.length ? timesteps[index + 1] : -1;
      const current = x;
      const { next, x0, outputFinite } = tf.tidy(() => {
        let output = denoiser(current, t, true);
        if (scale !== 1) output = guide(output, denoiser(current, t, false), scale);
        // Checked before any clipping: tfjs-wasm's clipByValue turns NaN into the lower bound.
        const rawFinite = tf.all(tf.isFinite(output));
        let predictions = bothPredictions(schedule, current, t, output, options.parameterization);
        if (options.clipX0) {
          // Clipping x̂_0 changes it, so ε̂ is recomputed from the clipped value to stay consistent.
          const clipped = tf.clipByValue(predictions.x0, options.clipX0[0], options.clipX0[1]);
          predictions = bothPredictions(schedule, current, t, clipped, 'x0');
        }
        const noise = previous >= 0 && eta > 0 ? tf.randomNormal(shape, 0, 1, 'float32', deriveSeed(options.seed, index)) : null;
        const stepped = reverseStep(schedule, t, previous, predictions.x0, predictions.epsilon, eta, noise);
        return { next: stepped, x0: predictions.x0, outputFinite: tf.logicalAnd(rawFinite, tf.all(tf.isFinite(stepped))) };
      });
      x = next;
      current.dispose();

      const isFinite = (await outputFinite.data())[0] === 1;
      outputFinite.dispose();
      if (!isFinite) {
        x0.dispose();
        throw new NonFiniteSampleError(index);
      }
      if (options.onStep) {
        const [sampleValues, x0Values] = await Promise.all([next.data() as Promise<Float32Array>, x0.data() as Promise<Float32Array>]);
        x0.dispose();
        const keepGoing = await options.onStep({ index, count: timesteps.length, t, sample: sampleValues.slice(), predictedX0: x0Values.slice() });
        if (keepGoing === false && previous >= 0) {
          interrupted = true;
          break;
        }
      } else {
        x0.dispose();
      }
    }
  } catch (error) {
    x.dispose();
    throw error;
  }
  return { sample: x, timesteps, interrupted };
}
