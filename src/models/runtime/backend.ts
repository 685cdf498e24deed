/**
 * TensorFlow.js backend selection inside the model worker (or a Node test).
 *
 * Each candidate (webgpu → webgl → wasm → cpu) is imported lazily, started with
 * `tf.setBackend`, read back with `tf.getBackend`, checked on a few known values and timed
 * on a small conv training step. The fastest working candidate wins, because a GPU backend
 * can be a software rasteriser in disguise: in headless Chromium, WebGL on SwiftShader took
 * 45 ms per dVAE step where wasm took 11 ms. A `?backend=` override is honoured when it
 * starts and passes the self-check; otherwise the selection runs as usual and reports why.
 */
import * as tf from '../tf';
import { BACKEND_NAMES, ModelWorkerError, type BackendInfo, type BackendName, type BackendProbe } from './protocol';
import { registerWasmTrainingKernels } from './wasm-kernels';

/** Preference order, used to break ties in the timing probe. */
export const BACKEND_PREFERENCE: readonly BackendName[] = BACKEND_NAMES;

/** Probe times within this ratio of the fastest count as a tie, which the preference order breaks. */
const PROBE_TIE_RATIO = 1.1;

/** How often the WebGL context is checked for loss, in milliseconds. */
const CONTEXT_POLL_MS = 1000;

/** Renderer names of software rasterisers (Chrome's SwiftShader, Mesa's llvmpipe/softpipe/lavapipe, Windows WARP). */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|lavapipe|software|basic render/i;

export interface BackendSelectionOptions {
  /** The reader's `?backend=` override. */
  requested?: BackendName;
  /**
   * URL folder that serves tfjs-backend-wasm's .wasm binaries, ending in '/'. Undefined keeps
   * the package default (next to its script), which is what Node needs.
   */
  wasmPathPrefix?: string;
  /** Ranked probes of an earlier selection on the same page: try in that order, skip the timing probe. */
  earlierProbes?: BackendProbe[];
  /** Candidates in preference order; tests narrow this list. */
  candidates?: readonly BackendName[];
  /** Limit on starting, checking and timing one candidate, in milliseconds. */
  candidateTimeoutMs?: number;
}

export interface BackendSelection {
  info: BackendInfo;
  health: BackendHealth;
}

/** Whether the chosen backend still works; a GPU context or device can be lost at any time. */
export interface BackendHealth {
  /** Reason the backend stopped working, or null while it works. */
  lostReason(): string | null;
  /** Rejects with a 'backend' ModelWorkerError when the backend is lost; never resolves. Race reads with it. */
  readonly lost: Promise<never>;
}

// ---------------------------------------------------------------------------------------------
// Ranking (pure)

/**
 * Orders the working backends, best first. cpu is a last resort. A software GPU renderer
 * ranks below wasm whenever wasm works, whatever its probe time. Otherwise the timing probe
 * decides, and times within 10% of each other tie, in which case the preference order decides.
 * Probes without a time (an override, a reused ranking) follow the timed ones in preference order.
 */
export function rankBackends(probes: readonly BackendProbe[], preference: readonly BackendName[] = BACKEND_PREFERENCE): BackendName[] {
  const working = probes.filter((probe) => probe.ok);
  const wasmWorks = working.some((probe) => probe.name === 'wasm');
  const tierOf = (probe: BackendProbe): number => {
    if (probe.name === 'cpu') return 2;
    if (probe.software && wasmWorks) return 1;
    return 0;
  };
  const preferenceIndex = (name: BackendName): number => {
    const index = preference.indexOf(name);
    return index < 0 ? preference.length : index;
  };

  const ranked: BackendName[] = [];
  for (const tier of [0, 1, 2]) {
    const inTier = working.filter((probe) => tierOf(probe) === tier);
    let timed = inTier.filter((probe) => probe.probeMs !== undefined).sort((a, b) => a.probeMs! - b.probeMs!);
    while (timed.length > 0) {
      const fastestMs = timed[0].probeMs!;
      const tied = timed.filter((probe) => probe.probeMs! <= fastestMs * PROBE_TIE_RATIO);
      tied.sort((a, b) => preferenceIndex(a.name) - preferenceIndex(b.name));
      ranked.push(...tied.map((probe) => probe.name));
      timed = timed.filter((probe) => !tied.includes(probe));
    }
    const untimed = inTier.filter((probe) => probe.probeMs === undefined);
    untimed.sort((a, b) => preferenceIndex(a.name) - preferenceIndex(b.name));
    ranked.push(...untimed.map((probe) => probe.name));
  }
  return ranked;
}

