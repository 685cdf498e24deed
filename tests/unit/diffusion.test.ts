/**
 * The diffusion core on its own: schedules, the forward process, the reverse step against
 * DDPM's posterior in closed form, and the samplers driven by an oracle denoiser built from
 * the one clean sample, so that the right sampler must land on it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import {
  bothPredictions,
  guide,
  makeSchedule,
  NonFiniteSampleError,
  qSample,
  reverseStep,
  sampleDiffusion,
  samplingTimesteps,
  signalToNoise,
  type Denoiser,
  type NoiseSchedule,
} from '../../src/models/diffusion';
import { backend } from './helpers';

beforeAll(async () => {
  await backend('cpu');
});

const TARGET = [0.2, -0.5, 0.9, 0.0];

/** Builds a denoiser that predicts the noise that leads from TARGET to x_t exactly. */
function oracle(schedule: NoiseSchedule): Denoiser {
  return (xt, t) =>
    tf.tidy(() => {
      const a = schedule.alphaBars[t];
      const target = tf.broadcastTo(tf.tensor(TARGET, [1, 4]), xt.shape);
      return tf.div(tf.sub(xt, tf.mul(target, Math.sqrt(a))), Math.sqrt(1 - a));
    });
}

describe('noise schedules', () => {
  for (const kind of ['linear', 'cosine'] as const) {
    it(`${kind} ᾱ falls monotonically`, () => {
      const schedule = makeSchedule(kind, 200);
      for (let t = 1; t < 200; t++) expect(schedule.alphaBars[t]).toBeLessThan(schedule.alphaBars[t - 1]);
      expect(schedule.alphaBars[0]).toBeGreaterThan(0.99);
      expect(schedule.alphaBars[199]).toBeLessThan(0.01);
      const snr = signalToNoise(schedule);
      expect(snr[0]).toBeGreaterThan(snr[199]);
    });
  }

  it('linear schedule at T=1000 is DDPM’s', () => {
    const schedule = makeSchedule('linear', 1000);
    expect(schedule.betas[0]).toBeCloseTo(1e-4, 10);
    expect(schedule.betas[999]).toBeCloseTo(0.02, 10);
  });

  it('cosine schedule follows its closed form', () => {
    const schedule = makeSchedule('cosine', 100);
    const f = (t: number) => Math.cos(((t / 100 + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(schedule.alphaBars[49]).toBeCloseTo(f(50) / f(0), 10);
  });

  it('rejects bad step counts and kinds', () => {
    expect(() => makeSchedule('linear', 0)).toThrow(/whole number/);
    expect(() => makeSchedule('quadratic' as never, 10)).toThrow(/Unknown noise schedule/);
  });
});

describe('forward process', () => {
  it('qSample matches the closed form', () => {
    const schedule = makeSchedule('cosine', 50);
    const x0 = tf.tensor([
      [1, 2],
      [3, 4],
    ]);
    const noise = tf.tensor([
      [0.5, -1],
      [2, 0],
    ]);
    const xt = qSample(schedule, x0, [3, 40], noise).arraySync() as number[][];
    const a3 = schedule.alphaBars[3];
    const a40 = schedule.alphaBars[40];
    expect(xt[0][0]).toBeCloseTo(Math.sqrt(a3) * 1 + Math.sqrt(1 - a3) * 0.5, 5);
    expect(xt[1][0]).toBeCloseTo(Math.sqrt(a40) * 3 + Math.sqrt(1 - a40) * 2, 5);
    tf.dispose([x0, noise]);
  });

  it('predictions convert both ways', () => {
    const schedule = makeSchedule('linear', 100);
    const x0 = tf.tensor([[0.3, -0.2]]);
    const noise = tf.tensor([[1.5, 0.4]]);
    const xt = qSample(schedule, x0, [60], noise);
    const fromEpsilon = bothPredictions(schedule, xt, 60, noise, 'epsilon');
    const fromX0 = bothPredictions(schedule, xt, 60, x0, 'x0');
    const close = (a: tf.Tensor, b: tf.Tensor) => expect(tf.max(tf.abs(tf.sub(a, b))).arraySync()).toBeLessThan(1e-5);
    close(fromEpsilon.x0, x0);
    close(fromX0.epsilon, noise);
    tf.dispose([x0, noise, xt, fromEpsilon.x0, fromEpsilon.epsilon, fromX0.x0, fromX0.epsilon]);
  });
});

describe('reverse process', () => {
  it('η = 1 step mean equals DDPM’s posterior mean', () => {
    const schedule = makeSchedule('linear', 100);
    const t = 30;
    const x0 = tf.tensor([[0.4, -0.1, 0.7]]);
    const epsilon = tf.tensor([[0.3, 1.2, -0.8]]);
    const xt = qSample(schedule, x0, [t], epsilon);
    const mean = reverseStep(schedule, t, t - 1, x0, epsilon, 1, null).arraySync() as number[][];
    // Ho et al. 2020, Eq. 7: μ̃ = √ᾱ_{t−1} β_t / (1 − ᾱ_t) x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) x_t.
    const beta = schedule.betas[t];
    const a = schedule.alphaBars[t];
    const aPrev = schedule.alphaBars[t - 1];
    const x0Values = x0.arraySync() as number[][];
    const xtValues = xt.arraySync() as number[][];
    for (let i = 0; i < 3; i++) {
      const expected = ((Math.sqrt(aPrev) * beta) / (1 - a)) * x0Values[0][i] + ((Math.sqrt(1 - beta) * (1 - aPrev)) / (1 - a)) * xtValues[0][i];
      expect(mean[0][i]).toBeCloseTo(expected, 5);
    }
    tf.dispose([x0, epsilon, xt]);
  });

  it('guidance scale 1 is the conditional prediction', () => {
    const conditional = tf.tensor([1, 2, 3]);
    const unconditional = tf.tensor([0, 5, -1]);
    expect(guide(conditional, unconditional, 1).arraySync()).toEqual([1, 2, 3]);
    expect(guide(conditional, unconditional, 0).arraySync()).toEqual([0, 5, -1]);
    expect(guide(conditional, unconditional, 2).arraySync()).toEqual([2, -1, 7]);
    tf.dispose([conditional, unconditional]);
  });

  it('sampling timesteps run from T−1 to 0', () => {
    const schedule = makeSchedule('cosine', 100);
    expect(samplingTimesteps(schedule, 5)).toEqual([99, 74, 50, 25, 0]);
    expect(samplingTimesteps(schedule, 1)).toEqual([99]);
    expect(samplingTimesteps(schedule, 100)).toHaveLength(100);
    expect(() => samplingTimesteps(schedule, 101)).toThrow(/1 to 100/);
  });

  for (const [method, steps] of [
    ['ddim', 10],
    ['ddpm', 100],
    ['ddpm', 7],
  ] as const) {
    it(`${method} with ${steps} steps lands on the oracle’s sample`, async () => {
      const schedule = makeSchedule('cosine', 100);
      const result = await sampleDiffusion(schedule, oracle(schedule), [3, 4], { method, steps, eta: 0, parameterization: 'epsilon', seed: 4 });
      const values = result.sample.arraySync() as number[][];
      for (const row of values) row.forEach((value, i) => expect(value).toBeCloseTo(TARGET[i], 4));
      expect(result.interrupted).toBe(false);
      result.sample.dispose();
    });
  }

  it('DDIM with η = 0 is deterministic', async () => {
    const schedule = makeSchedule('linear', 50);
    // A denoiser unrelated to any target, so the result depends on the path taken.
    const shrink: Denoiser = (xt) => tf.mul(xt, 0.5);
    const run = async (seed: number, eta: number) => {
      const result = await sampleDiffusion(schedule, shrink, [2, 3], { method: 'ddim', steps: 10, eta, parameterization: 'epsilon', seed });
      const values = result.sample.arraySync();
      result.sample.dispose();
      return values;
    };
    expect(await run(1, 0)).toEqual(await run(1, 0));
    expect(await run(1, 1)).toEqual(await run(1, 1));
    expect(await run(1, 1)).not.toEqual(await run(1, 0));
    expect(await run(2, 0)).not.toEqual(await run(1, 0));
  });

  it('one step and an interruption both end cleanly', async () => {
    const schedule = makeSchedule('cosine', 100);
    const single = await sampleDiffusion(schedule, oracle(schedule), [1, 4], { method: 'ddim', steps: 1, parameterization: 'epsilon', seed: 0 });
    (single.sample.arraySync() as number[][])[0].forEach((value, i) => expect(value).toBeCloseTo(TARGET[i], 4));
    single.sample.dispose();

    const seen: number[] = [];
    const stopped = await sampleDiffusion(schedule, oracle(schedule), [1, 4], {
      method: 'ddpm',
      steps: 20,
      parameterization: 'epsilon',
      seed: 0,
      onStep: (step) => {
        seen.push(step.t);
        expect(step.predictedX0).toHaveLength(4);
        return step.index < 4;
      },
    });
    expect(stopped.interrupted).toBe(true);
    expect(seen).toHaveLength(5);
    stopped.sample.dispose();
  });

  it('NaN from the network stops sampling with an error', async () => {
    const schedule = makeSchedule('linear', 20);
    const broken: Denoiser = (xt) => tf.mul(xt, Number.NaN);
    const before = tf.memory().numTensors;
    await expect(sampleDiffusion(schedule, broken, [1, 4], { method: 'ddim', steps: 5, parameterization: 'epsilon', seed: 0 })).rejects.toBeInstanceOf(NonFiniteSampleError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('no tensor growth over 20 guided samples', async () => {
    const schedule = makeSchedule('cosine', 100);
    const denoiser = oracle(schedule);
    const once = async (seed: number) => {
      const result = await sampleDiffusion(schedule, denoiser, [2, 4], { method: 'ddim', steps: 8, guidanceScale: 3, clipX0: [-1, 1], parameterization: 'epsilon', seed, onStep: () => {} });
      result.sample.dispose();
    };
    await once(0);
    const before = tf.memory().numTensors;
    for (let seed = 1; seed <= 20; seed++) await once(seed);
    expect(tf.memory().numTensors).toBe(before);
  });
});
