/**
 * The typed contract between the page and the model worker (exposed with comlink).
 *
 * The worker owns every tensor. The page sends and receives plain data: typed arrays,
 * numbers and strings. All images are 28×28 row-major Float32Array values in [0, 1]
 * (ink = 1) and all token grids are 7×7 row-major Int32Array values.
 */
import type { ModelCard } from '../card';

/** tfjs backends in preference order. */
export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value);
}

/** One backend candidate tried during selection. */
export interface BackendProbe {
  name: BackendName;
  /** Initialised, reported itself by `tf.getBackend()`, and passed the numeric self-check. */
  ok: boolean;
  /** Median milliseconds of the timing probe (a small conv forward and backward), when ok. */
  probeMs?: number;
  /** Why it was rejected or ranked down, e.g. "WebGL renderer is SwiftShader (software)". */
  note?: string;
  /** The GPU renderer or WebGPU adapter as the browser names it, when it can be read. */
  renderer?: string;
  /** True when the renderer is a software rasteriser (SwiftShader, llvmpipe, …), which wasm outruns. */
  software?: boolean;
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

/**
 * Origin of the weights. 'pretrained' = public/models/<name>/ on the site, 'saved' = the
 * reader's copy in IndexedDB, 'file' = a checkpoint file the reader uploaded (set by `loadFile`).
 */
export type WeightsSource = 'pretrained' | 'saved' | 'fresh' | 'file';

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
  /**
   * Peak learning rate of Adam, replacing the recipe's; the final rate scales with it.
   * Lets a widget show what too large a step does.
   */
  learningRate?: number;
  /** Fixed test digits shown in each progress preview (default 8, at most 64). */
  previewCount?: number;
}

export interface TrainingProgress {
  /** Steps completed in this run: 0 before the first, and 0 in the 'idle' report after a reset. */
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
  /** Download progress of the training shards while `state` is 'loading-data'. */
  dataProgress?: { loadedBytes: number; totalBytes: number };
  /** The reason training stopped, when `state` is 'error'. */
  failure?: WorkerFailure;
}

export type TrainingState = 'idle' | 'loading-data' | 'running' | 'paused' | 'stopped' | 'error';

/** A failure the page shows in the widget; `kind` picks the wording and the offered fix. */
export interface WorkerFailure {
  kind: WorkerFailureKind;
  message: string;
}

export const WORKER_FAILURE_KINDS = ['backend', 'checkpoint', 'data', 'nan', 'storage', 'input', 'internal'] as const;
export type WorkerFailureKind = (typeof WORKER_FAILURE_KINDS)[number];

const FAILURE_NAME_PREFIX = 'ModelWorkerError:';

/**
 * An error with a reader-facing message and a failure kind. comlink 4.4 copies only `name`,
 * `message` and `stack` of a thrown Error to the page, so the kind travels in `name`
 * ("ModelWorkerError:nan") and `toWorkerFailure` reads it back on the page side.
 */
export class ModelWorkerError extends Error {
  constructor(
    readonly kind: WorkerFailureKind,
    message: string,
  ) {
    super(message);
    this.name = `${FAILURE_NAME_PREFIX}${kind}`;
  }
}

/**
 * Reads the failure kind and message of an error thrown by the worker, of a `WorkerFailure`
 * (as in `TrainingProgress.failure`), or of any other error ('internal').
 */
export function toWorkerFailure(error: unknown): WorkerFailure {
  if (error instanceof ModelWorkerError) return { kind: error.kind, message: error.message };
  if (isWorkerFailure(error)) return { kind: error.kind, message: error.message };
  if (error instanceof Error) {
    const kind = error.name.startsWith(FAILURE_NAME_PREFIX) ? error.name.slice(FAILURE_NAME_PREFIX.length) : '';
    const known = (WORKER_FAILURE_KINDS as readonly string[]).includes(kind);
    return { kind: known ? (kind as WorkerFailureKind) : 'internal', message: error.message };
  }
  return { kind: 'internal', message: String(error) };
}

function isWorkerFailure(value: unknown): value is WorkerFailure {
  if (!value || typeof value !== 'object' || value instanceof Error) return false;
  const { kind, message } = value as Partial<WorkerFailure>;
  return typeof message === 'string' && (WORKER_FAILURE_KINDS as readonly string[]).includes(kind as string);
}

/** The worker's API. Every method may reject with an Error whose message is for the reader. */
export interface ModelWorkerApi {
  /**
   * Picks and starts a backend (override honoured when it works). Idempotent: later calls
   * return the first call's result. `probes` are the ranked probes of an earlier session on
   * the same page. With them, the worker skips the timing probe and tries backends in their order.
   */
  init(options: { baseUrl: string; backend?: BackendName; probes?: BackendProbe[] }): Promise<BackendInfo>;

  /** Loads weights for a model, replacing any in memory for that name. */
  load(name: ModelName, source: WeightsSource): Promise<LoadedModelInfo>;
  /** Loads a packed checkpoint file the reader picked; validated before anything is replaced. */
  loadFile(name: ModelName, bytes: Uint8Array, fileName: string): Promise<LoadedModelInfo>;

  tokenize(images: Float32Array, count: number): Promise<TokenizeResult>;
  decodeTokens(tokens: Int32Array, count: number): Promise<Float32Array>;
  classify(images: Float32Array, count: number): Promise<{ labels: Int32Array; probabilities: Float32Array }>;
  /** `count` test digits starting at `start` (pixels and labels), for pickers. */
  testDigits(start: number, count: number): Promise<{ images: Float32Array; labels: Int32Array }>;

  /**
   * Training of the dVAE from fresh weights (or the loaded ones, with `fromCurrent`; their
   * schedules then restart at step 0). Resolves when the run ends: all `totalSteps` done, or
   * reset. Rejects with the failure that stopped it ('nan', 'data', 'backend'); that failure
   * is also sent as a last progress report with state 'error'.
   */
  startTraining(options: TrainingOptions & { fromCurrent?: boolean }, onProgress: (progress: TrainingProgress) => void): Promise<void>;
  pauseTraining(): Promise<void>;
  resumeTraining(): Promise<void>;
  /** Runs exactly one step while paused and returns its report, which also goes to `onProgress`. */
  stepTraining(): Promise<TrainingProgress>;
  /** Stops training and restores fresh weights with the same seed; the run's last report has state 'idle'. */
  resetTraining(): Promise<void>;

  /** Saves the model's current weights and card to IndexedDB under its name. */
  save(name: ModelName): Promise<{ savedAt: string; bytes: number }>;
  /** Whether IndexedDB holds saved weights for the model, and when they were saved. */
  savedInfo(name: ModelName): Promise<{ savedAt: string; step: number } | null>;
  /** Deletes the model's saved weights from IndexedDB (the fix for a corrupt record); false when none were saved. */
  deleteSaved(name: ModelName): Promise<boolean>;
  /** A packed single-file checkpoint of the current weights, for download. */
  exportFile(name: ModelName): Promise<Uint8Array>;
}
