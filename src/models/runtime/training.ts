/**
 * One in-browser training run of the dVAE, CLIP, DALL·E-mini, or unCLIP's decoder or prior:
 * a step loop that yields to the event loop between steps, so pause, resume, step and reset
 * requests get through while it runs. What differs between the models (loss, schedules,
 * progress previews) comes in a `TrainingSubject`; the loop, its controls and its failure
 * handling are shared.
 *
 * The run owns its Trainer (Adam state) and nothing else: the weights belong to the model
 * the host passes in, and stay in place when the run stops, fails or finishes.
 */
import * as tf from '../tf';
import { Batcher, type Batch } from '../data/batches';
import type { MnistSplit } from '../data/mnist';
import { PIXELS } from '../data/mnist';
import { onePerDigit, previewCaptions } from '../data/preview';
import { encodeCaptions, l2Normalize, zeroShotPrompt, type Clip } from '../clip';
import type { Decoder } from '../decoder';
import { qSample } from '../diffusion';
import type { Dvae, DvaeSchedule } from '../dvae';
import { codebookUsage } from '../metrics';
import type { Params } from '../nn';
import type { Prior } from '../prior';
import { clipPairEmbedder, RECIPES, type TrainingRecipe } from '../registry';
import type { BpeTokenizer } from '../text/bpe';
import type { DalleMini } from '../transformer';
import { Trainer, type LossFunction, type LossTerms, type TrainerOptions } from '../trainer';
import type { BackendHealth } from './backend';
import {
  ModelWorkerError,
  toWorkerFailure,
  type TrainableModelName,
  type TrainingOptions,
  type TrainingProgress,
  type TrainingState,
  type WorkerFailure,
} from './protocol';

export const DEFAULT_PREVIEW_COUNT = 8;
/** Maximum number of preview digits a run or `previewWeights` shows. */
export const MAX_PREVIEW_COUNT = 64;
const MAX_BATCH_SIZE = 512;
const MAX_TOTAL_STEPS = 1_000_000;
/** Minimum milliseconds between two 'loading-data' reports. */
const DATA_PROGRESS_INTERVAL_MS = 100;

/** Data loaders and backend health that a run gets from its host. */
export interface TrainingContext {
  /** The first `maxExamples` training digits, reporting bytes downloaded. */
  loadTrainSplit(maxExamples: number, onBytes: (loadedBytes: number, totalBytes: number) => void): Promise<MnistSplit>;
  /** The test split, whose first digits form the preview. */
  loadTestSplit(): Promise<MnistSplit>;
  health: BackendHealth;
}

/** Facts about a finished or stopped run, for the model card of saved weights. */
export interface TrainingSummary {
  seed: number;
  steps: number;
  batchSize: number;
  maxExamples: number;
  options: Record<string, unknown>;
  durationSeconds: number;
  finalLossTerms: LossTerms;
}

export interface TrainingPlan {
  trainer: TrainerOptions;
  /** The dVAE's τ and KL schedules; absent for the other models. */
  schedule?: DvaeSchedule;
  maxShift: number;
}

/**
 * Rescales a model's recipe of `npm run train` to `totalSteps`. Learning-rate warm-up (and
 * for the dVAE, τ annealing and the KL ramp) keep their share of the run, so a 500-step run
 * in the browser passes through the same phases as the longer pretrained one. `learningRate`
 * replaces the peak rate, and the final rate keeps its ratio to it.
 */
export function trainingPlan(recipe: TrainingRecipe, totalSteps: number, learningRate?: number): TrainingPlan {
  const scale = totalSteps / recipe.steps;
  const scaled = (steps: number) => Math.max(1, Math.round(steps * scale));
  const base = recipe.trainer.learningRate;
  const peak = learningRate ?? base.initial;
  const plan: TrainingPlan = {
    trainer: {
      learningRate: {
        initial: peak,
        final: base.final * (peak / base.initial),
        warmupSteps: scaled(base.warmupSteps),
        totalSteps,
      },
    },
    maxShift: recipe.maxShift,
  };
  if (recipe.schedule) {
    plan.schedule = {
      ...recipe.schedule,
      temperatureSteps: scaled(recipe.schedule.temperatureSteps),
      klWarmupSteps: scaled(recipe.schedule.klWarmupSteps),
    };
  }
  return plan;
}

/** Rescales the dVAE recipe to `totalSteps`, as `trainingPlan` does. */
export function dvaeTrainingPlan(totalSteps: number, learningRate?: number): TrainingPlan {
  return trainingPlan(RECIPES.dvae, totalSteps, learningRate);
}