/**
 * Builds the badge sentence for a choice that is not the first preference, e.g. "webgpu
 * failed to start (no WebGPU adapter); using wasm". Returns undefined when the first preference won.
 */
export function describeChoice(
  probes: readonly BackendProbe[],
  chosen: BackendName,
  requested?: BackendName,
  preference: readonly BackendName[] = BACKEND_PREFERENCE,
): string | undefined {
  if (requested !== undefined && requested !== chosen) {
    const probe = probes.find((candidate) => candidate.name === requested);
    return `${requested} failed to start (${probe?.note ?? 'no reason given'}); using ${chosen}`;
  }
  if (requested === chosen) return undefined;

  const chosenProbe = probes.find((probe) => probe.name === chosen);
  const reasons: string[] = [];
  for (const name of preference) {
    if (name === chosen) break;
    const probe = probes.find((candidate) => candidate.name === name);
    if (!probe) continue;
    if (probe.software) {
      reasons.push(`${name} runs on a software renderer (${probe.renderer ?? 'unknown'})`);
    } else if (!probe.ok) {
      reasons.push(`${name} failed to start (${probe.note ?? 'no reason given'})`);
    } else if (probe.probeMs !== undefined && chosenProbe?.probeMs !== undefined) {
      reasons.push(`${name} took ${probe.probeMs.toFixed(1)} ms per probe step against ${chosenProbe.probeMs.toFixed(1)} ms`);
    }
  }
  return reasons.length > 0 ? `${reasons.join('; ')}; using ${chosen}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Selection

/** Starts the best working backend and returns what was tried. Throws a 'backend' failure when none works. */
export async function selectBackend(options: BackendSelectionOptions = {}): Promise<BackendSelection> {
  const candidates = options.candidates ?? BACKEND_PREFERENCE;
  const timeoutMs = options.candidateTimeoutMs ?? 20_000;
  const tried = new Map<BackendName, BackendProbe>();
  const started = new Set<BackendName>();
  const attempt = async (name: BackendName, timeProbe: boolean, preflight?: Preflight): Promise<BackendProbe> => {
    const probe = await probeWithTimeout(name, { timeProbe, wasmPathPrefix: options.wasmPathPrefix, timeoutMs, preflight }, started);
    tried.set(name, probe);
    return probe;
  };

  let chosen: BackendName | undefined;
  if (options.requested !== undefined) {
    const probe = await attempt(options.requested, false);
    if (probe.ok) chosen = options.requested;
  }

  if (chosen === undefined && options.earlierProbes !== undefined) {
    // Another session on this page already timed the backends: take the first that still works.
    const order = rankBackends(options.earlierProbes).filter((name) => candidates.includes(name) && !tried.has(name));
    for (const name of order) {
      if ((await attempt(name, false)).ok) {
        chosen = name;
        break;
      }
    }
  }

  if (chosen === undefined) {
    // A software GPU renderer ranks below wasm anyway, and timing it costs seconds (SwiftShader
    // WebGL took ~470 ms per probe step in headless Chromium), so it is tried only if nothing
    // else works.
    const deferred: [BackendName, Preflight][] = [];
    for (const name of candidates.filter((candidate) => candidate !== 'cpu' && !tried.has(candidate))) {
      const preflight = await runPreflight(name, timeoutMs);
      const isSoftwareGpu = preflight.software === true && preflight.failure === undefined;
      if (isSoftwareGpu && candidates.includes('wasm')) {
        deferred.push([name, preflight]);
      } else {
        await attempt(name, true, preflight);
      }
    }
    const hardwareWorks = [...tried.values()].some((probe) => probe.ok && !probe.software);
    for (const [name, preflight] of deferred) {
      if (hardwareWorks) {
        tried.set(name, { name, ok: false, note: 'not started: it is a software renderer, slower than wasm', renderer: preflight.renderer, software: true });
      } else {
        await attempt(name, true, preflight);
      }
    }

    // cpu is tried only when nothing faster works: its conv gradients are ~100× slower than wasm's.
    const anyWorks = [...tried.values()].some((probe) => probe.ok);
    if (!anyWorks && candidates.includes('cpu') && !tried.has('cpu')) {
      await attempt('cpu', false);
    }
    chosen = rankBackends([...tried.values()])[0];
  }

  const probes = mergeProbes(options.earlierProbes, tried);
  if (chosen === undefined) {
    const reasons = [...tried.values()].map((probe) => `${probe.name}: ${probe.note ?? 'failed'}`).join('; ');
    throw new ModelWorkerError('backend', `No TensorFlow.js backend could start in this browser (${reasons}). Try an up-to-date Chrome, Edge, Firefox or Safari.`);
  }

  if (!(await tf.setBackend(chosen)) || tf.getBackend() !== chosen) {
    throw new ModelWorkerError('backend', `The ${chosen} backend passed its checks but could not be selected again (tfjs reports "${tf.getBackend()}"). Reload the page.`);
  }
  releaseOtherGpuBackends(chosen, started);

  const info: BackendInfo = {
    name: tf.getBackend() as BackendName,
    requested: options.requested,
    note: describeChoice(probes, chosen, options.requested),
    probes,
  };
  return { info, health: watchBackend(chosen) };
}

/** This selection's probes, plus the earlier session's for backends not tried now. */
function mergeProbes(earlier: BackendProbe[] | undefined, tried: Map<BackendName, BackendProbe>): BackendProbe[] {
  const merged = new Map<BackendName, BackendProbe>();
  for (const probe of earlier ?? []) merged.set(probe.name, { ...probe });
  for (const [name, probe] of tried) {
    // A reused ranking keeps its timing when the backend still works now.
    const probeMs = probe.probeMs ?? (probe.ok ? merged.get(name)?.probeMs : undefined);
    merged.set(name, probeMs === undefined ? { ...probe } : { ...probe, probeMs });
  }
  return BACKEND_PREFERENCE.filter((name) => merged.has(name)).map((name) => merged.get(name)!);
}

/** Frees the GPU contexts of backends that started but lost; tfjs keeps them alive otherwise. */
function releaseOtherGpuBackends(chosen: BackendName, started: Set<BackendName>): void {
  for (const name of started) {
    if (name !== chosen && (name === 'webgl' || name === 'webgpu')) {
      tf.removeBackend(name);
    }
  }
}

interface ProbeConfig {
  timeProbe: boolean;
  wasmPathPrefix?: string;
  timeoutMs: number;
  /** The availability check, when the caller ran it already. */
  preflight?: Preflight;
}

/** Probes one candidate; a candidate that takes longer than the timeout is reported as failed. */
async function probeWithTimeout(name: BackendName, config: ProbeConfig, started: Set<BackendName>): Promise<BackendProbe> {
  const abandoned = { value: false };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<BackendProbe>((resolve) => {
    timer = setTimeout(() => {
      abandoned.value = true;
      resolve({ name, ok: false, note: `did not start within ${(config.timeoutMs / 1000).toFixed(0)} s` });
    }, config.timeoutMs);
  });
  try {
    return await Promise.race([probeCandidate(name, config, started, abandoned), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function probeCandidate(
  name: BackendName,
  config: ProbeConfig,
  started: Set<BackendName>,
  abandoned: { value: boolean },
): Promise<BackendProbe> {
  const preflight = config.preflight ?? (await runPreflight(name, config.timeoutMs));
  if (preflight.failure !== undefined) {
    const probe: BackendProbe = { name, ok: false, note: preflight.failure };
    if (preflight.renderer !== undefined) probe.renderer = preflight.renderer;
    if (preflight.software !== undefined) probe.software = preflight.software;
    return probe;
  }

  try {
    await importBackend(name, config.wasmPathPrefix);
  } catch (error) {
    return { name, ok: false, note: `its code failed to load: ${errorText(error)}` };
  }
  if (abandoned.value) return { name, ok: false, note: 'timed out' };

  const { ok: setOk, warnings } = await captureWarnings(() => tf.setBackend(name).catch(() => false));
  if (abandoned.value) return { name, ok: false, note: 'timed out' };
  if (!setOk || tf.getBackend() !== name) {
    const detail = warnings.find((line) => !line.startsWith('Initialization of backend')) ?? warnings[0];
    const where = name === 'wasm' && config.wasmPathPrefix ? ` from ${config.wasmPathPrefix}` : '';
    return { name, ok: false, note: detail ? `initialisation${where} failed: ${firstLine(detail)}` : `tf.setBackend('${name}') failed${where}` };
  }
  started.add(name);

  const renderer = preflight.renderer ?? readRenderer(name);
  const software = preflight.software ?? (renderer !== undefined && SOFTWARE_RENDERER.test(renderer));
  const isGpu = name === 'webgl' || name === 'webgpu';
  // Only defined fields, so the probes the page receives carry no empty keys.
  const identity: Pick<BackendProbe, 'renderer' | 'software'> = {};
  if (renderer !== undefined) identity.renderer = renderer;
  if (isGpu) identity.software = software;

  let mismatch: string | null;
  try {
    mismatch = await runSelfCheck();
  } catch (error) {
    mismatch = `it threw ${errorText(error)}`;
  }
  if (abandoned.value) return { name, ok: false, note: 'timed out' };
  if (mismatch !== null) {
    return { name, ok: false, note: `numeric self-check failed: ${mismatch}`, ...identity };
  }
  if (!config.timeProbe) {
    return { name, ok: true, ...identity };
  }

  try {
    const probeMs = await timeTrainingStep(abandoned);
    return { name, ok: true, probeMs, ...identity };
  } catch (error) {
    return { name, ok: false, note: `the timing probe failed: ${errorText(error)}`, ...identity };
  }
}

interface Preflight {
  failure?: string;
  renderer?: string;
  software?: boolean;
}

/**
 * Checks what the environment offers before tfjs tries, so a failure gets a specific reason.
 * A check that never settles (a WebGPU adapter request may not) counts as a failure after `timeoutMs`.
 */
async function runPreflight(name: BackendName, timeoutMs: number): Promise<Preflight> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Preflight>((resolve) => {
    timer = setTimeout(() => resolve({ failure: `its availability check did not finish within ${(timeoutMs / 1000).toFixed(0)} s` }), timeoutMs);
  });
  try {
    return await Promise.race([preflightCheck(name), timeout]);
  } catch (error) {
    return { failure: `its availability check failed: ${errorText(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

async function preflightCheck(name: BackendName): Promise<Preflight> {
  switch (name) {
    case 'webgpu':
      return preflightWebGpu();
    case 'webgl':
      return preflightWebGl();
    case 'wasm':
      return typeof WebAssembly === 'undefined' ? { failure: 'WebAssembly is not available' } : {};
    case 'cpu':
      return {};
  }
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: Record<string, unknown>;
  requestAdapterInfo?: () => Promise<Record<string, unknown>>;
}

async function preflightWebGpu(): Promise<Preflight> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(options?: object): Promise<GpuAdapterLike | null> } } | undefined)?.gpu;
  if (!gpu) return { failure: 'WebGPU is not available in this browser' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { failure: 'the browser offers no WebGPU adapter' };

  const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  const renderer = ['vendor', 'architecture', 'device', 'description']
    .map((key) => info[key])
    .filter((value): value is string => typeof value === 'string' && value.length > 0)
    .join(' ');
  const software = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || SOFTWARE_RENDERER.test(renderer);
  return { renderer: renderer || undefined, software };
}

