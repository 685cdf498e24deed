/**
 * The typed contract between the page and the model worker (exposed with comlink).
 *
 * The worker owns every tensor. The page sends and receives plain data: typed arrays,
 * numbers and strings. All images are 28×28 row-major Float32Array values in [0, 1]
 * (ink = 1) and all token grids are 7×7 row-major Int32Array values.
 */
import type { ModelCard } from '../card';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** One backend candidate tried during selection. */
export interface BackendProbe {
  name: BackendName;
  /** Initialised, reported itself by `tf.getBackend()`, and passed the numeric self-check. */
  ok: boolean;
  /** Median milliseconds of the timing probe (a small conv forward and backward), when ok. */
  probeMs?: number;
  /** Why it was rejected or ranked down, e.g. "WebGL renderer is SwiftShader (software)". */
  note?: string;
}

export interface BackendInfo {
  /** The backend in use, always read back from `tf.getBackend()`. */
  name: BackendName;
  /** The `?backend=` override, if any, and whether it could be honoured. */
  requested?: BackendName;
  /** A sentence for the badge when the choice is not the first preference, e.g. a fallback. */
  note?: string;
  probes: BackendProbe[];
}

export type ModelName = 'dvae' | 'classifier';

/** Where weights come from. 'pretrained' = public/models/<name>/ on the site. */
export type WeightsSource = 'pretrained' | 'saved' | 'fresh';

export interface LoadedModelInfo {
  name: ModelName;
  source: WeightsSource;
  config: Record<string, unknown>;
  /** The shipped card (present for pretrained weights). */
  card?: ModelCard;
  /** Training step stored with the weights, 0 for fresh. */
  step: number;
}

export interface TokenizeResult {
  tokens: Int32Array; // [count, 7, 7]
  reconstructions: Float32Array; // [count, 28, 28]
  /** Probability of the chosen code at each position, [count, 7, 7]. */
  confidence: Float32Array;
}

export interface TrainingOptions {
  seed: number;
  batchSize: number;
  /** Total steps the schedules (learning rate, τ, β) are planned for. */
  totalSteps: number;
  /** Send a `TrainingProgress` every this many steps. */
  progressEvery: number;
  /** Training examples to load (the first shards of the train split), to bound download size. */
  maxExamples: number;
}

export interface TrainingProgress {
  step: number;
  totalSteps: number;
  /** Loss terms of the latest step by name (loss, reconstruction, kl, temperature, klWeight, learningRate). */
  terms: Record<string, number>;
  stepsPerSecond: number;
  /** Code-usage histogram of the latest batch's hard tokens, [codebookSize]. */
  codebookUsage?: Int32Array;
  perplexity?: number;
  /** Fixed test digits and their current reconstructions, [previewCount, 28, 28] each. */
  preview?: { originals: Float32Array; reconstructions: Float32Array };
  state: TrainingState;
}

export type TrainingState = 'idle' | 'loading-data' | 'running' | 'paused' | 'stopped' | 'error';

/** A failure the page shows in the widget; `kind` picks the wording and the offered fix. */
export interface WorkerFailure {
  kind: 'backend' | 'checkpoint' | 'data' | 'nan' | 'storage' | 'input' | 'internal';
  message: string;
}

/** The worker's API. Every method may reject with an Error whose message is for the reader. */
export interface ModelWorkerApi {
  /** Picks and starts a backend (override honoured when it works). Idempotent. */
  init(options: { baseUrl: string; backend?: BackendName }): Promise<BackendInfo>;

  /** Loads weights for a model, replacing any in memory for that name. */
  load(name: ModelName, source: WeightsSource): Promise<LoadedModelInfo>;
  /** Loads a packed checkpoint file the reader picked; validated before anything is replaced. */
  loadFile(name: ModelName, bytes: Uint8Array, fileName: string): Promise<LoadedModelInfo>;

  tokenize(images: Float32Array, count: number): Promise<TokenizeResult>;
  decodeTokens(tokens: Int32Array, count: number): Promise<Float32Array>;
  classify(images: Float32Array, count: number): Promise<{ labels: Int32Array; probabilities: Float32Array }>;
  /** `count` test digits starting at `start` (pixels and labels), for pickers. */
  testDigits(start: number, count: number): Promise<{ images: Float32Array; labels: Int32Array }>;

  /** Training of the dVAE from fresh weights (or the loaded ones, with `fromCurrent`). */
  startTraining(options: TrainingOptions & { fromCurrent?: boolean }, onProgress: (progress: TrainingProgress) => void): Promise<void>;
  pauseTraining(): Promise<void>;
  resumeTraining(): Promise<void>;
  /** Runs exactly one step while paused and reports it. */
  stepTraining(): Promise<TrainingProgress>;
  /** Stops training and restores fresh weights with the same seed. */
  resetTraining(): Promise<void>;

  /** Saves the model's current weights and card to IndexedDB under its name. */
  save(name: ModelName): Promise<{ savedAt: string; bytes: number }>;
  /** Whether IndexedDB holds saved weights for the model, and when they were saved. */
  savedInfo(name: ModelName): Promise<{ savedAt: string; step: number } | null>;
  /** A packed single-file checkpoint of the current weights, for download. */
  exportFile(name: ModelName): Promise<Uint8Array>;
}