/** Fixed test digits that every progress report shows; pixels in [0, 1]. */
export interface PreviewDigits {
  count: number;
  images: Float32Array;
  labels: Int32Array;
}

/** Returns the preview digits of `subject`: at most `count` test digits, chosen by its `pickPreview` or else the first ones. */
export function pickPreviewDigits(subject: Pick<TrainingSubject, 'pickPreview'>, test: MnistSplit, count: number): PreviewDigits {
  const previewSize = Math.min(count, test.count);
  const indices = subject.pickPreview?.(test, previewSize) ?? Array.from({ length: previewSize }, (_, i) => i);
  const images = new Float32Array(indices.length * PIXELS);
  indices.forEach((index, row) => {
    for (let p = 0; p < PIXELS; p++) images[row * PIXELS + p] = test.images[index * PIXELS + p] / 255;
  });
  return { count: indices.length, images, labels: Int32Array.from(indices, (index) => test.labels[index]) };
}

/** Reads tensors to the CPU and disposes them, failing instead of hanging when the backend is lost. */
export type ReadTensors = (tensors: tf.Tensor[]) => Promise<(Float32Array | Int32Array)[]>;

/** The model-specific parts of a training run: loss, preview and preview digits. */
export interface TrainingSubject {
  readonly name: TrainableModelName;
  readonly params: Params;
  lossFunction(plan: TrainingPlan, seed: number): LossFunction;
  /**
   * Preview fields of a progress report for the current weights. `batch` is the step's
   * batch, or null for reports between steps (start, pause). `final` is true for the report
   * of a run's last step, which must show the weights the run ends with.
   */
  report(batch: Batch | null, preview: PreviewDigits, read: ReadTensors, final: boolean): Promise<Partial<TrainingProgress>>;
  /**
   * Picks the preview digits from the test split. Default: the first `count`. CLIP, the
   * decoder and the prior take one of each digit instead, so their preview covers every class.
   */
  pickPreview?(test: MnistSplit, count: number): number[];
  dispose?(): void;
}

/** Builds the dVAE's subject: reconstructions of the preview digits and the code usage of the latest batch. */
export function dvaeSubject(model: Dvae): TrainingSubject {
  return {
    name: 'dvae',
    params: model.params,
    lossFunction: (plan, seed) => model.lossFunction(plan.schedule!, seed),
    async report(batch, preview, read) {
      const outputs = tf.tidy(() => {
        const reconstructions = model.reconstruct(tf.tensor4d(preview.images, [preview.count, 28, 28, 1]));
        if (batch === null) return [reconstructions];
        return [reconstructions, model.tokenize(tf.tensor4d(batch.images, [batch.size, 28, 28, 1]))];
      });
      const values = await read(outputs);
      const fields: Partial<TrainingProgress> = {
        preview: { originals: preview.images.slice(), reconstructions: Float32Array.from(values[0]) },
      };
      if (batch !== null) {
        const usage = codebookUsage(values[1] as Int32Array, model.config.codebookSize);
        fields.codebookUsage = usage.counts;
        fields.perplexity = usage.perplexity;
      }
      return fields;
    },
  };
}

/**
 * CLIP: the similarity matrix of the preview digits against one caption each, which turns
 * from noise into a bright diagonal (and same-digit blocks) as the model learns.
 */
export function clipSubject(model: Clip, tokenizer: BpeTokenizer): TrainingSubject {
  return {
    name: 'clip',
    params: model.params,
    lossFunction: (_plan, seed) => model.lossFunction(tokenizer, seed),
    pickPreview: (test, count) => onePerDigit(test.labels, count),
    async report(_batch, preview, read) {
      const captions = previewCaptions(preview.labels);
      const { ids } = encodeCaptions(tokenizer, captions, model.config.maxLength);
      const outputs = tf.tidy(() => {
        const images = model.encodeImages(tf.tensor4d(preview.images, [preview.count, 28, 28, 1]));
        const texts = model.encodeTexts(tf.tensor2d(ids, [preview.count, model.config.maxLength], 'int32'));
        return [tf.matMul(images, texts, false, true), model.logitScaleTensor()];
      });
      const [similarity, scale] = await read(outputs);
      return {
        clip: {
          similarity: Float32Array.from(similarity),
          labels: preview.labels.slice(),
          captions,
          images: preview.images.slice(),
          logitScale: scale[0],
        },
      };
    },
  };
}

