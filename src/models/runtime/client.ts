/**
 * Page side of the model runtime: starts one model worker per session and wraps its comlink
 * API so that every call either settles or rejects with a `ModelWorkerError`. A worker that
 * crashes or fails to load rejects all pending and later calls instead of leaving them
 * hanging. Each widget gets its own session, so one widget's failure leaves the others running.
 */
import * as Comlink from 'comlink';
import {
  isBackendName,
  ModelWorkerError,
  toWorkerFailure,
  type BackendInfo,
  type BackendName,
  type DiffusionStepReport,
  type ModelWorkerApi,
  type TrainingProgress,
} from './protocol';

export interface ModelSession {
  /** The worker's API. Every method rejects with a ModelWorkerError whose `kind` picks the fix to offer. */
  readonly api: ModelWorkerApi;
  /**
   * The backend the worker picked (with the badge note when it is a fallback). Resolves once
   * `init` is done, or rejects with a ModelWorkerError when no worker or backend could start.
   */
  readonly ready: Promise<BackendInfo>;
  /** Terminates the worker, at any time; pending and later calls reject. */
  dispose(): void;
}

export interface ModelSessionOptions {
  /** Backend override; defaults to the page's `?backend=` parameter. */
  backend?: BackendName;
  /** Site base URL ending in '/'; defaults to Astro's `import.meta.env.BASE_URL`. */
  baseUrl?: string;
}

const API_METHODS = [
  'init',
  'load',
  'loadFile',
  'tokenize',
  'decodeTokens',
  'classify',
  'testDigits',
  'placedDigits',
  'caption',
  'readPrompt',
  'clipEmbed',
  'zeroShot',
  'sampleDalle',
  'inspectDalle',
  'forwardNoise',
  'decodeEmbedding',
  'sampleUnclip',
  'cancelSampling',
  'startTraining',
  'pauseTraining',
  'resumeTraining',
  'stepTraining',
  'resetTraining',
  'previewWeights',
  'save',
  'savedInfo',
  'deleteSaved',
  'exportFile',
] as const satisfies readonly (keyof ModelWorkerApi)[];

/**
 * The first session's backend selection on this page. Later sessions reuse its ranking and
 * skip the timing probe, so widgets that start together do not all time every backend.
 */
let pageSelection: Promise<BackendInfo> | null = null;

/**
 * Starts a model worker and its backend selection. Returns at once: `ready` settles when the
 * backend is chosen, and `dispose` may be called before that (a widget that unmounts early).
 */
export function createModelSession(options: ModelSessionOptions = {}): ModelSession {
  const override = options.backend !== undefined ? { backend: options.backend } : readBackendOverride();
  const baseUrl = options.baseUrl ?? import.meta.env.BASE_URL;

  let worker: Worker;
  try {
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'model-worker' });
  } catch (error) {
    const failure = new ModelWorkerError(
      'backend',
      `The browser refused to start the model worker (${String(error)}). Use an up-to-date browser that supports module workers.`,
    );
    return failedSession(failure);
  }

  const session = wrapWorker(worker);
  const ready = selectBackendOnce(session.api, baseUrl, override.backend).then((backend) => {
    if (override.ignored !== undefined) {
      const ignored = `?backend=${override.ignored} is not a backend (use webgpu, webgl, wasm or cpu), so it was ignored`;
      backend.note = backend.note ? `${ignored}; ${backend.note}` : ignored;
    }
    return backend;
  });
  ready.catch(() => session.dispose());
  return { api: session.api, ready, dispose: session.dispose };
}

/** Runs `init`, reusing the ranking of the page's first selection when there is one. */
async function selectBackendOnce(api: ModelWorkerApi, baseUrl: string, backend: BackendName | undefined): Promise<BackendInfo> {
  const earlier = pageSelection === null ? null : await pageSelection.catch(() => null);
  const selection = api.init({ baseUrl, backend, probes: earlier?.probes });
  if (pageSelection === null) {
    pageSelection = selection;
    selection.catch(() => {
      if (pageSelection === selection) pageSelection = null;
    });
  }
  return selection;
}

