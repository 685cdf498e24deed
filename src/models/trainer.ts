/**
 * A model-agnostic training loop step: Adam, a learning-rate schedule, loss terms read
 * back as numbers, and a NaN guard that leaves the weights untouched.
 *
 * Each model supplies a `LossFunction` that returns the scalar to minimise plus named
 * terms for charts. The same `Trainer` drives `npm run train`, the unit tests and the
 * in-browser worker, so every path trains the same way.
 */
import * as tf from './tf';
import type { Params } from './nn';
import type { Batch } from './data/batches';

/** Scalar loss terms by name, e.g. `{ loss, reconstruction, kl }`. */
export type LossTerms = Record<string, number>;

/** Loss of one batch: `total` is minimised; `terms` are reported (all scalars). */
export type LossFunction = (batch: Batch, step: number) => { total: tf.Scalar; terms: Record<string, tf.Scalar> };

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly terms: LossTerms,
  ) {
    super(`Training stopped at step ${step}: the loss became ${Object.entries(terms).map(([k, v]) => `${k}=${v}`).join(', ')}. The weights from step ${step - 1} are kept; lower the learning rate or reset.`);
  }
}

/** Learning rate at a step: linear warm-up, then cosine decay to `final` (both in absolute units). */
export function learningRateAt(step: number, schedule: { initial: number; final: number; warmupSteps: number; totalSteps: number }): number {
  if (step < schedule.warmupSteps) return (schedule.initial * (step + 1)) / schedule.warmupSteps;
  const progress = Math.min(1, (step - schedule.warmupSteps) / Math.max(1, schedule.totalSteps - schedule.warmupSteps));
  return schedule.final + 0.5 * (schedule.initial - schedule.final) * (1 + Math.cos(Math.PI * progress));
}

export interface TrainerOptions {
  learningRate: { initial: number; final: number; warmupSteps: number; totalSteps: number };
}

export class Trainer {
  /** Number of completed optimisation steps. */
  step = 0;
  private optimizer: tf.AdamOptimizer;

  constructor(
    readonly params: Params,
    private readonly lossFunction: LossFunction,
    readonly options: TrainerOptions,
  ) {
    this.optimizer = tf.train.adam(options.learningRate.initial);
  }

  currentLearningRate(): number {
    return learningRateAt(this.step, this.options.learningRate);
  }

  /**
   * Runs one step on a batch and returns its loss terms (plus `learningRate`). Throws
   * `NonFiniteLossError` without updating any weight when a term is NaN or infinite.
   */
  trainStep(batch: Batch): LossTerms {
    const learningRate = this.currentLearningRate();
    // AdamOptimizer reads this field on every update; tfjs 4.22 has no public setter.
    (this.optimizer as unknown as { learningRate: number }).learningRate = learningRate;

    let kept: Record<string, tf.Scalar> = {};
    const variables = Object.values(this.params);
    const { value, grads } = tf.variableGrads(() => {
      const { total, terms } = this.lossFunction(batch, this.step);
      kept = Object.fromEntries(Object.entries(terms).map(([name, term]) => [name, tf.keep(term)]));
      return total;
    }, variables);

    const terms: LossTerms = { loss: value.dataSync()[0] };
    for (const [name, term] of Object.entries(kept)) {
      terms[name] = term.dataSync()[0];
      term.dispose();
    }
    value.dispose();

    if (!Object.values(terms).every(Number.isFinite)) {
      tf.dispose(grads);
      throw new NonFiniteLossError(this.step + 1, terms);
    }
    // variableGrads keys the gradients by variable name, which is what applyGradients expects.
    this.optimizer.applyGradients(grads as unknown as Record<string, tf.Variable>);
    tf.dispose(grads);
    this.step += 1;
    terms.learningRate = learningRate;
    return terms;
  }

  /**
   * Adam's step count and moment estimates, named `iter`, `<param>/m` and `<param>/v` after
   * the parameter names (not the scoped variable names), for resumable training.
   */
  async getOptimizerState(): Promise<Record<string, tf.Tensor>> {
    const weights = await this.optimizer.getWeights();
    const byVariable = new Map(Object.entries(this.params).map(([key, variable]) => [variable.name, key]));
    const state: Record<string, tf.Tensor> = {};
    for (const { name, tensor } of weights) {
      const match = /^(.*)\/(m|v)$/.exec(name);
      const key = match ? byVariable.get(match[1]) : undefined;
      state[key ? `${key}/${match![2]}` : name] = tensor;
    }
    return state;
  }

  /** Restores state from `getOptimizerState`; the order matters to tfjs's Adam, so it is rebuilt here. */
  async setOptimizerState(state: Record<string, tf.Tensor>): Promise<void> {
    const entries = Object.entries(this.params);
    const ordered: { name: string; tensor: tf.Tensor }[] = [{ name: 'iter', tensor: state.iter }];
    for (const suffix of ['m', 'v']) {
      for (const [key, variable] of entries) {
        const tensor = state[`${key}/${suffix}`];
        if (!tensor) throw new Error(`Optimizer state has no ${key}/${suffix}: it belongs to another model.`);
        ordered.push({ name: `${variable.name}/${suffix}`, tensor });
      }
    }
    await this.optimizer.setWeights(ordered);
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