interface WebGlLike {
  RENDERER: number;
  getExtension(name: string): unknown;
  getParameter(parameter: number): unknown;
  isContextLost(): boolean;
  canvas?: { addEventListener?(type: string, listener: () => void): void };
}

/** The unmasked renderer via WEBGL_debug_renderer_info where offered, else RENDERER (Firefox unmasks that). */
function readWebGlRenderer(gl: WebGlLike): string | undefined {
  const debugInfo = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null;
  const value = debugInfo ? gl.getParameter(debugInfo.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * tfjs-backend-webgl 4.22 asks for a context with failIfMajorPerformanceCaveat, so a
 * blocklisted or software-only GPU fails without a reason. A context of our own tells why.
 */
function preflightWebGl(): Preflight {
  if (typeof OffscreenCanvas === 'undefined') {
    return typeof document === 'undefined'
      ? { failure: 'WebGL in a worker needs OffscreenCanvas, which this browser lacks' }
      : {};
  }
  const attributes = { failIfMajorPerformanceCaveat: true };
  let gl = new OffscreenCanvas(1, 1).getContext('webgl2', attributes) as unknown as WebGlLike | null;
  let failure: string | undefined;
  if (!gl) {
    gl = new OffscreenCanvas(1, 1).getContext('webgl2') as unknown as WebGlLike | null;
    failure = gl ? 'WebGL 2 is only offered with a major performance caveat (blocklisted or software GPU)' : 'WebGL 2 is not available';
  }
  if (!gl) return { failure };

  const renderer = readWebGlRenderer(gl);
  (gl.getExtension('WEBGL_lose_context') as { loseContext(): void } | null)?.loseContext();
  const software = renderer !== undefined && SOFTWARE_RENDERER.test(renderer);
  return { failure, renderer, software: failure ? true : software };
}

interface WebGlBackendLike {
  gpgpu?: { gl?: WebGlLike };
}

interface WebGpuBackendLike {
  device?: { lost?: Promise<{ message?: string; reason?: string }> };
}

function readRenderer(name: BackendName): string | undefined {
  if (name !== 'webgl') return undefined;
  const gl = (tf.backend() as unknown as WebGlBackendLike).gpgpu?.gl;
  return gl ? readWebGlRenderer(gl) : undefined;
}

let wasmPathSet = false;

async function importBackend(name: BackendName, wasmPathPrefix: string | undefined): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // tfjs-backend-wasm 4.22's multi-threaded build hangs in a minified, cross-origin
      // isolated page, so the single-threaded SIMD build is forced. The flag exists once the
      // package is imported and is read when the backend starts.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (wasmPathPrefix !== undefined && !wasmPathSet) {
        wasm.setWasmPaths(wasmPathPrefix);
        wasmPathSet = true;
      }
      registerWasmTrainingKernels();
      return;
    }
  }
}