/** Shortest wall-clock gap between two DALL·E-mini sample previews while training runs. */
const DALLE_PREVIEW_INTERVAL_MS = 3000;
/** Seed of the preview samples: the same seed every time, so changes come from the weights. */
const DALLE_PREVIEW_SEED = 0;

/**
 * Builds DALL·E-mini's subject: one sample for each prompt "a handwritten <digit>". Sampling
 * 49 positions costs several training steps, so while the run goes a preview is drawn at
 * most every `DALLE_PREVIEW_INTERVAL_MS`. Reports between steps (start, pause, single step)
 * and the last step's report always get one.
 */
export function dalleSubject(model: DalleMini, dvae: Dvae, tokenizer: BpeTokenizer): TrainingSubject {
  let lastPreviewMs = -Infinity;
  const prompts = Array.from({ length: 10 }, (_, digit) => zeroShotPrompt(digit));
  const promptIds = prompts.map((prompt) => tokenizer.encode(prompt, { maxLength: model.config.textLength }).ids);
  return {
    name: 'dalle',
    params: model.params,
    lossFunction: (_plan, seed) => model.lossFunction({ dvae, tokenizer, captionSeed: seed }),
    async report(batch, _preview, read, final) {
      const now = performance.now();
      if (batch !== null && !final && now - lastPreviewMs < DALLE_PREVIEW_INTERVAL_MS) return {};
      lastPreviewMs = now;
      const { tokens } = await model.sample({ textIds: promptIds, count: prompts.length, seed: DALLE_PREVIEW_SEED, temperature: 1 });
      const [images] = await read([tf.tidy(() => dvae.decodeTokens(tf.tensor3d(tokens, [prompts.length, 7, 7], 'int32')))]);
      return { dalle: { prompts, images: Float32Array.from(images) } };
    },
  };
}

/** Shortest wall-clock gap between two decoder sample previews while training runs. */
const DECODER_PREVIEW_INTERVAL_MS = 3000;
/** DDIM steps of a decoder preview, few so that a preview costs little next to the training it interrupts. */
const DECODER_PREVIEW_STEPS = 10;
/** Seed of the decoder previews' noise. */
const DIFFUSION_PREVIEW_SEED = 0;
/**
 * Seed of the prior preview's noisy embeddings, the same at every report so that changes come
 * from the weights. Not 0, because tfjs 4.22's random ops draw a fresh seed when given 0.
 */
const PRIOR_PREVIEW_NOISE_SEED = 1;

/**
 * unCLIP's decoder: images drawn for the CLIP image embeddings of the preview digits, so a
 * reader sees noise turn into the digits the embeddings describe. CLIP is read, not trained.
 * Sampling costs several training steps, so while the run goes a preview is drawn at most
 * every `DECODER_PREVIEW_INTERVAL_MS`, counted from the end of the last one. Reports
 * between steps (start, pause, single step) and the last step's report always get one.
 */
export function decoderSubject(model: Decoder, clip: Clip): TrainingSubject {
  let lastPreviewMs = -Infinity;
  return {
    name: 'decoder',
    params: model.params,
    lossFunction: (_plan, seed) => model.lossFunction((images) => clip.encodeImages(images), seed),
    pickPreview: (test, count) => onePerDigit(test.labels, count),
    async report(batch, preview, read, final) {
      if (batch !== null && !final && performance.now() - lastPreviewMs < DECODER_PREVIEW_INTERVAL_MS) return {};
      const embeddings = tf.tidy(() => clip.encodeImages(tf.tensor4d(preview.images, [preview.count, 28, 28, 1])));
      let images: tf.Tensor4D;
      try {
        ({ images } = await model.sample({ embeddings, method: 'ddim', steps: DECODER_PREVIEW_STEPS, guidanceScale: 1, seed: DIFFUSION_PREVIEW_SEED }));
      } finally {
        embeddings.dispose();
      }
      const [samples] = await read([images]);
      lastPreviewMs = performance.now();
      return { diffusion: { originals: preview.images.slice(), samples: Float32Array.from(samples) } };
    },
  };
}

/**
 * unCLIP's prior: for each preview digit and one caption of it, the cosine between the
 * embedding the prior predicts from the caption and the digit's true CLIP image embedding.
 * The prediction starts from pure noise at the last timestep, so it shows what the prior
 * infers from the caption alone. CLIP is read, not trained. One prediction per digit is
 * cheap, so every report has one.
 */
