/**
 * The typed contract between the page and the model worker (exposed with comlink).
 *
 * The worker owns every tensor. The page sends and receives plain data: typed arrays,
 * numbers and strings. All images are 28×28 row-major Float32Array values in [0, 1]
 * (ink = 1) and all token grids are 7×7 row-major Int32Array values.
 */
import type { ModelCard } from '../card';
import type { CaptionGeneratorName } from '../caption-ablation';
import type { WrittenCaption } from '../captioner';
import type { DigitAttributes, DigitMeasurements } from '../data/attributes';

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

export const MODEL_NAMES = [
  'dvae',
  'classifier',
  'clip',
  'dalle',
  'decoder',
  'prior',
  'captioner',
  'captions-short',
  'captions-descriptive',
  'captions-blend',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
/**
 * Models the worker can train. The classifier is the referee and is never trained in the
 * page; the captioner and the caption-ablation generators train only with `npm run train`.
 */
export type TrainableModelName = Exclude<ModelName, 'classifier' | 'captioner' | CaptionGeneratorName>;
/** Models that read captions through the BPE tokenizer shipped beside their weights. */
export type TextModelName = 'clip' | 'dalle' | CaptionGeneratorName;
/** The DALL·E-mini checkpoints `sampleDalle` draws from: the shipped one and the three caption-ablation generators. */
export type DalleModelName = 'dalle' | CaptionGeneratorName;

/** One token of an encoded prompt, in stream order, without padding. */
export interface PromptToken {
  id: number;
  /** The token's text ('<bos>', '<eos>', '<unk>' for the special ids). */
  text: string;
  /** True for the unknown-token id: characters the vocabulary cannot spell. */
  unknown: boolean;
}

/** A caption model's reading of a prompt, shown beside the prompt box. */
export interface PromptReading {
  /** The prompt as given, at most `MAX_PROMPT_CHARACTERS` characters of it. */
  text: string;
  /** The text the tokenizer encodes: lowercased, with whitespace folded. */
  normalized: string;
  /** The model's input ids, `maxLength` of them: BOS, tokens, EOS, then PAD. */
  ids: Int32Array;
  /** The non-padding tokens that fit, in order, BOS and EOS included. */
  tokens: PromptToken[];
  /** Each word of `normalized`; `known` when the synthetic captions use it. */
  words: { text: string; known: boolean }[];
  /** Words the captions never use, in order of first appearance. */
  unknownWords: string[];
  /** Every word the synthetic captions use, sorted: the model's whole vocabulary of words. */
  vocabularyWords: string[];
  /** The digit a known word names ("seven", "7"), or null when the prompt names none. */
  digit: number | null;
  /** True when the ids were cut to `maxLength`. `droppedTokens` counts the tokens that did not fit. */
  truncated: boolean;
  droppedTokens: number;
  maxLength: number;
  /** True when the prompt has no characters other than whitespace. */
  empty: boolean;
  /** True when the given text was longer than `MAX_PROMPT_CHARACTERS` and was cut before encoding. */
  clipped: boolean;
}

/** Prompts longer than this are cut before tokenizing; the model reads far fewer tokens anyway. */
export const MAX_PROMPT_CHARACTERS = 500;
/** Most samples one `sampleDalle` call draws. */
export const MAX_DALLE_SAMPLES = 64;
/** Highest sampling temperature accepted; larger values are clamped with a notice. */
export const MAX_TEMPERATURE = 5;

export interface ClipEmbedRequest {
  /** 28×28 images in [0, 1], `imageCount` of them. */
  images?: Float32Array;
  imageCount?: number;
  /** Captions or prompts, each read as `readPrompt` reads it. */
  texts?: string[];
}

export interface ClipEmbedResult {
  /** Unit-length image embeddings, [imageCount, dim]. */
  images: Float32Array;
  /** Unit-length text embeddings, [texts.length, dim]. */
  texts: Float32Array;
  dim: number;
  /** The learned logit scale (1 / temperature), at most 100. */
  logitScale: number;
  /** The reading of each text. */
  readings: PromptReading[];
}

export interface ZeroShotResult {
  /** The ten prompts, digit 0 first, made from the template. */
  prompts: string[];
  /** Cosine similarity of each image with each prompt, [count, 10]. */
  similarities: Float32Array;
  /** Softmax over the ten prompts of logitScale × cosine, [count, 10]. */
  probabilities: Float32Array;
  /** The digit with the highest similarity, [count]. */
  predicted: Int32Array;
  logitScale: number;
}

export interface DalleSampleRequest {
  prompt: string;
  /** Samples to draw, 1 … MAX_DALLE_SAMPLES. */
  count: number;
  /** 0 is greedy; clamped to [0, MAX_TEMPERATURE]. */
  temperature: number;
  /** Most likely codes kept at each step, 0 keeps all; clamped to [0, imageVocabSize]. */
  topK: number;
  /** Nucleus mass; clamped to [0.01, 1]. */
  topP: number;
  /** Integer seed; the same seed and settings repeat the samples on the same backend. */
  seed: number;
  /** Decode with the key/value cache (default true) or recompute the prefix at every step. */
  useCache?: boolean;
  /** Score every sample with CLIP against the prompt and return them best first; only for the model 'dalle'. */
  rerank?: boolean;
  /** The checkpoint to sample (default 'dalle'). Each reads prompts with the tokenizer shipped beside it. */
  model?: DalleModelName;
}

export interface DalleSampleResult {
  /** The checkpoint that drew the samples. */
  model: DalleModelName;
  prompt: PromptReading;
  /** The settings used, after clamping. */
  settings: { count: number; temperature: number; topK: number; topP: number; seed: number; useCache: boolean; rerank: boolean };
  /** Reader-facing notes: clamped settings, a truncated prompt, words the model never saw. */
  notices: string[];
  /** [count, 49] image codes in the returned order. */
  tokens: Int32Array;
  /** [count, 28, 28] dVAE decodings of `tokens`. */
  images: Float32Array;
  /** Draw index of each returned sample: the identity without reranking, best first with it. */
  order: Int32Array;
  /** CLIP cosine between each returned image and the prompt, [count]; present when reranked. */
  clipScores?: Float32Array;
  /** Wall-clock milliseconds of the sampling loop alone. */
  samplingMs: number;
}

/** Attention and predicted code distributions of the transformer for one finished sample. */
export interface DalleInspection {
  prompt: PromptReading;
  layers: number;
  heads: number;
  /** Stream positions L = textLength + 48; position i < textLength is text token i. */
  length: number;
  textLength: number;
  /** Softmax attention, [layers, heads, L, L] row-major. Row q contains query q's weights over keys 0 … q. */
  attention: Float32Array;
  /** The five most likely codes at each of the 49 image positions, [49, 5], and their probabilities. */
  topCodes: Int32Array;
  topProbabilities: Float32Array;
  /** Probability the model gave the code that was drawn at each position, [49]. */
  chosenProbability: Float32Array;
}

/** The captioner's caption of each image, beside the attributes measured from its pixels. */
export interface CaptionResult {
  /** The captioner's caption of each image; null for a blank image (no pixel reaches `INK_THRESHOLD`). */
  captions: (WrittenCaption | null)[];
  /** Each image measured from its pixels with `measureDigit`; null for a blank image. */
  measurements: (DigitMeasurements | null)[];
  /** The attribute buckets of each measurement (`attributesOf`); null for a blank image. */
  attributes: (DigitAttributes | null)[];
  /**
   * Each image redrawn as MNIST draws its digits (`normalizeLikeMnist`), [count, 28, 28]: the
   * input the referee classifier was trained on. Blank images stay blank.
   */
  normalized: Float32Array;
}

/** Test digits placed at a new size and position, as the captioner and the caption-ablation generators are evaluated on them. */
export interface PlacedDigits {
  /** Index of each digit in the MNIST test split. */
  indices: Int32Array;
  /** [count, 28, 28] placed digits in [0, 1], rounded to bytes as `placeSplit` stores them. */
  images: Float32Array;
  labels: Int32Array;
  /** Each placed digit measured from its pixels; null only for a digit with no pixel at `INK_THRESHOLD`. */
  measurements: (DigitMeasurements | null)[];
  attributes: (DigitAttributes | null)[];
  /** "a handwritten seven": the caption alt-text would give. */
  shortCaptions: string[];
  /** The descriptive caption measured from the pixels, or the short one where the digit is too faint to measure. */
  descriptiveCaptions: string[];
}

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

/** Most images one unCLIP or decoder call draws. */
export const MAX_DIFFUSION_SAMPLES = 16;
/** Largest classifier-free guidance scale accepted; larger values are clamped with a notice. */
export const MAX_GUIDANCE_SCALE = 10;
/** Most prior candidates per image; each one adds `count` rows to every prior step. */
export const MAX_PRIOR_CANDIDATES = 8;

/** Settings of one reverse diffusion run; out-of-range values are clamped with a notice. */
export interface DiffusionSettings {
  /** 'ddpm' (ancestral) or 'ddim'. */
  method: 'ddpm' | 'ddim';
  /** Denoising steps, 1 … the model's T (clamped). */
  steps: number;
  /** DDIM's η in [0, 1]; ignored by DDPM. */
  eta: number;
  /** Classifier-free guidance scale w in [0, MAX_GUIDANCE_SCALE]; 1 is the conditional prediction alone. */
  guidanceScale: number;
  /** Integer seed of the starting noise and every step's noise. */
  seed: number;
}

/** One reverse step of the decoder, streamed while it samples. */
export interface DiffusionStepReport {
  /** Step index, 0 for the noisiest, and the number of steps in the run. */
  index: number;
  count: number;
  /** Timestep just denoised, T − 1 … 0. */
  t: number;
  /** The current, less noisy images, [count, 28, 28] mapped to pixels in [0, 1]. */
  images: Float32Array;
  /** The network's prediction of the clean images at this step, [count, 28, 28] in [0, 1]. */
  predictedClean: Float32Array;
}

export interface ForwardNoiseRequest {
  /** Clean images in [0, 1], `count` of them. */
  images: Float32Array;
  count: number;
  /** One timestep for every image, or one per image; each in 0 … T − 1 of the decoder's schedule. */
  timesteps: number[];
  seed: number;
}

export interface ForwardNoiseResult {
  /** x_t mapped from [−1, 1] to [0, 1] for display (values outside are clipped), [count, 28, 28]. */
  noisy: Float32Array;
  /** ᾱ_t of each image's timestep. */
  alphaBars: number[];
}

export interface DecodeEmbeddingRequest extends DiffusionSettings {
  /** Unit CLIP image embeddings, [count, dim], e.g. from `clipEmbed`, a slerp, or a text diff. */
  embeddings: Float32Array;
  count: number;
}

export interface DecodeEmbeddingResult {
  /** [count, 28, 28] pixels in [0, 1]. */
  images: Float32Array;
  settings: DiffusionSettings;
  notices: string[];
  /** True when `cancelSampling` stopped the run; `images` then show the last state. */
  interrupted: boolean;
  timesteps: number[];
  samplingMs: number;
}

export interface UnclipSampleRequest extends DiffusionSettings {
  prompt: string;
  /** Images to draw, 1 … MAX_DIFFUSION_SAMPLES. */
  count: number;
  /** Prior: denoising steps (1 … its T), guidance scale, and candidates per image (default 2). */
  priorSteps?: number;
  priorGuidanceScale?: number;
  priorCandidates?: number;
}

export interface UnclipSampleResult extends DecodeEmbeddingResult {
  prompt: PromptReading;
  /** The prompt's unit CLIP text embedding, [dim]. */
  textEmbedding: Float32Array;
  /** The prior's unit image embeddings, [count, dim]: what the decoder was conditioned on. */
  imageEmbeddings: Float32Array;
  /** CLIP cosine between each final image and the prompt, [count]. */
  clipScores: Float32Array;
  dim: number;
}

export interface TrainingOptions {
  /** The model to train; default 'dvae'. */
  model?: TrainableModelName;
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

/** CLIP's view of a fixed preview batch: test digits and one caption each. */
export interface ClipPreview {
  /** Cosine similarity of image i (rows) with caption j (columns), [n, n]. */
  similarity: Float32Array;
  labels: Int32Array;
  captions: string[];
  /** [n, 28, 28] the preview digits. */
  images: Float32Array;
  logitScale: number;
}

/** DALL·E-mini's samples for fixed prompts, one per digit, drawn with a fixed seed. */
export interface DallePreview {
  prompts: string[];
  /** [prompts.length, 28, 28] */
  images: Float32Array;
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
  /** Fixed test digits and their current reconstructions, [previewCount, 28, 28] each (dVAE). */
  preview?: { originals: Float32Array; reconstructions: Float32Array };
  /** The model this run trains. */
  model?: TrainableModelName;
  /** The similarity matrix of the preview batch (CLIP). */
  clip?: ClipPreview;
  /**
   * Samples for fixed prompts (DALL·E-mini). Drawing them costs several steps, so a running
   * report carries them at most every few seconds; reports at start, pause and single steps always do.
   */
  dalle?: DallePreview;
  /**
   * Decoder: the preview digits (`originals`) and images drawn for their CLIP image
   * embeddings (`samples`, DDIM with few steps), at most every few seconds. Prior: for each
   * preview digit, the cosine of the predicted clean embedding with the true one (`cosines`).
   */
  diffusion?: { originals: Float32Array; samples?: Float32Array; cosines?: Float32Array };
  state: TrainingState;
  /** Download progress of the training shards while `state` is 'loading-data'. */
  dataProgress?: { loadedBytes: number; totalBytes: number };
  /** The reason training stopped, when `state` is 'error'. */
  failure?: WorkerFailure;
}

/** The preview fields of a training report, drawn for weights that were loaded rather than trained (`previewWeights`). */
export type TrainingPreview = Pick<TrainingProgress, 'preview' | 'clip' | 'dalle' | 'diffusion'>;

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
   * `count` test digits from `start`, each placed with `placeDigit` and `PLACEMENT_TEST_SEED`
   * exactly as `placeSplit` places the test split, with their measurements and both captions.
   */
  placedDigits(start: number, count: number): Promise<PlacedDigits>;
  /** The captioner's descriptive caption of each image, beside the attributes measured from its pixels. */
  caption(images: Float32Array, count: number): Promise<CaptionResult>;

  /** Reads a prompt as the caption model `name` does (CLIP, DALL·E-mini or a caption-ablation generator): tokens, unknown words, truncation. */
  readPrompt(name: TextModelName, text: string): Promise<PromptReading>;
  /** CLIP embeddings of images and texts, with the logit scale. */
  clipEmbed(request: ClipEmbedRequest): Promise<ClipEmbedResult>;
  /**
   * Zero-shot classification: each image against ten prompts made from `template`, where
   * "{word}" becomes the digit's word and "{digit}" its numeral. Default "a handwritten {word}".
   */
  zeroShot(images: Float32Array, count: number, template?: string): Promise<ZeroShotResult>;
  /**
   * Draws image tokens for a prompt from `request.model` (default 'dalle') and decodes them
   * with the dVAE. `onToken` (optional) is called after each of the 49 positions with that
   * position and the codes drawn for every sample.
   */
  sampleDalle(request: DalleSampleRequest, onToken?: (position: number, tokens: Int32Array) => void): Promise<DalleSampleResult>;
  /** Attention of every layer and head and the per-position code distribution for one sample's 49 codes. */
  inspectDalle(prompt: string, tokens: Int32Array): Promise<DalleInspection>;

  /** Noises clean images to chosen timesteps with q(x_t | x_0) of the decoder's schedule. */
  forwardNoise(request: ForwardNoiseRequest): Promise<ForwardNoiseResult>;
  /**
   * Runs the decoder from noise to images for given CLIP image embeddings (variations,
   * interpolations, text diffs). `onStep` receives every reverse step.
   */
  decodeEmbedding(request: DecodeEmbeddingRequest, onStep?: (step: DiffusionStepReport) => void): Promise<DecodeEmbeddingResult>;
  /** The whole unCLIP pipeline: prompt → CLIP text embedding → prior → image embedding → decoder → images. */
  sampleUnclip(request: UnclipSampleRequest, onStep?: (step: DiffusionStepReport) => void): Promise<UnclipSampleResult>;
  /** Stops a running `decodeEmbedding` or `sampleUnclip` after its current step; it resolves with `interrupted: true`. */
  cancelSampling(): Promise<void>;

  /**
   * Training of `options.model` (default the dVAE) from fresh weights (or the loaded ones, with `fromCurrent`; their
   * schedules then restart at step 0). Resolves when the run ends: all `totalSteps` done, or
   * reset. Rejects with the failure that stopped it ('nan', 'data', 'backend'); that failure
   * is also sent as a last progress report with state 'error'.
   */
  startTraining(options: TrainingOptions & { fromCurrent?: boolean }, onProgress: (progress: TrainingProgress) => void): Promise<void>;
  pauseTraining(): Promise<void>;
  resumeTraining(): Promise<void>;
  /** Runs exactly one step while paused and returns its report, which also goes to `onProgress`. */
  stepTraining(): Promise<TrainingProgress>;
  /** Stops training and restores fresh weights of the run's model with the same seed; the run's last report has state 'idle'. */
  resetTraining(): Promise<void>;

  /**
   * Draws the preview a training report of `name` carries (reconstructions, similarity matrix,
   * samples or cosines) for the weights in memory, on the preview digits and seeds a run with
   * `previewCount` uses. Rejects with an 'input' failure while that model trains or before it has weights.
   */
  previewWeights(name: TrainableModelName, previewCount: number): Promise<TrainingPreview>;

  /** Saves the model's current weights and card to IndexedDB under its name. */
  save(name: ModelName): Promise<{ savedAt: string; bytes: number }>;
  /** Whether IndexedDB holds saved weights for the model, and when they were saved. */
  savedInfo(name: ModelName): Promise<{ savedAt: string; step: number } | null>;
  /** Deletes the model's saved weights from IndexedDB (the fix for a corrupt record); false when none were saved. */
  deleteSaved(name: ModelName): Promise<boolean>;
  /** A packed single-file checkpoint of the current weights, for download. */
  exportFile(name: ModelName): Promise<Uint8Array>;
}