/** Runs `action` and collects console.warn lines, where tfjs 4.22 reports why a backend failed to start. */
async function captureWarnings<T>(action: () => Promise<T>): Promise<{ ok: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' '));
    original.apply(console, args);
  };
  try {
    return { ok: await action(), warnings };
  } finally {
    console.warn = original;
  }
}

// ---------------------------------------------------------------------------------------------
// Self-check and timing probe

/** Compares `actual` with `expected` to 1e-3 relative; returns a description of the first mismatch. */
function compareValues(label: string, actual: ArrayLike<number>, expected: number[]): string | null {
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= 1e-3 * Math.max(1, Math.abs(expected[i])))) {
      return `${label} gave [${Array.from(actual).join(', ')}], expected [${expected.join(', ')}]`;
    }
  }
  return null;
}

/**
 * Checks a 2×2 matmul, a 2×2 valid conv over the 3×3 image 1…9, and the conv's filter
 * gradient, against values worked out by hand. Returns null when all match.
 */
async function runSelfCheck(): Promise<string | null> {
  const outputs = tf.tidy(() => {
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
    const image = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const filter = tf.ones([2, 2, 1, 1]) as tf.Tensor4D;
    const convolved = tf.conv2d(image, filter, 1, 'valid');
    // d/dW Σ conv(x, W) at tap (p, q) is the sum of the 2×2 window of x at (p, q).
    const filterGradient = tf.grad((w) => tf.sum(tf.conv2d(image, w as tf.Tensor4D, 1, 'valid')))(filter);
    return [product, convolved, filterGradient];
  });
  try {
    const [product, convolved, filterGradient] = await Promise.all(outputs.map((tensor) => tensor.data()));
    return (
      compareValues('matMul', product, [19, 22, 43, 50]) ??
      compareValues('conv2d', convolved, [12, 16, 24, 28]) ??
      compareValues('conv2d filter gradient', filterGradient, [12, 16, 24, 28])
    );
  } finally {
    tf.dispose(outputs);
  }
}