export function priorSubject(model: Prior, clip: Clip, tokenizer: BpeTokenizer): TrainingSubject {
  return {
    name: 'prior',
    params: model.params,
    lossFunction: (_plan, seed) => model.lossFunction(clipPairEmbedder(clip, tokenizer, seed), seed),
    pickPreview: (test, count) => onePerDigit(test.labels, count),
    async report(_batch, preview, read) {
      const count = preview.count;
      const captions = previewCaptions(preview.labels);
      const { ids } = encodeCaptions(tokenizer, captions, clip.config.maxLength);
      const lastTimestep = new Int32Array(count).fill(model.schedule.steps - 1);
      const outputs = tf.tidy(() => {
        const images = clip.encodeImages(tf.tensor4d(preview.images, [count, 28, 28, 1])); // [n, dim], unit
        const texts = clip.encodeTexts(tf.tensor2d(ids, [count, clip.config.maxLength], 'int32')); // [n, dim], unit
        const noise = tf.randomNormal(images.shape, 0, 1, 'float32', PRIOR_PREVIEW_NOISE_SEED);
        const noisy = qSample(model.schedule, tf.mul(images, model.scale), lastTimestep, noise) as tf.Tensor2D;
        const predicted = l2Normalize(model.predictClean(noisy, lastTimestep, texts));
        return [tf.sum(tf.mul(predicted, images), 1)]; // [n]
      });
      const [cosines] = await read(outputs);
      return { diffusion: { originals: preview.images.slice(), cosines: Float32Array.from(cosines) } };
    },
  };
}

/** Training options after validation, with the preview count filled in. */
export type ValidatedTrainingOptions = Required<Omit<TrainingOptions, 'learningRate' | 'model'>> & Pick<TrainingOptions, 'learningRate' | 'model'>;

/** Checks the options a page sent; throws an 'input' failure naming the first bad one. */
export function validateTrainingOptions(options: TrainingOptions): ValidatedTrainingOptions {
  const integerIn = (name: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ModelWorkerError('input', `Training option ${name} must be an integer from ${min} to ${max}, got ${String(value)}.`);
    }
    return value;
  };
  if (!options || typeof options !== 'object') {
    throw new ModelWorkerError('input', `Training options must be an object, got ${String(options)}.`);
  }
  const batchSize = integerIn('batchSize', options.batchSize, 1, MAX_BATCH_SIZE);
  const validated = {
    seed: integerIn('seed', options.seed, 0, 0xffffffff),
    batchSize,
    totalSteps: integerIn('totalSteps', options.totalSteps, 1, MAX_TOTAL_STEPS),
    progressEvery: integerIn('progressEvery', options.progressEvery, 1, MAX_TOTAL_STEPS),
    maxExamples: integerIn('maxExamples', options.maxExamples, batchSize, 60_000),
    previewCount: integerIn('previewCount', options.previewCount ?? DEFAULT_PREVIEW_COUNT, 1, MAX_PREVIEW_COUNT),
    learningRate: options.learningRate,
    model: options.model,
  };
  if (options.learningRate !== undefined && !(Number.isFinite(options.learningRate) && options.learningRate > 0)) {
    throw new ModelWorkerError('input', `Training option learningRate must be a positive number, got ${String(options.learningRate)}.`);
  }
  return validated;
}

/** Waits for one macrotask. Browsers clamp nested setTimeout calls to at least 4 ms, a MessageChannel message is not clamped. */
export function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  return { promise, resolve, reject };
}

export class TrainingRun {
  state: TrainingState = 'loading-data';
  /** Settles when the loop has exited: resolves after the last step or a stop, rejects with the failure. */
  readonly finished: Promise<void>;

  private readonly options: ValidatedTrainingOptions;
  private readonly plan: TrainingPlan;
  private trainer: Trainer | null = null;
  /** Steps completed by this run; kept after the trainer is disposed. */
  private completedSteps = 0;
  private stopRequested = false;
  /** Wakes the loop from its paused wait. */
  private wake: (() => void) | null = null;
  /** Resolves when the loop is parked in its paused wait. */
  private parked = deferred<void>();
  private singleStep: Deferred<TrainingProgress> | null = null;
  private lastReported: { step: number; state: TrainingState } | null = null;
  private windowStartMs = 0;
  private windowStartStep = 0;
  private activeMs = 0;
  private lastTerms: LossTerms = {};
  private preview: PreviewDigits = { count: 0, images: new Float32Array(0), labels: new Int32Array(0) };

