/**
 * Noise schedules of the diffusion models and the timesteps a sampler visits, as plain
 * numbers without TensorFlow.js, so pages can plot them without loading a backend.
 * Sources are listed in diffusion.ts, which re-exports everything here.
 */
export type ScheduleKind = 'linear' | 'cosine';

export interface NoiseSchedule {
  kind: ScheduleKind;
  /** Number of diffusion steps T. */
  steps: number;
  /** β_t, the noise variance added at step t, t = 0 … T − 1. */
  betas: Float64Array;
  /** ᾱ_t = Π_{s ≤ t} (1 − β_s), falling from near 1 to near 0. */
  alphaBars: Float64Array;
}

/** Offset s of the cosine schedule, which keeps β_0 from being vanishingly small. */
const COSINE_OFFSET = 0.008;
/** Largest β the cosine schedule allows, so the last steps do not divide by zero. */
const MAX_BETA = 0.999;

/**
 * Builds a schedule of `steps` steps. The linear schedule scales DDPM's 1e-4 … 0.02 by
 * 1000 / steps, so a shorter chain still ends near pure noise (the scaling Nichol & Dhariwal
 * 2021 use in their code for other T).
 */
export function makeSchedule(kind: ScheduleKind, steps: number): NoiseSchedule {
  if (!Number.isInteger(steps) || steps < 1 || steps > 10_000) {
    throw new RangeError(`A noise schedule needs a whole number of steps from 1 to 10000, got ${steps}.`);
  }
  const betas = new Float64Array(steps);
  if (kind === 'linear') {
    const scale = 1000 / steps;
    const first = 1e-4 * scale;
    const last = Math.min(0.02 * scale, MAX_BETA);
    for (let t = 0; t < steps; t++) betas[t] = steps === 1 ? last : first + ((last - first) * t) / (steps - 1);
  } else if (kind === 'cosine') {
    const f = (t: number) => Math.cos(((t / steps + COSINE_OFFSET) / (1 + COSINE_OFFSET)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < steps; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), MAX_BETA);
  } else {
    throw new RangeError(`Unknown noise schedule "${String(kind)}": use linear or cosine.`);
  }
  const alphaBars = new Float64Array(steps);
  let product = 1;
  for (let t = 0; t < steps; t++) {
    product *= 1 - betas[t];
    alphaBars[t] = product;
  }
  return { kind, steps, betas, alphaBars };
}

/** Returns ᾱ at timestep t, with ᾱ_{−1} = 1 for clean data. */
export function alphaBarAt(schedule: NoiseSchedule, t: number): number {
  return t < 0 ? 1 : schedule.alphaBars[t];
}

/** Returns the signal-to-noise ratio ᾱ_t / (1 − ᾱ_t) at every timestep. */
export function signalToNoise(schedule: NoiseSchedule): Float64Array {
  return schedule.alphaBars.map((a) => a / (1 - a));
}


/**
 * Returns the timesteps a sampler visits, from T − 1 down to 0, evenly spaced: `count` of them
 * (DDIM's sub-sequence τ). Rounding may merge neighbours, so fewer can come back when
 * `count` is close to T.
 */
export function samplingTimesteps(schedule: NoiseSchedule, count: number): number[] {
  if (!Number.isInteger(count) || count < 1 || count > schedule.steps) {
    throw new RangeError(`The number of sampling steps must be a whole number from 1 to ${schedule.steps}, got ${count}.`);
  }
  if (count === 1) return [schedule.steps - 1];
  const steps: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = Math.round(((schedule.steps - 1) * (count - 1 - i)) / (count - 1));
    if (steps.at(-1) !== t) steps.push(t);
  }
  return steps;
}