/**
 * Median milliseconds of a dVAE-like training step: two 3×3 convs (1→16 at 28×28, 16→32 at
 * stride 2) on a batch of 16, forward and backward, read back to the CPU. Two warm-up runs
 * absorb shader compilation.
 */
async function timeTrainingStep(abandoned: { value: boolean }): Promise<number> {
  const warmupRuns = 2;
  const timedRuns = 5;
  const images = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const initial1 = tf.randomNormal([3, 3, 1, 16], 0, 0.3, 'float32', 2);
  const initial2 = tf.randomNormal([3, 3, 16, 32], 0, 0.1, 'float32', 3);
  const filter1 = tf.variable(initial1);
  const filter2 = tf.variable(initial2);
  tf.dispose([initial1, initial2]);
  const times: number[] = [];
  try {
    for (let run = 0; run < warmupRuns + timedRuns; run++) {
      const start = performance.now();
      const checksum = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const hidden = tf.relu(tf.conv2d(images, filter1 as tf.Tensor4D, 1, 'same'));
          return tf.mean(tf.square(tf.conv2d(hidden, filter2 as tf.Tensor4D, 2, 'same'))) as tf.Scalar;
        }, [filter1, filter2]);
        // One scalar that depends on every gradient, so the readback waits for all of them.
        return tf.addN([value, ...Object.values(grads).map((grad) => tf.sum(grad))]);
      });
      await checksum.data();
      checksum.dispose();
      if (abandoned.value) throw new Error('timed out');
      if (run >= warmupRuns) times.push(performance.now() - start);
    }
  } finally {
    tf.dispose([images, filter1, filter2]);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

// ---------------------------------------------------------------------------------------------
// Health

/** Watches the GPU context or device of the chosen backend for loss. */
export function watchBackend(name: BackendName): BackendHealth {
  let reason: string | null = null;
  let reject: (error: Error) => void = () => {};
  const lost = new Promise<never>((_, rejectLost) => {
    reject = rejectLost;
  });
  // Nobody may be racing with `lost` when it rejects; that must not count as unhandled.
  lost.catch(() => {});
  const markLost = (why: string) => {
    if (reason !== null) return;
    reason = why;
    reject(new ModelWorkerError('backend', `The ${name} backend stopped working: ${why}. Reload the page, or add ?backend=wasm to its address.`));
  };

  let gl: WebGlLike | undefined;
  if (name === 'webgl') {
    gl = (tf.backend() as unknown as WebGlBackendLike).gpgpu?.gl;
    gl?.canvas?.addEventListener?.('webglcontextlost', () => markLost('the WebGL context was lost'));
    // Also polled, because a read that waits on a GPU fence may be the only thing running
    // when the context goes, and `lost` must reject for the reads that race with it.
    const poll = setInterval(() => {
      if (gl?.isContextLost()) markLost('the WebGL context was lost');
      if (reason !== null) clearInterval(poll);
    }, CONTEXT_POLL_MS);
  }
  if (name === 'webgpu') {
    void (tf.backend() as unknown as WebGpuBackendLike).device?.lost?.then((info) => {
      markLost(`the WebGPU device was lost (${info.message || info.reason || 'no reason given'})`);
    });
  }

  return {
    lostReason() {
      if (reason === null && gl?.isContextLost()) markLost('the WebGL context was lost');
      return reason;
    },
    lost,
  };
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