  constructor(
    private readonly subject: TrainingSubject,
    options: TrainingOptions,
    private readonly onProgress: (progress: TrainingProgress) => void,
    private readonly context: TrainingContext,
  ) {
    this.options = validateTrainingOptions(options);
    this.plan = trainingPlan(RECIPES[subject.name], this.options.totalSteps, this.options.learningRate);
    this.finished = this.run();
    // The host awaits `finished` only when the page asked for it; a failure is also reported as progress.
    this.finished.catch(() => {});
  }

  get step(): number {
    return this.completedSteps;
  }

  /** True until the loop has exited. */
  get active(): boolean {
    return this.state === 'loading-data' || this.state === 'running' || this.state === 'paused';
  }

  summary(): TrainingSummary {
    return {
      seed: this.options.seed,
      steps: this.step,
      batchSize: this.options.batchSize,
      maxExamples: this.options.maxExamples,
      options: { ...this.plan.trainer, ...(this.plan.schedule ? { schedule: this.plan.schedule } : {}), maxShift: this.plan.maxShift },
      durationSeconds: Math.round(this.activeMs / 1000),
      finalLossTerms: { ...this.lastTerms },
    };
  }

  /** Stops after the current step; resolves once the loop is parked (at once while data loads). */
  async pause(): Promise<void> {
    if (!this.active) throw this.notActiveError('pause');
    if (this.state === 'paused') return;
    const wasLoading = this.state === 'loading-data';
    this.state = 'paused';
    if (!wasLoading) await this.parked.promise;
  }

  resume(): void {
    if (!this.active) throw this.notActiveError('resume');
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.wake?.();
  }

  /** Runs one step while paused and resolves with its report. */
  async stepOnce(): Promise<TrainingProgress> {
    if (this.state !== 'paused') {
      throw this.active
        ? new ModelWorkerError('input', 'Training is running: pause it before stepping one step at a time.')
        : this.notActiveError('step');
    }
    if (this.singleStep) return this.singleStep.promise;
    await this.parked.promise;
    const request = deferred<TrainingProgress>();
    this.singleStep = request;
    this.wake?.();
    return request.promise;
  }