/** Builds a session whose worker never started: every call rejects with `failure`. */
function failedSession(failure: ModelWorkerError): ModelSession {
  const reject = () => Promise.reject(failure);
  const api = Object.fromEntries(API_METHODS.map((method) => [method, reject])) as unknown as ModelWorkerApi;
  const ready = Promise.reject(failure);
  ready.catch(() => {});
  return { api, ready, dispose() {} };
}

/** Reads the page's `?backend=` value: a backend name, or the text that was ignored. */
export function readBackendOverride(search: string = globalThis.location?.search ?? ''): { backend?: BackendName; ignored?: string } {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '') return {};
  return isBackendName(value) ? { backend: value } : { ignored: value };
}

/** Wraps a worker's comlink API so that a crash, a closed session or any error rejects with a ModelWorkerError. */
function wrapWorker(worker: Worker): { api: ModelWorkerApi; dispose(): void } {
  const remote = Comlink.wrap<ModelWorkerApi>(worker);
  let stopped: ModelWorkerError | null = null;
  let rejectAll: (error: ModelWorkerError) => void = () => {};
  const crashed = new Promise<never>((_, reject) => {
    rejectAll = reject;
  });
  // No call may be waiting when the worker stops, and that must not count as an unhandled rejection.
  crashed.catch(() => {});

  const stop = (error: ModelWorkerError) => {
    if (stopped !== null) return;
    stopped = error;
    rejectAll(error);
    worker.terminate();
  };
  worker.addEventListener('error', (event: Event) => {
    event.preventDefault();
    stop(crashError(event));
  });
  worker.addEventListener('messageerror', () => {
    stop(new ModelWorkerError('internal', 'The model worker sent a message the page could not read. Reload the page.'));
  });

  const call = async (method: (typeof API_METHODS)[number], args: unknown[]): Promise<unknown> => {
    if (stopped !== null) throw stopped;
    if (method === 'startTraining' && typeof args[1] === 'function') {
      args = [args[0], Comlink.proxy(args[1] as (progress: TrainingProgress) => void)];
    }
    if (method === 'sampleDalle' && typeof args[1] === 'function') {
      args = [args[0], Comlink.proxy(args[1] as (position: number, tokens: Int32Array) => void)];
    }
    if ((method === 'decodeEmbedding' || method === 'sampleUnclip') && typeof args[1] === 'function') {
      args = [args[0], Comlink.proxy(args[1] as (step: DiffusionStepReport) => void)];
    }
    try {
      const pending = (remote[method] as unknown as (...callArgs: unknown[]) => Promise<unknown>)(...args);
      return await Promise.race([pending, crashed]);
    } catch (error) {
      throw error instanceof ModelWorkerError ? error : asModelWorkerError(error);
    }
  };

  const api = Object.fromEntries(API_METHODS.map((method) => [method, (...args: unknown[]) => call(method, args)])) as unknown as ModelWorkerApi;
  return {
    api,
    dispose() {
      stop(new ModelWorkerError('internal', 'This model session was closed. Reload the page to start a new one.'));
    },
  };
}

/** Rebuilds the worker's error on the page side, with its failure kind. */
function asModelWorkerError(error: unknown): ModelWorkerError {
  const failure = toWorkerFailure(error);
  return new ModelWorkerError(failure.kind, failure.message);
}

function crashError(event: Event): ModelWorkerError {
  const message = (event as ErrorEvent).message;
  if (message) {
    return new ModelWorkerError('internal', `The model worker stopped: ${message}. Reload the page to restart it.`);
  }
  // A module worker whose script fails to load or parse fires a plain Event without a message.
  return new ModelWorkerError('internal', 'The model worker failed to load its script (a network error, or a page older than the site). Reload the page.');
}