  /**
   * Ends the loop after the current step and waits for it; the weights keep their last values.
   * The run's last report then has state 'idle' and step 0, for the fresh weights of a reset.
   */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.wake?.();
    await this.finished.catch(() => {});
  }

  private notActiveError(action: string): ModelWorkerError {
    const why = this.state === 'stopped' ? `training finished all ${this.options.totalSteps} steps` : `training stopped (${this.state})`;
    return new ModelWorkerError('input', `Cannot ${action}: ${why}. Start training again or reset.`);
  }

  private async run(): Promise<void> {
    try {
      const split = await this.loadData();
      if (this.stopRequested) return;
      const batcher = new Batcher(split, this.options.batchSize, this.options.seed, this.plan.maxShift);
      this.trainer = new Trainer(this.subject.params, this.subject.lossFunction(this.plan, this.options.seed), this.plan.trainer);
      if (this.state === 'loading-data') this.state = 'running';
      this.emit(await this.report(null));
      await this.loop(batcher);
    } catch (error) {
      const failure = this.failureOf(error);
      this.state = 'error';
      this.emit({ ...this.baseProgress(), state: 'error', failure });
      this.singleStep?.reject(new ModelWorkerError(failure.kind, failure.message));
      throw new ModelWorkerError(failure.kind, failure.message);
    } finally {
      this.trainer?.dispose();
      this.trainer = null;
      if (this.stopRequested && this.active) {
        this.state = 'idle';
        this.emit({ step: 0, totalSteps: this.options.totalSteps, terms: {}, stepsPerSecond: 0, state: 'idle' });
      }
      // A pause or single step that waits for the loop to park must not wait forever once it has exited.
      this.parked.resolve();
      this.singleStep?.reject(this.notActiveError('step'));
    }
  }

  private async loop(batcher: Batcher): Promise<void> {
    const trainer = this.trainer!;
    this.startWindow();
    while (trainer.step < this.options.totalSteps && !this.stopRequested) {
      if (this.state === 'paused' && this.singleStep === null) {
        await this.waitWhilePaused();
        continue;
      }
      // A pending single step stays in `singleStep` until resolved, so a failure can reject it.
      const single = this.singleStep;

      const stepStart = performance.now();
      const batch = batcher.next();
      this.lastTerms = trainer.trainStep(batch);
      this.completedSteps = trainer.step;
      this.activeMs += performance.now() - stepStart;
      const lostReason = this.context.health.lostReason();
      if (lostReason !== null) await this.context.health.lost;

      const finishedAll = trainer.step === this.options.totalSteps;
      if (finishedAll) this.state = 'stopped';
      if (single !== null || finishedAll || trainer.step % this.options.progressEvery === 0) {
        const progress = await this.report(batch);
        this.emit(progress);
        this.singleStep = null;
        single?.resolve(progress);
      }
      await yieldToEventLoop();
    }
  }

  /** Parks the loop until resume, a single step or a stop; reports the paused state unless that report was just sent. */
  private async waitWhilePaused(): Promise<void> {
    if (this.lastReported?.step !== this.step || this.lastReported.state !== 'paused') this.emit(await this.report(null));
    const woken = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.parked.resolve();
    await woken;
    this.wake = null;
    this.parked = deferred<void>();
    this.startWindow();
  }

  private async loadData(): Promise<MnistSplit> {
    let lastReportMs = -Infinity;
    const split = await this.context.loadTrainSplit(this.options.maxExamples, (loadedBytes, totalBytes) => {
      const now = performance.now();
      if (now - lastReportMs < DATA_PROGRESS_INTERVAL_MS && loadedBytes < totalBytes) return;
      lastReportMs = now;
      this.emit({ ...this.baseProgress(), state: 'loading-data', dataProgress: { loadedBytes, totalBytes } });
    });
    const test = await this.context.loadTestSplit();
    this.preview = pickPreviewDigits(this.subject, test, this.options.previewCount);
    return split;
  }

  private startWindow(): void {
    this.windowStartMs = performance.now();
    this.windowStartStep = this.step;
  }

  private baseProgress(): TrainingProgress {
    return { step: this.step, totalSteps: this.options.totalSteps, terms: { ...this.lastTerms }, stepsPerSecond: 0, state: this.state, model: this.subject.name };
  }

  /** Builds a progress report for the current weights; `batch` is the latest batch, or null between steps. */
  private async report(batch: Batch | null): Promise<TrainingProgress> {
    const now = performance.now();
    const elapsedSeconds = (now - this.windowStartMs) / 1000;
    const stepsPerSecond = elapsedSeconds > 0 ? (this.step - this.windowStartStep) / elapsedSeconds : 0;
    const state = this.state;
    this.lastReported = { step: this.step, state };

    const read: ReadTensors = async (tensors) => {
      try {
        const values = await Promise.race([Promise.all(tensors.map((tensor) => tensor.data())), this.context.health.lost]);
        return values as (Float32Array | Int32Array)[];
      } finally {
        tf.dispose(tensors);
      }
    };
    const fields = await this.subject.report(batch, this.preview, read, state === 'stopped');
    // The preview's own time (a DALL·E-mini sample) is left out of the next window's rate.
    this.windowStartMs = performance.now();
    this.windowStartStep = this.step;
    return { ...this.baseProgress(), ...fields, state, stepsPerSecond };
  }

  private emit(progress: TrainingProgress): void {
    try {
      // The page's callback is a comlink proxy returning a promise; a closed page must not stop training.
      void Promise.resolve(this.onProgress(progress)).catch(() => {});
    } catch {
      // Same: a callback that throws synchronously is the page's problem, not the run's.
    }
  }

  private failureOf(error: unknown): WorkerFailure {
    // A lost GPU context can read back garbage (NaN) before the loss is noticed, so it is checked first.
    const lostReason = this.context.health.lostReason();
    if (lostReason !== null) {
      return { kind: 'backend', message: `Training stopped because the ${tf.getBackend()} backend stopped working: ${lostReason}. Reload the page, or add ?backend=wasm to its address.` };
    }
    if (error instanceof Error && error.name === 'NonFiniteLossError') return { kind: 'nan', message: error.message };
    // A decoder preview can diverge to NaN although the loss stayed finite.
    if (error instanceof Error && error.name === 'NonFiniteSampleError') return { kind: 'nan', message: error.message };
    if (error instanceof Error && error.name === 'DataError') return { kind: 'data', message: error.message };
    if (error instanceof ModelWorkerError) return toWorkerFailure(error);
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'internal', message: `Training stopped on an unexpected error: ${message}. Reset and try again; reload the page if it repeats.` };
  }
}
