/**
 * ModelHost: the model worker's logic without the worker. It implements `ModelWorkerApi`
 * over plain data, so worker.ts only wires it to comlink and Node tests drive it directly.
 * It uses no DOM API: `fetch`, IndexedDB and the backend are all passed in or probed.
 *
 * The host owns every tensor. Each model name has at most one set of weights in memory,
 * and new weights replace old ones only after they have been fully validated.
 */
import * as tf from '../tf';
import type { ModelCard } from '../card';
import {
  assignParams,
  CheckpointError,
  CHECKPOINT_FORMAT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
  fetchCheckpoint,
  packCheckpoint,
  unpackCheckpoint,
  type Checkpoint,
} from '../checkpoint';
import { CAPTION_GENERATORS, isCaptionGenerator } from '../caption-ablation';
import { captionerShapes, DEFAULT_CAPTIONER_CONFIG, writeCaptions, type Captioner, type CaptionerConfig } from '../captioner';
import { classifierShapes, DEFAULT_CLASSIFIER_CONFIG, type Classifier } from '../classifier';
import { clipShapes, DEFAULT_CLIP_CONFIG, type Clip } from '../clip';
import { attributesOf, descriptiveCaption, measureDigit, normalizeLikeMnist, placeDigit, PLACEMENT_TEST_SEED, shortCaption } from '../data/attributes';
import { DIGIT_WORDS } from '../data/captions';
import { DataError, fetchSource, loadIndex, loadSplit, PIXELS, type DataSource, type MnistSplit } from '../data/mnist';
import { deriveSeed, Rng, tfjsSeed } from '../data/rng';
import { sha256Hex } from '../data/sha256';
import { decoderShapes, DEFAULT_DECODER_CONFIG, toDataRange, toPixels, type Decoder, type DecoderConfig } from '../decoder';
import { makeSchedule, NonFiniteSampleError, qSample, type NoiseSchedule } from '../diffusion';
import { DEFAULT_DVAE_CONFIG, dvaeShapes, GRID_SIZE, type Dvae } from '../dvae';
import { paramCount, type ParamShapes } from '../nn';
import { DEFAULT_PRIOR_CONFIG, priorShapes, type Prior, type PriorConfig } from '../prior';
import { CAPTION_GENERATOR_CONFIG, createModel, DALLE_SHIPPED_CONFIG, TITLES, type ModelHandle } from '../registry';
import { rerankWithClip } from '../rerank';
import { BpeTokenizer } from '../text/bpe';
import { readPrompt as readPromptWith } from '../text/prompt';
import { IMAGE_TOKENS, transformerShapes, type DalleMini, type TransformerConfig } from '../transformer';
import { NonFiniteLossError } from '../trainer';
import { selectBackend, type BackendHealth, type BackendSelection, type BackendSelectionOptions } from './backend';
import {
  MAX_DALLE_SAMPLES,
  MAX_DIFFUSION_SAMPLES,
  MAX_GUIDANCE_SCALE,
  MAX_PROMPT_CHARACTERS,
  MAX_TEMPERATURE,
  MODEL_NAMES,
  ModelWorkerError,
  type CaptionResult,
  type ClipEmbedRequest,
  type ClipEmbedResult,
  type DalleInspection,
  type DalleModelName,
  type DalleSampleRequest,
  type DalleSampleResult,
  type DecodeEmbeddingRequest,
  type DecodeEmbeddingResult,
  type DiffusionSettings,
  type DiffusionStepReport,
  type ForwardNoiseRequest,
  type ForwardNoiseResult,
  type PromptReading,
  type TextModelName,
  type TrainableModelName,
  type ZeroShotResult,
  type BackendInfo,
  type BackendName,
  type BackendProbe,
  type LoadedModelInfo,
  type ModelName,
  type ModelWorkerApi,
  type PlacedDigits,
  type TokenizeResult,
  type TrainingOptions,
  type TrainingPreview,
  type TrainingProgress,
  type UnclipSampleRequest,
  type UnclipSampleResult,
  type WeightsSource,
  MAX_PRIOR_CANDIDATES,
} from './protocol';
import { StorageError, WeightsStore } from './storage';
import {
  clipSubject,
  dalleSubject,
  decoderSubject,
  dvaeSubject,
  MAX_PREVIEW_COUNT,
  pickPreviewDigits,
  priorSubject,
  TrainingRun,
  validateTrainingOptions,
  yieldToEventLoop,
  type TrainingSubject,
  type TrainingSummary,
} from './training';

/** Seed of fresh weights loaded without training options; `npm run train` uses the same default. */
const DEFAULT_SEED = 1;
/** Most images one tokenize, decode or classify call accepts (about 3 MB of pixels). */
const MAX_IMAGES_PER_CALL = 1024;

export interface ModelHostOptions {
  /** `fetch` for data and checkpoints; tests pass one that reads public/ from disk. */
  fetch?: typeof fetch;
  /** Saved-weights store; defaults to IndexedDB of the worker. */
  store?: WeightsStore;
  /**
   * Folder of the tfjs .wasm binaries. Undefined: `${baseUrl}tfjs-wasm/`, where the site
   * serves them. Null: the package's own folder, which is what Node needs.
   */
  wasmPathPrefix?: string | null;
  /** Backend candidates in preference order; tests narrow them. */
  backendCandidates?: readonly BackendName[];
  /** Backend selection; tests wrap the real one to simulate a lost GPU. */
  selectBackend?: (options: BackendSelectionOptions) => Promise<BackendSelection>;
}

interface LoadedModel {
  handle: ModelHandle;
  info: LoadedModelInfo;
  seed: number;
  /** The run that last changed these weights, for the card of saved weights. */
  training?: TrainingSummary;
}

export class ModelHost implements ModelWorkerApi {
  private readonly fetchImpl: typeof fetch;
  private readonly store: WeightsStore;
  private selection: Promise<BackendSelection> | null = null;
  private health: BackendHealth | null = null;
  private baseUrl = '';
  private readonly models = new Map<ModelName, LoadedModel>();
  private readonly pendingLoads = new Map<ModelName, Promise<LoadedModel>>();
  private testSplit: Promise<MnistSplit> | null = null;
  private trainSplit: { maxExamples: number; split: Promise<MnistSplit> } | null = null;
  private run: TrainingRun | null = null;
  /** The model the current or last run trains. */
  private runModel: TrainableModelName = 'dvae';
  private readonly tokenizers = new Map<TextModelName, Promise<BpeTokenizer>>();
  /** Diffusion sampling calls in progress; `cancelSampling` flags them all. */
  private readonly samplingCalls = new Set<SamplingCall>();

  constructor(private readonly options: ModelHostOptions = {}) {
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.store = options.store ?? new WeightsStore();
  }

  // -------------------------------------------------------------------------------------------
  // Backend

  init(options: { baseUrl: string; backend?: BackendName; probes?: BackendProbe[] }): Promise<BackendInfo> {
    return this.guard(async () => {
      if (this.selection === null) {
        if (typeof options?.baseUrl !== 'string') {
          throw new ModelWorkerError('internal', `init() needs the site's base URL as a string, got ${String(options?.baseUrl)}.`);
        }
        this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
        const wasmPathPrefix = this.options.wasmPathPrefix === null ? undefined : (this.options.wasmPathPrefix ?? `${this.baseUrl}tfjs-wasm/`);
        const select = this.options.selectBackend ?? selectBackend;
        this.selection = select({
          requested: options.backend,
          earlierProbes: options.probes,
          wasmPathPrefix,
          candidates: this.options.backendCandidates,
        });
        // A failed selection may be retried with another call.
        this.selection.catch(() => {
          this.selection = null;
        });
      }
      const selection = await this.selection;
      this.health = selection.health;
      return selection.info;
    });
  }

  /** Waits for init() and throws a 'backend' failure when the backend has been lost since. */
  private async ready(): Promise<BackendHealth> {
    if (this.selection === null) {
      throw new ModelWorkerError('internal', 'The model worker was used before init() picked a backend. Reload the page.');
    }
    const { health } = await this.selection;
    this.health = health;
    if (health.lostReason() !== null) await health.lost;
    return health;
  }

  /** Reads tensors to the CPU (copied, so they can be transferred) and disposes them; fails instead of hanging on a lost GPU. */
  private async read<T extends Float32Array | Int32Array>(tensors: tf.Tensor[]): Promise<T[]> {
    try {
      const reads = Promise.all(tensors.map((tensor) => tensor.data()));
      const values = await Promise.race([reads, this.health!.lost]);
      return values.map((array) => array.slice() as T);
    } finally {
      tf.dispose(tensors);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Weights

  load(name: ModelName, source: WeightsSource): Promise<LoadedModelInfo> {
    return this.guard(async () => {
      await this.ready();
      this.checkModelName(name);
      this.checkNotTraining(name, 'load other weights');
      const loaded = await this.loadWeights(name, source);
      return { ...loaded.info };
    });
  }

  loadFile(name: ModelName, bytes: Uint8Array, fileName: string): Promise<LoadedModelInfo> {
    return this.guard(async () => {
      await this.ready();
      this.checkModelName(name);
      this.checkNotTraining(name, 'load a file');
      if (!(bytes instanceof Uint8Array)) {
        throw new ModelWorkerError('input', `The file ${fileName} arrived as ${Object.prototype.toString.call(bytes)}, not as bytes. Pick the file again.`);
      }
      const checkpoint = unpackCheckpoint(bytes, `The file ${fileName}`);
      const config = await this.configFor(name);
      const values = await decodeCheckpoint(checkpoint, { model: name, shapes: shapesOf(name, config), origin: fileName });
      const loaded = this.install(name, config, values, { source: 'file', step: trainingStepOf(checkpoint), seed: trainingSeedOf(checkpoint) });
      return { ...loaded.info };
    });
  }

  private async loadWeights(name: ModelName, source: WeightsSource): Promise<LoadedModel> {
    switch (source) {
      case 'pretrained':
        return this.loadPretrained(name);
      case 'saved':
        return this.loadSaved(name);
      case 'fresh':
        return this.install(name, await this.configFor(name), null, { source: 'fresh', step: 0, seed: DEFAULT_SEED });
      default:
        throw new ModelWorkerError('input', `Unknown weights source "${String(source)}": use pretrained, saved or fresh.`);
    }
  }

  private async loadPretrained(name: ModelName): Promise<LoadedModel> {
    const folder = `${this.baseUrl}models/${name}/`;
    const checkpoint = await fetchCheckpoint(folder, this.fetchImpl);
    const config = await this.configFor(name);
    const values = await decodeCheckpoint(checkpoint, { model: name, shapes: shapesOf(name, config), origin: `${folder}model.json` });
    const card = await this.fetchCard(`${folder}card.json`);
    const step = trainingStepOf(checkpoint) || card?.training.steps || 0;
    return this.install(name, config, values, { source: 'pretrained', step, seed: card?.training.seed ?? trainingSeedOf(checkpoint), card });
  }

  /** Fetches the model card beside a shipped checkpoint. Returns undefined when it is missing or unreadable, and the weights still load. */
  private async fetchCard(url: string): Promise<ModelCard | undefined> {
    try {
      const response = await this.fetchImpl(url);
      if (!response.ok) return undefined;
      const card = (await response.json()) as ModelCard;
      return card && typeof card === 'object' && typeof card.training === 'object' ? card : undefined;
    } catch {
      return undefined;
    }
  }

  private async loadSaved(name: ModelName): Promise<LoadedModel> {
    const saved = await this.store.load(name);
    if (saved === null) {
      throw new ModelWorkerError('storage', `No ${name} weights are saved in this browser yet. Train the model and press Save first.`);
    }
    const origin = `the ${name} weights saved in this browser on ${saved.savedAt}`;
    const checkpoint = unpackCheckpoint(saved.checkpoint, origin);
    const config = await this.configFor(name);
    const values = await decodeCheckpoint(checkpoint, { model: name, shapes: shapesOf(name, config), origin });
    return this.install(name, config, values, { source: 'saved', step: saved.step, seed: trainingSeedOf(checkpoint), card: saved.card });
  }

  /**
   * The configuration every checkpoint of `name` must have: the one the site ships. For
   * DALL·E-mini and the caption-ablation generators it depends on the caption vocabulary
   * shipped beside the weights, which is read first.
   */
  private async configFor(name: ModelName): Promise<ModelConfig> {
    switch (name) {
      case 'dvae':
        return DEFAULT_DVAE_CONFIG;
      case 'classifier':
        return DEFAULT_CLASSIFIER_CONFIG;
      case 'clip':
        return DEFAULT_CLIP_CONFIG;
      case 'dalle':
        return { ...DALLE_SHIPPED_CONFIG, textVocabSize: (await this.tokenizer('dalle')).vocabSize };
      case 'decoder':
        return DEFAULT_DECODER_CONFIG;
      case 'prior':
        return DEFAULT_PRIOR_CONFIG;
      case 'captioner':
        return DEFAULT_CAPTIONER_CONFIG;
      case 'captions-short':
      case 'captions-descriptive':
      case 'captions-blend':
        return { ...CAPTION_GENERATOR_CONFIG, textVocabSize: (await this.tokenizer(name)).vocabSize };
    }
  }

  /** Returns the caption tokenizer shipped beside a text model's weights, fetched once. */
  private tokenizer(name: TextModelName): Promise<BpeTokenizer> {
    let pending = this.tokenizers.get(name);
    if (!pending) {
      const url = `${this.baseUrl}models/${name}/tokenizer.json`;
      pending = (async () => {
        let response: Response;
        try {
          response = await this.fetchImpl(url);
        } catch (error) {
          throw new ModelWorkerError('checkpoint', `Could not download the ${name} caption vocabulary from ${url}: ${String(error)}. Check the connection and reload.`);
        }
        if (!response.ok) {
          throw new ModelWorkerError('checkpoint', `The ${name} caption vocabulary is missing: ${url} returned HTTP ${response.status}. Rebuild the site with public/models/${name}/tokenizer.json in place.`);
        }
        try {
          return BpeTokenizer.fromJSON(await response.text());
        } catch (error) {
          throw new ModelWorkerError('checkpoint', `The ${name} caption vocabulary at ${url} is unreadable: ${error instanceof Error ? error.message : String(error)}`);
        }
      })();
      this.tokenizers.set(name, pending);
      pending.catch(() => this.tokenizers.delete(name));
    }
    return pending;
  }

  /** Creates the model, fills in validated values (or keeps fresh ones), then replaces the old model. */
  private install(
    name: ModelName,
    config: ModelConfig,
    values: Record<string, Float32Array> | null,
    facts: { source: WeightsSource; step: number; seed: number; card?: ModelCard; training?: TrainingSummary },
  ): LoadedModel {
    const handle = createModel(name, facts.seed, config);
    if (values !== null) assignParams(handle.model.params, values);

    const previous = this.models.get(name);
    const loaded: LoadedModel = {
      handle,
      seed: facts.seed,
      training: facts.training,
      info: { name, source: facts.source, config: { ...handle.config }, card: facts.card, step: facts.step },
    };
    this.models.set(name, loaded);
    previous?.handle.model.dispose();
    return loaded;
  }

  /** Returns the loaded model, loading the pretrained weights on first use. */
  private async model(name: ModelName): Promise<LoadedModel> {
    const loaded = this.models.get(name);
    if (loaded) return loaded;
    let pending = this.pendingLoads.get(name);
    if (!pending) {
      pending = this.loadPretrained(name).finally(() => this.pendingLoads.delete(name));
      this.pendingLoads.set(name, pending);
    }
    return pending;
  }

  // -------------------------------------------------------------------------------------------
  // Inference

  tokenize(images: Float32Array, count: number): Promise<TokenizeResult> {
    return this.guard(async () => {
      await this.ready();
      checkImages(images, count);
      const dvae = (await this.model('dvae')).handle.model as Dvae;
      const outputs = tf.tidy(() => {
        const logits = dvae.encode(tf.tensor4d(images, [count, 28, 28, 1])); // [count, 7, 7, K]
        const tokens = tf.argMax(logits, 3) as tf.Tensor3D; // [count, 7, 7]
        const confidence = tf.max(tf.softmax(logits), 3); // [count, 7, 7]
        return [tokens, dvae.decodeTokens(tokens), confidence];
      });
      const [tokens, reconstructions, confidence] = await this.read(outputs);
      return { tokens: tokens as Int32Array, reconstructions: reconstructions as Float32Array, confidence: confidence as Float32Array };
    });
  }

  decodeTokens(tokens: Int32Array, count: number): Promise<Float32Array> {
    return this.guard(async () => {
      await this.ready();
      const dvae = (await this.model('dvae')).handle.model as Dvae;
      checkTokens(tokens, count, dvae.config.codebookSize);
      const outputs = tf.tidy(() => [dvae.decodeTokens(tf.tensor3d(tokens, [count, GRID_SIZE, GRID_SIZE], 'int32'))]);
      const [pixels] = await this.read<Float32Array>(outputs);
      return pixels;
    });
  }

  classify(images: Float32Array, count: number): Promise<{ labels: Int32Array; probabilities: Float32Array }> {
    return this.guard(async () => {
      await this.ready();
      checkImages(images, count);
      const classifier = (await this.model('classifier')).handle.model as Classifier;
      const outputs = tf.tidy(() => {
        const logits = classifier.logits(tf.tensor4d(images, [count, 28, 28, 1])); // [count, 10]
        return [tf.argMax(logits, 1), tf.softmax(logits)];
      });
      const [labels, probabilities] = await this.read(outputs);
      return { labels: labels as Int32Array, probabilities: probabilities as Float32Array };
    });
  }

  testDigits(start: number, count: number): Promise<{ images: Float32Array; labels: Int32Array }> {
    return this.guard(async () => {
      await this.ready();
      const test = await this.loadTestSplit();
      if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > test.count) {
        throw new ModelWorkerError('input', `Test digits ${start} to ${start + count - 1} are out of range: the test split has digits 0 to ${test.count - 1}.`);
      }
      const images = new Float32Array(count * PIXELS);
      const source = test.images.subarray(start * PIXELS, (start + count) * PIXELS);
      for (let i = 0; i < images.length; i++) images[i] = source[i] / 255;
      return { images, labels: Int32Array.from(test.labels.subarray(start, start + count)) };
    });
  }

  placedDigits(start: number, count: number): Promise<PlacedDigits> {
    return this.guard(async () => {
      await this.ready();
      const test = await this.loadTestSplit();
      if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || count > MAX_IMAGES_PER_CALL || start + count > test.count) {
        throw new ModelWorkerError(
          'input',
          `Placed test digits ${start} to ${start + count - 1} are out of range: ask for 1 to ${MAX_IMAGES_PER_CALL} digits from 0 to ${test.count - 1}.`,
        );
      }
      return placeTestDigits(test, start, count);
    });
  }

  caption(images: Float32Array, count: number): Promise<CaptionResult> {
    return this.guard(async () => {
      await this.ready();
      checkImages(images, count);
      const measurements = Array.from({ length: count }, (_, i) => measureDigit(images, i * PIXELS));
      const normalized = new Float32Array(count * PIXELS);
      for (let i = 0; i < count; i++) normalized.set(normalizeLikeMnist(images, i * PIXELS), i * PIXELS);

      const captioner = (await this.model('captioner')).handle.model as Captioner;
      // Read asynchronously, unlike `Captioner.caption`: synchronous reads block on WebGL and are slow on WebGPU
      // (tfjs 4.22 warns about them), and `read` fails instead of hanging when the GPU is lost.
      const outputs = tf.tidy(() => {
        const logits = captioner.slotLogits(tf.tensor4d(images, [count, 28, 28, 1])); // [count, classes] per slot
        return [tf.stack(logits.map((l) => tf.argMax(l, 1)), 1), tf.stack(logits.map((l) => tf.max(tf.softmax(l), 1)), 1)]; // [count, 5] each
      });
      const [classes, confidence] = await this.read(outputs);
      const written = writeCaptions(classes, confidence);
      // The captioner writes a caption for any input, an empty frame included; a blank image has nothing to describe.
      return {
        captions: written.map((caption, i) => (measurements[i] === null ? null : caption)),
        measurements,
        attributes: measurements.map((m) => (m === null ? null : attributesOf(m))),
        normalized,
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Caption models

  readPrompt(name: TextModelName, text: string): Promise<PromptReading> {
    return this.guard(async () => {
      await this.ready();
      return this.readPromptFor(name, text);
    });
  }

  private async readPromptFor(name: TextModelName, text: unknown): Promise<PromptReading> {
    if (!(TEXT_MODELS as readonly unknown[]).includes(name)) {
      throw new ModelWorkerError('input', `Unknown caption model "${String(name)}": use ${TEXT_MODELS.join(', ')}.`);
    }
    if (typeof text !== 'string') {
      throw new ModelWorkerError('input', `A prompt must be text, got ${Object.prototype.toString.call(text)}.`);
    }
    const tokenizer = await this.tokenizer(name);
    const config = await this.configFor(name);
    const maxLength = name === 'clip' ? (config as typeof DEFAULT_CLIP_CONFIG).maxLength : (config as TransformerConfig).textLength;
    return readPromptWith(tokenizer, text, maxLength);
  }

  clipEmbed(request: ClipEmbedRequest): Promise<ClipEmbedResult> {
    return this.guard(async () => {
      await this.ready();
      const imageCount = request?.imageCount ?? 0;
      const texts = request?.texts ?? [];
      if (imageCount > 0 || request?.images !== undefined) checkImages(request.images!, imageCount);
      if (!Array.isArray(texts) || texts.length > MAX_IMAGES_PER_CALL) {
        throw new ModelWorkerError('input', `CLIP embeds at most ${MAX_IMAGES_PER_CALL} texts per call, given as an array of strings.`);
      }
      const clip = (await this.model('clip')).handle.model as Clip;
      const readings = await Promise.all(texts.map((text) => this.readPromptFor('clip', text)));
      const maxLength = clip.config.maxLength;
      const ids = new Int32Array(readings.length * maxLength);
      readings.forEach((reading, row) => ids.set(reading.ids, row * maxLength));
      const outputs = tf.tidy(() => [
        imageCount > 0 ? clip.encodeImages(tf.tensor4d(request.images!, [imageCount, 28, 28, 1])) : tf.zeros([0, clip.config.embedDim]),
        readings.length > 0 ? clip.encodeTexts(tf.tensor2d(ids, [readings.length, maxLength], 'int32')) : tf.zeros([0, clip.config.embedDim]),
        clip.logitScaleTensor(),
      ]);
      const [images, textEmbeddings, scale] = await this.read<Float32Array>(outputs);
      return { images, texts: textEmbeddings, dim: clip.config.embedDim, logitScale: scale[0], readings };
    });
  }

  zeroShot(images: Float32Array, count: number, template = ZERO_SHOT_TEMPLATE): Promise<ZeroShotResult> {
    return this.guard(async () => {
      await this.ready();
      checkImages(images, count);
      if (typeof template !== 'string' || !/\{(word|digit)\}/.test(template) || template.length > 200) {
        throw new ModelWorkerError('input', `A zero-shot template needs "{word}" or "{digit}" where the digit goes, for example "${ZERO_SHOT_TEMPLATE}", in at most 200 characters.`);
      }
      const prompts = DIGIT_WORDS.map((word, digit) => template.replaceAll('{word}', word).replaceAll('{digit}', String(digit)));
      const clip = (await this.model('clip')).handle.model as Clip;
      const readings = await Promise.all(prompts.map((prompt) => this.readPromptFor('clip', prompt)));
      const maxLength = clip.config.maxLength;
      const ids = new Int32Array(prompts.length * maxLength);
      readings.forEach((reading, row) => ids.set(reading.ids, row * maxLength));
      const outputs = tf.tidy(() => {
        const similarities = clip.similarity(tf.tensor4d(images, [count, 28, 28, 1]), tf.tensor2d(ids, [prompts.length, maxLength], 'int32'));
        return [similarities, tf.softmax(tf.mul(similarities, clip.logitScaleTensor())), tf.argMax(similarities, 1), clip.logitScaleTensor()];
      });
      const [similarities, probabilities, predicted, scale] = await this.read(outputs);
      return {
        prompts,
        similarities: similarities as Float32Array,
        probabilities: probabilities as Float32Array,
        predicted: predicted as Int32Array,
        logitScale: scale[0],
      };
    });
  }

  sampleDalle(request: DalleSampleRequest, onToken?: (position: number, tokens: Int32Array) => void): Promise<DalleSampleResult> {
    return this.guard(async () => {
      await this.ready();
      if (!request || typeof request !== 'object') throw new ModelWorkerError('input', 'sampleDalle needs a request object with a prompt and settings.');
      const modelName = checkDalleModel(request.model);
      if (request.rerank && modelName !== 'dalle') {
        throw new ModelWorkerError(
          'input',
          `CLIP reranking works only with the model 'dalle', not '${modelName}': the tiny CLIP learned from centred digits with short captions, so it cannot score thickness, slant, size or position. Sample without reranking.`,
        );
      }
      const prompt = await this.readPromptFor(modelName, request.prompt);
      if (prompt.empty) {
        throw new ModelWorkerError('input', 'The prompt is empty. Type a caption such as "a handwritten seven".');
      }
      const dalle = (await this.model(modelName)).handle.model as DalleMini;
      const dvae = (await this.model('dvae')).handle.model as Dvae;
      const { settings, notices } = clampSampling(request, dalle.config.imageVocabSize);
      notices.push(...promptNotices(prompt));

      const started = performance.now();
      const { tokens } = await dalle.sample({
        textIds: prompt.ids,
        count: settings.count,
        temperature: settings.temperature,
        topK: settings.topK,
        topP: settings.topP,
        seed: settings.seed,
        useCache: settings.useCache,
        onToken: onToken
          ? (position, column) => {
              // A comlink callback returns a promise; a page that has gone away must not stop sampling.
              try {
                void Promise.resolve(onToken(position, column.slice())).catch(() => {});
              } catch {
                // Same for a callback that throws synchronously.
              }
            }
          : undefined,
      });
      const samplingMs = performance.now() - started;
      const count = settings.count;
      const [images] = await this.read<Float32Array>([tf.tidy(() => dvae.decodeTokens(tf.tensor3d(tokens, [count, GRID_SIZE, GRID_SIZE], 'int32')))]);

      let order: Int32Array = Int32Array.from({ length: count }, (_, i) => i);
      let clipScores: Float32Array | undefined;
      if (settings.rerank) {
        const clip = (await this.model('clip')).handle.model as Clip;
        const reading = await this.readPromptFor('clip', prompt.text);
        const ranked = await Promise.race([rerankWithClip(clip, reading.ids, images), this.health!.lost]);
        order = ranked.order;
        clipScores = Float32Array.from(order, (row) => ranked.scores[row]);
      }
      return {
        model: modelName,
        prompt,
        settings,
        notices,
        tokens: reorderRows(tokens, order, IMAGE_TOKENS),
        images: reorderRows(images, order, PIXELS),
        order,
        ...(clipScores ? { clipScores } : {}),
        samplingMs,
      };
    });
  }

  inspectDalle(prompt: string, tokens: Int32Array): Promise<DalleInspection> {
    return this.guard(async () => {
      await this.ready();
      const reading = await this.readPromptFor('dalle', prompt);
      const dalle = (await this.model('dalle')).handle.model as DalleMini;
      const { layers, heads, textLength, imageVocabSize } = dalle.config;
      checkTokens(tokens, 1, imageVocabSize);
      const L = dalle.streamLength;
      const outputs = tf.tidy(() => {
        const text = tf.tensor2d(reading.ids, [1, textLength], 'int32');
        const image = tf.tensor2d(tokens, [1, IMAGE_TOKENS], 'int32');
        const maps: tf.Tensor[] = [];
        let probabilities: tf.Tensor2D | null = null;
        for (let layer = 0; layer < layers; layer++) {
          for (let head = 0; head < heads; head++) {
            const out = dalle.logits(text, image, { layer, head });
            maps.push(tf.reshape(out.attention!, [L * L]));
            probabilities ??= tf.reshape(tf.softmax(out.image), [IMAGE_TOKENS, imageVocabSize]) as tf.Tensor2D;
          }
        }
        const top = tf.topk(probabilities!, 5);
        const chosen = tf.sum(tf.mul(probabilities!, tf.oneHot(tf.tensor1d(tokens, 'int32'), imageVocabSize)), 1);
        return [tf.concat(maps), top.indices, top.values, chosen];
      });
      const [attention, topCodes, topProbabilities, chosenProbability] = await this.read(outputs);
      return {
        prompt: reading,
        layers,
        heads,
        length: L,
        textLength,
        attention: attention as Float32Array,
        topCodes: topCodes as Int32Array,
        topProbabilities: topProbabilities as Float32Array,
        chosenProbability: chosenProbability as Float32Array,
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Diffusion models: unCLIP's decoder and prior

  forwardNoise(request: ForwardNoiseRequest): Promise<ForwardNoiseResult> {
    return this.guard(async () => {
      await this.ready();
      checkRequestObject(request, 'forwardNoise', 'images, count, timesteps and seed');
      const { images, count, seed } = request;
      checkImages(images, count);
      const schedule = await this.decoderSchedule();
      const timesteps = checkTimesteps(request.timesteps, count, schedule.steps);
      if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
        throw new ModelWorkerError('input', `The noise seed must be an integer from 0 to ${MAX_SEED}, got ${String(seed)}.`);
      }
      // ε is tf.randomNormal of the images' shape [count, 28, 28, 1] with `seed`, so one seed
      // gives the same noise at every timestep and a slider over t moves along one path.
      const noisy = tf.tidy(() => {
        const pixels = tf.tensor4d(images, [count, 28, 28, 1]);
        const noise = tf.randomNormal(pixels.shape, 0, 1, 'float32', tfjsSeed(seed));
        return toPixels(qSample(schedule, toDataRange(pixels), timesteps, noise));
      });
      const [values] = await this.read<Float32Array>([noisy]);
      return { noisy: values, alphaBars: Array.from(timesteps, (t) => schedule.alphaBars[t]) };
    });
  }

  decodeEmbedding(request: DecodeEmbeddingRequest, onStep?: (step: DiffusionStepReport) => void): Promise<DecodeEmbeddingResult> {
    return this.guard(() =>
      this.whileSampling(async (call) => {
        await this.ready();
        checkRequestObject(request, 'decodeEmbedding', 'embeddings, count and sampling settings');
        const decoder = (await this.model('decoder')).handle.model as Decoder;
        const { settings, notices } = clampDiffusion(request, decoder.schedule.steps);
        const dim = decoder.config.clipDim;
        const values = checkEmbeddings(request.embeddings, request.count, dim, notices);

        const embeddings = tf.tensor2d(values, [values.length / dim, dim]);
        try {
          const decoded = await this.runDecoder(decoder, embeddings, settings, call, onStep);
          const [images] = await this.read<Float32Array>([decoded.images]);
          return { images, settings, notices, interrupted: decoded.interrupted, timesteps: decoded.timesteps, samplingMs: decoded.samplingMs };
        } finally {
          embeddings.dispose();
        }
      }),
    );
  }

  sampleUnclip(request: UnclipSampleRequest, onStep?: (step: DiffusionStepReport) => void): Promise<UnclipSampleResult> {
    return this.guard(() =>
      this.whileSampling(async (call) => {
        await this.ready();
        checkRequestObject(request, 'sampleUnclip', 'a prompt and sampling settings');
        const prompt = await this.readPromptFor('clip', request.prompt);
        if (prompt.empty) {
          throw new ModelWorkerError('input', 'The prompt is empty. Type a caption such as "a handwritten seven".');
        }
        const clip = (await this.model('clip')).handle.model as Clip;
        const prior = (await this.model('prior')).handle.model as Prior;
        const decoder = (await this.model('decoder')).handle.model as Decoder;
        const { settings, notices } = clampDiffusion(request, decoder.schedule.steps);
        const count = clampSetting(notices, 'The number of images', request.count, 1, 1, MAX_DIFFUSION_SAMPLES, true);
        const priorSettings = clampPriorSettings(request, prior.schedule.steps, notices);
        notices.push(...promptNotices(prompt));

        // Tensors still owned here; `read` disposes those it is given.
        const owned: tf.Tensor[] = [];
        try {
          const started = performance.now();
          const textEmbedding = tf.tidy(() => clip.encodeTexts(tf.tensor2d(prompt.ids, [1, prompt.maxLength], 'int32'))); // [1, dim]
          owned.push(textEmbedding);
          const imageEmbeddings = await this.runPrior(prior, textEmbedding, count, priorSettings, settings.seed); // [count, dim]
          owned.push(imageEmbeddings);
          const decoded = await this.runDecoder(decoder, imageEmbeddings, settings, call, onStep);
          owned.push(decoded.images);
          const samplingMs = performance.now() - started;

          // Both embeddings have unit length, so the dot product is the cosine.
          const clipScores = tf.tidy(() => tf.sum(tf.mul(clip.encodeImages(decoded.images), textEmbedding), 1)); // [count]
          owned.length = 0;
          const [images, text, embeddings, scores] = await this.read<Float32Array>([decoded.images, textEmbedding, imageEmbeddings, clipScores]);
          return {
            prompt,
            textEmbedding: text,
            imageEmbeddings: embeddings,
            clipScores: scores,
            dim: clip.config.embedDim,
            images,
            settings,
            notices,
            interrupted: decoded.interrupted,
            timesteps: decoded.timesteps,
            samplingMs,
          };
        } finally {
          tf.dispose(owned);
        }
      }),
    );
  }

  cancelSampling(): Promise<void> {
    return this.guard(async () => {
      for (const call of this.samplingCalls) call.cancelled = true;
    });
  }

  /** Registers a sampling call for `cancelSampling` while `body` runs. */
  private async whileSampling<T>(body: (call: SamplingCall) => Promise<T>): Promise<T> {
    const call: SamplingCall = { cancelled: false };
    this.samplingCalls.add(call);
    try {
      return await body(call);
    } finally {
      this.samplingCalls.delete(call);
    }
  }

  /** Builds the decoder's noise schedule from its config, without loading weights, because every decoder checkpoint has the shipped config. */
  private async decoderSchedule(): Promise<NoiseSchedule> {
    const config = (await this.configFor('decoder')) as DecoderConfig;
    return makeSchedule(config.schedule, config.diffusionSteps);
  }

  /**
   * Draws one unit image embedding per row for the text embedding [1, dim]: [count, dim],
   * owned by the caller. The prior's noise comes from its own seed stream, so the decoder
   * can use `seed` itself and `decodeEmbedding` with the result repeats the same images.
   */
  private async runPrior(prior: Prior, textEmbedding: tf.Tensor2D, count: number, settings: PriorSettings, seed: number): Promise<tf.Tensor2D> {
    const texts = tf.tidy(() => tf.tile(textEmbedding, [count, 1]) as tf.Tensor2D);
    try {
      const sampling = prior.sample({
        textEmbeddings: texts,
        candidates: settings.candidates,
        method: 'ddim',
        steps: settings.steps,
        eta: 0,
        guidanceScale: settings.guidanceScale,
        seed: deriveSeed(seed, PRIOR_SEED_STREAM),
      });
      return await Promise.race([sampling, this.health!.lost]);
    } catch (error) {
      throw nonFiniteFailure(error, 'prior', settings.steps);
    } finally {
      texts.dispose();
    }
  }

  /**
   * Runs the decoder for unit embeddings [count, dim] and returns pixels [count, 28, 28, 1]
   * owned by the caller. Each step goes to `onStep`, and a cancelled call stops after its
   * current step (a cancel that came during the prior stops the decoder after its first step).
   */
  private async runDecoder(
    decoder: Decoder,
    embeddings: tf.Tensor2D,
    settings: DiffusionSettings,
    call: SamplingCall,
    onStep: ((step: DiffusionStepReport) => void) | undefined,
  ): Promise<{ images: tf.Tensor4D; timesteps: number[]; interrupted: boolean; samplingMs: number }> {
    const started = performance.now();
    const sampling = decoder.sample({
      embeddings,
      method: settings.method,
      steps: settings.steps,
      eta: settings.eta,
      guidanceScale: settings.guidanceScale,
      seed: settings.seed,
      onStep: async (step) => {
        if (onStep) {
          const report: DiffusionStepReport = {
            index: step.index,
            count: step.count,
            t: step.t,
            images: dataToPixels(step.sample),
            predictedClean: dataToPixels(step.predictedX0),
          };
          // A comlink callback returns a promise; a page that has gone away must not stop sampling.
          try {
            void Promise.resolve(onStep(report)).catch(() => {});
          } catch {
            // Same for a callback that throws synchronously.
          }
        }
        // Reads on wasm and cpu settle without a macrotask, so the page's cancel message is
        // handled only while the loop waits here.
        await yieldToEventLoop();
        return !call.cancelled;
      },
    });
    try {
      const result = await Promise.race([sampling, this.health!.lost]);
      return { ...result, samplingMs: performance.now() - started };
    } catch (error) {
      throw nonFiniteFailure(error, 'decoder', settings.steps);
    }
  }

  private dataSource(): DataSource {
    return fetchSource(`${this.baseUrl}data/`, this.fetchImpl);
  }

  private loadTestSplit(): Promise<MnistSplit> {
    if (this.testSplit === null) {
      this.testSplit = loadSplit(this.dataSource(), 'test');
      this.testSplit.catch(() => {
        this.testSplit = null;
      });
    }
    return this.testSplit;
  }

  /** Loads the first `maxExamples` training digits, or reuses a larger split already in memory. */
  private loadTrainSplit(maxExamples: number, onBytes: (loadedBytes: number, totalBytes: number) => void): Promise<MnistSplit> {
    if (this.trainSplit !== null && this.trainSplit.maxExamples >= maxExamples) return this.trainSplit.split;
    const split = loadSplit(this.dataSource(), 'train', { maxExamples, onProgress: onBytes });
    const entry = { maxExamples, split };
    this.trainSplit = entry;
    split.catch(() => {
      if (this.trainSplit === entry) this.trainSplit = null;
    });
    return split;
  }

  // -------------------------------------------------------------------------------------------
  // Training

  startTraining(options: TrainingOptions & { fromCurrent?: boolean }, onProgress: (progress: TrainingProgress) => void): Promise<void> {
    return this.guard(async () => {
      const health = await this.ready();
      if (this.run?.active) {
        throw new ModelWorkerError('input', 'Training is already running: pause, resume or reset it instead of starting again.');
      }
      // Validated before fresh weights replace the loaded ones.
      const validated = validateTrainingOptions(options);
      const name = options.model ?? 'dvae';
      checkTrainableName(name);
      // The subject's other inputs load before anything is replaced.
      const inputs = await this.subjectInputs(name);

      const trained = options.fromCurrent
        ? await this.model(name)
        : this.install(name, await this.configFor(name), null, { source: 'fresh', step: 0, seed: validated.seed });
      const stepsBefore = trained.info.step;
      const subject = this.subjectFor(trained.handle, inputs);
      this.runModel = name;

      let run: TrainingRun | undefined;
      const updateModelFacts = () => {
        // The model's own step count and card facts follow the run, for save and export.
        trained.info.step = stepsBefore + (run?.step ?? 0);
        if (run) trained.training = run.summary();
      };
      const reportProgress = (progress: TrainingProgress) => {
        updateModelFacts();
        onProgress(progress);
      };
      run = new TrainingRun(subject, validated, reportProgress, {
        loadTrainSplit: (maxExamples, onBytes) => this.loadTrainSplit(maxExamples, onBytes),
        loadTestSplit: () => this.loadTestSplit(),
        health,
      });
      this.run = run;

      try {
        await run.finished;
      } finally {
        updateModelFacts();
      }
    });
  }

  /**
   * Loads what a model's training subject reads besides its own weights: the caption
   * tokenizer, and the frozen dVAE (DALL·E-mini) or CLIP (decoder and prior). The prior reads
   * captions with CLIP's tokenizer, because CLIP embeds them.
   */
  private async subjectInputs(name: TrainableModelName): Promise<SubjectInputs> {
    let tokenizer: BpeTokenizer | undefined;
    if (name === 'clip' || name === 'dalle') tokenizer = await this.tokenizer(name);
    if (name === 'prior') tokenizer = await this.tokenizer('clip');
    const dvae = name === 'dalle' ? ((await this.model('dvae')).handle.model as Dvae) : undefined;
    const clip = name === 'decoder' || name === 'prior' ? ((await this.model('clip')).handle.model as Clip) : undefined;
    return { tokenizer, dvae, clip };
  }

  private subjectFor(handle: ModelHandle, { tokenizer, dvae, clip }: SubjectInputs): TrainingSubject {
    if (handle.name === 'clip') return clipSubject(handle.model as Clip, tokenizer!);
    if (handle.name === 'dalle') return dalleSubject(handle.model as DalleMini, dvae!, tokenizer!);
    if (handle.name === 'decoder') return decoderSubject(handle.model as Decoder, clip!);
    if (handle.name === 'prior') return priorSubject(handle.model as Prior, clip!, tokenizer!);
    return dvaeSubject(handle.model as Dvae);
  }

  previewWeights(name: TrainableModelName, previewCount: number): Promise<TrainingPreview> {
    return this.guard(async () => {
      await this.ready();
      checkTrainableName(name);
      if (!Number.isInteger(previewCount) || previewCount < 1 || previewCount > MAX_PREVIEW_COUNT) {
        throw new ModelWorkerError('input', `The preview count must be an integer from 1 to ${MAX_PREVIEW_COUNT}, got ${String(previewCount)}.`);
      }
      this.checkNotTraining(name, 'draw a preview');
      const loaded = this.loadedModel(name);
      const subject = this.subjectFor(loaded.handle, await this.subjectInputs(name));
      const digits = pickPreviewDigits(subject, await this.loadTestSplit(), previewCount);
      try {
        const { preview, clip, dalle, diffusion } = await subject.report(null, digits, (tensors) => this.read(tensors), false);
        return { preview, clip, dalle, diffusion };
      } catch (error) {
        if (!(error instanceof NonFiniteSampleError)) throw error;
        throw new ModelWorkerError(
          'nan',
          `The preview of the ${TITLES[name].title} produced NaN or infinite values: its weights have probably diverged. Load other ${name} weights or reset its training.`,
        );
      }
    });
  }

  pauseTraining(): Promise<void> {
    return this.guard(async () => this.activeRun('pause').pause());
  }

  resumeTraining(): Promise<void> {
    return this.guard(async () => this.activeRun('resume').resume());
  }

  stepTraining(): Promise<TrainingProgress> {
    return this.guard(async () => this.activeRun('step').stepOnce());
  }

  resetTraining(): Promise<void> {
    return this.guard(async () => {
      await this.ready();
      const name = this.runModel;
      const seed = this.models.get(name)?.seed ?? DEFAULT_SEED;
      // The run sends its last report, with state 'idle', before it ends.
      if (this.run?.active) await this.run.stop();
      this.run = null;
      this.install(name, await this.configFor(name), null, { source: 'fresh', step: 0, seed });
    });
  }

  private activeRun(action: string): TrainingRun {
    if (this.run === null) {
      throw new ModelWorkerError('input', `Cannot ${action} training: no training has been started. Press Train first.`);
    }
    return this.run;
  }

  private checkNotTraining(name: ModelName, action: string): void {
    // DALL·E-mini training reads the dVAE, and decoder and prior training read CLIP, so
    // those are busy during such a run too.
    const readsClip = this.runModel === 'decoder' || this.runModel === 'prior';
    const busy = name === this.runModel || (name === 'dvae' && this.runModel === 'dalle') || (name === 'clip' && readsClip);
    if (busy && this.run?.active) {
      throw new ModelWorkerError('input', `Cannot ${action} while ${TITLES[this.runModel].title} is training: pause and reset training first.`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Saving and export

  save(name: ModelName): Promise<{ savedAt: string; bytes: number }> {
    return this.guard(async () => {
      await this.ready();
      const loaded = this.loadedModel(name);
      const checkpoint = await this.encode(loaded);
      const packed = packCheckpoint(checkpoint);
      const savedAt = new Date().toISOString();
      await this.store.save({ name, checkpoint: packed, card: await this.cardFor(loaded), savedAt, step: loaded.info.step });
      return { savedAt, bytes: packed.length };
    });
  }

  savedInfo(name: ModelName): Promise<{ savedAt: string; step: number } | null> {
    return this.guard(async () => {
      this.checkModelName(name);
      const info = await this.store.info(name);
      return info ? { savedAt: info.savedAt, step: info.step } : null;
    });
  }

  deleteSaved(name: ModelName): Promise<boolean> {
    return this.guard(async () => {
      this.checkModelName(name);
      return this.store.delete(name);
    });
  }

  exportFile(name: ModelName): Promise<Uint8Array> {
    return this.guard(async () => {
      await this.ready();
      return packCheckpoint(await this.encode(this.loadedModel(name)));
    });
  }

  private loadedModel(name: ModelName): LoadedModel {
    this.checkModelName(name);
    const loaded = this.models.get(name);
    if (!loaded) {
      throw new ModelWorkerError('input', `There are no ${name} weights in memory yet: load or train the model first.`);
    }
    return loaded;
  }

  private encode(loaded: LoadedModel): Promise<Checkpoint> {
    const { handle, info, seed } = loaded;
    const encoding = encodeCheckpoint(handle.name, handle.config, handle.model.params, { step: info.step, seed, source: info.source });
    return Promise.race([encoding, this.health!.lost]);
  }

  /**
   * Returns the card that describes these weights: the shipped or saved card while they are
   * unchanged, or a card of the in-browser run that last trained them.
   */
  private async cardFor(loaded: LoadedModel): Promise<ModelCard | undefined> {
    if (!loaded.training) return loaded.info.card;
    const { handle, training } = loaded;
    return {
      model: handle.name,
      ...TITLES[handle.name],
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      config: { ...handle.config },
      parameters: paramCount(handle.shapes),
      training: {
        command: 'Train button in the browser',
        seed: training.seed,
        steps: loaded.info.step,
        batchSize: training.batchSize,
        options: training.options,
        dataSha256: await this.trainingDataHash(training.maxExamples),
        tfjsVersion: tf.version_core,
        backend: tf.getBackend(),
        durationSeconds: training.durationSeconds,
        finishedAt: new Date().toISOString(),
        finalLossTerms: training.finalLossTerms,
      },
    };
  }

  /** SHA-256 over the hashes of the shards a run used, joined by newlines, as `npm run train` computes it. */
  private async trainingDataHash(maxExamples: number): Promise<string> {
    const index = await loadIndex(this.dataSource());
    const used: string[] = [];
    let covered = 0;
    for (const shard of index.splits.train.shards) {
      if (covered >= maxExamples) break;
      used.push(shard.sha256);
      covered += shard.count;
    }
    return sha256Hex(new TextEncoder().encode(used.join('\n')));
  }

  // -------------------------------------------------------------------------------------------
  // Errors

  private checkModelName(name: unknown): asserts name is ModelName {
    if (!(MODEL_NAMES as readonly unknown[]).includes(name)) {
      throw new ModelWorkerError('input', `Unknown model "${String(name)}": this worker runs ${MODEL_NAMES.join(', ')}.`);
    }
  }

  /** Runs a public method and turns every error into a ModelWorkerError with a reader-facing message. */
  private async guard<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw this.toWorkerError(error);
    }
  }

  private toWorkerError(error: unknown): ModelWorkerError {
    if (error instanceof ModelWorkerError) return error;
    const lostReason = this.health?.lostReason() ?? null;
    if (lostReason !== null) {
      return new ModelWorkerError('backend', `The ${tf.getBackend()} backend stopped working: ${lostReason}. Reload the page, or add ?backend=wasm to its address.`);
    }
    if (error instanceof CheckpointError) return new ModelWorkerError('checkpoint', error.message);
    if (error instanceof DataError) return new ModelWorkerError('data', error.message);
    if (error instanceof StorageError) return new ModelWorkerError('storage', error.message);
    if (error instanceof NonFiniteLossError) return new ModelWorkerError('nan', error.message);
    const message = error instanceof Error ? error.message : String(error);
    return new ModelWorkerError('internal', `The model worker failed: ${message}. Reload the page; if it happens again, report this message.`);
  }
}

type ModelConfig = ModelHandle['config'];

function shapesOf(name: ModelName, config: ModelConfig): ParamShapes {
  switch (name) {
    case 'dvae':
      return dvaeShapes(config as typeof DEFAULT_DVAE_CONFIG);
    case 'classifier':
      return classifierShapes(config as typeof DEFAULT_CLASSIFIER_CONFIG);
    case 'clip':
      return clipShapes(config as typeof DEFAULT_CLIP_CONFIG);
    case 'dalle':
      return transformerShapes(config as TransformerConfig);
    case 'decoder':
      return decoderShapes(config as DecoderConfig);
    case 'prior':
      return priorShapes(config as PriorConfig);
    case 'captioner':
      return captionerShapes(config as CaptionerConfig);
    case 'captions-short':
    case 'captions-descriptive':
    case 'captions-blend':
      return transformerShapes(config as TransformerConfig);
  }
}

function trainingStepOf(checkpoint: Checkpoint): number {
  const step = checkpoint.manifest.training?.step;
  return typeof step === 'number' && Number.isInteger(step) && step >= 0 ? step : 0;
}

function trainingSeedOf(checkpoint: Checkpoint): number {
  const seed = checkpoint.manifest.training?.seed;
  return typeof seed === 'number' && Number.isInteger(seed) ? seed : DEFAULT_SEED;
}

/** Models `readPrompt` serves, each with the tokenizer shipped beside its weights. */
const TEXT_MODELS = ['clip', 'dalle', ...CAPTION_GENERATORS] as const satisfies readonly TextModelName[];

/** Returns the checkpoint a `sampleDalle` request names: 'dalle' when it names none. */
function checkDalleModel(model: unknown): DalleModelName {
  if (model === undefined || model === 'dalle') return 'dalle';
  if (typeof model === 'string' && isCaptionGenerator(model)) return model;
  throw new ModelWorkerError('input', `sampleDalle cannot sample "${String(model)}": use dalle, ${CAPTION_GENERATORS.join(', ')}.`);
}

/**
 * Places test digits `start` … `start + count − 1` as `placeSplit(test, PLACEMENT_TEST_SEED)`
 * does: digit i draws from `new Rng(deriveSeed(PLACEMENT_TEST_SEED, i))`, is rounded to
 * bytes, and is measured as stored. The captions use the true label.
 */
function placeTestDigits(test: MnistSplit, start: number, count: number): PlacedDigits {
  const images = new Float32Array(count * PIXELS);
  const pixels = new Float32Array(PIXELS);
  for (let row = 0; row < count; row++) {
    const index = start + row;
    for (let p = 0; p < PIXELS; p++) pixels[p] = test.images[index * PIXELS + p] / 255;
    const placed = placeDigit(pixels, new Rng(deriveSeed(PLACEMENT_TEST_SEED, index)));
    for (let p = 0; p < PIXELS; p++) images[row * PIXELS + p] = Math.round(placed[p] * 255) / 255;
  }
  const labels = Int32Array.from(test.labels.subarray(start, start + count));
  const measurements = Array.from({ length: count }, (_, row) => measureDigit(images, row * PIXELS));
  const attributes = measurements.map((m) => (m === null ? null : attributesOf(m)));
  return {
    indices: Int32Array.from({ length: count }, (_, row) => start + row),
    images,
    labels,
    measurements,
    attributes,
    shortCaptions: Array.from(labels, (label) => shortCaption(label)),
    descriptiveCaptions: Array.from(labels, (label, row) => (attributes[row] === null ? shortCaption(label) : descriptiveCaption(label, attributes[row]!))),
  };
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_IMAGES_PER_CALL) {
    throw new ModelWorkerError('input', `The image count must be an integer from 1 to ${MAX_IMAGES_PER_CALL}, got ${count}.`);
  }
}

function checkImages(images: Float32Array, count: number): void {
  checkCount(count);
  if (!(images instanceof Float32Array) || images.length !== count * PIXELS) {
    const got = images instanceof Float32Array ? `${images.length} values` : Object.prototype.toString.call(images);
    throw new ModelWorkerError('input', `Expected ${count} images of 28×28 as a Float32Array of ${count * PIXELS} values, got ${got}.`);
  }
}

function checkTokens(tokens: Int32Array, count: number, codebookSize: number): void {
  checkCount(count);
  const cells = GRID_SIZE * GRID_SIZE;
  if (!(tokens instanceof Int32Array) || tokens.length !== count * cells) {
    const got = tokens instanceof Int32Array ? `${tokens.length} values` : Object.prototype.toString.call(tokens);
    throw new ModelWorkerError('input', `Expected ${count} token grids of 7×7 as an Int32Array of ${count * cells} values, got ${got}.`);
  }
  const bad = tokens.findIndex((token) => token < 0 || token >= codebookSize);
  if (bad >= 0) {
    throw new ModelWorkerError('input', `Token ${tokens[bad]} at position ${bad} is outside the codebook: codes run from 0 to ${codebookSize - 1}.`);
  }
}

/** CLIP's zero-shot prompt for the shipped checkpoint, the one `npm run evaluate` uses. */
const ZERO_SHOT_TEMPLATE = 'a handwritten {word}';

/** Rows of a row-major array in the given order. */
function reorderRows<T extends Float32Array | Int32Array>(values: T, order: Int32Array, rowLength: number): T {
  const out = new (values.constructor as { new (length: number): T })(values.length);
  order.forEach((row, position) => out.set(values.subarray(row * rowLength, (row + 1) * rowLength), position * rowLength));
  return out;
}

/** Clamps sampling settings into their valid ranges, with a notice for each changed value. */
export function clampSampling(request: DalleSampleRequest, imageVocabSize: number): { settings: DalleSampleResult['settings']; notices: string[] } {
  const notices: string[] = [];
  const clamp = (label: string, value: unknown, fallback: number, min: number, max: number, integer: boolean) =>
    clampSetting(notices, label, value, fallback, min, max, integer);
  const settings = {
    count: clamp('The number of samples', request.count, 1, 1, MAX_DALLE_SAMPLES, true),
    temperature: clamp('Temperature', request.temperature, 1, 0, MAX_TEMPERATURE, false),
    topK: clamp('Top-k', request.topK, 0, 0, imageVocabSize, true),
    topP: clamp('Top-p', request.topP, 1, 0.01, 1, false),
    seed: clamp('The seed', request.seed, 0, 0, 0xffffffff, true),
    useCache: request.useCache ?? true,
    rerank: request.rerank ?? false,
  };
  return { settings, notices };
}

/** Notes on how the model read a prompt: what was cut, what it never saw, whether a digit is named. */
export function promptNotices(prompt: PromptReading): string[] {
  const notices: string[] = [];
  if (prompt.clipped) notices.push(`Only the first ${MAX_PROMPT_CHARACTERS} characters of the prompt were read.`);
  if (prompt.truncated) {
    notices.push(`The model reads ${prompt.maxLength} tokens including <bos> and <eos>: ${prompt.droppedTokens} ${prompt.droppedTokens === 1 ? 'token was' : 'tokens were'} cut from the end of the prompt.`);
  }
  if (prompt.unknownWords.length > 0) {
    notices.push(`The captions the model learned from never use ${prompt.unknownWords.map((word) => `“${word}”`).join(', ')}; it still reads the pieces it can spell.`);
  }
  if (prompt.digit === null) {
    notices.push('The prompt names no digit the model knows, so it has nothing to follow: it still samples, and draws whatever digits its training made likely.');
  }
  return notices;
}

/** Largest seed the settings accept: seeds are unsigned 32-bit integers. */
const MAX_SEED = 0xffffffff;
/** Models the page can train; the classifier is the referee and stays fixed. */
const TRAINABLE_MODELS = ['dvae', 'clip', 'dalle', 'decoder', 'prior'] as const satisfies readonly TrainableModelName[];

function checkTrainableName(name: unknown): asserts name is TrainableModelName {
  if (!(TRAINABLE_MODELS as readonly unknown[]).includes(name)) {
    throw new ModelWorkerError('input', `Cannot train "${String(name)}": the page can train ${TRAINABLE_MODELS.join(', ')}.`);
  }
}

/** Inputs a training subject reads besides the weights it trains. */
interface SubjectInputs {
  tokenizer?: BpeTokenizer;
  dvae?: Dvae;
  clip?: Clip;
}

/** A running `decodeEmbedding` or `sampleUnclip` call; `cancelled` makes its decoder stop after the current step. */
interface SamplingCall {
  cancelled: boolean;
}

/** Counter that `deriveSeed` mixes into the request's seed for the prior's noise. */
const PRIOR_SEED_STREAM = 1;
/** Fallbacks of the decoder settings when a value is not a number: a quick, deterministic DDIM run. */
const FALLBACK_DIFFUSION: DiffusionSettings = { method: 'ddim', steps: 50, eta: 0, guidanceScale: 1, seed: 0 };

/** Settings of the prior inside `sampleUnclip`, which always samples it with DDIM and η = 0. */
export interface PriorSettings {
  steps: number;
  guidanceScale: number;
  /** Embeddings drawn per image; the one closest to the text embedding is kept. */
  candidates: number;
}

/** Prior settings for values the request leaves out; two candidates is also the prior's own default. */
export const DEFAULT_PRIOR_SETTINGS: PriorSettings = { steps: 25, guidanceScale: 1, candidates: 2 };
/** Norms further than this from 1 count as not unit length, and such embeddings are rescaled with a notice. */
const UNIT_NORM_TOLERANCE = 1e-3;

/** Clamps a number into [min, max] (rounding it when `integer`) and adds a notice for each change. */
function clampSetting(notices: string[], label: string, value: unknown, fallback: number, min: number, max: number, integer: boolean): number {
  let number = typeof value === 'number' && Number.isFinite(value) ? value : Number.NaN;
  if (Number.isNaN(number)) {
    notices.push(`${label} was not a number, so ${fallback} was used.`);
    return fallback;
  }
  if (integer && !Number.isInteger(number)) {
    number = Math.round(number);
    notices.push(`${label} must be a whole number: ${String(value)} was rounded to ${number}.`);
  }
  if (number < min || number > max) {
    const used = Math.min(max, Math.max(min, number));
    notices.push(`${label} ${number} is outside ${min}–${max}, so ${used} was used.`);
    return used;
  }
  return number;
}

/**
 * Clamps the settings of a decoder run into their valid ranges, with `diffusionSteps` (the
 * decoder's T) as the maximum number of steps, and adds a notice for each changed value.
 */
export function clampDiffusion(request: Partial<DiffusionSettings>, diffusionSteps: number): { settings: DiffusionSettings; notices: string[] } {
  const notices: string[] = [];
  let method = request.method;
  if (method !== 'ddpm' && method !== 'ddim') {
    notices.push(`The sampling method "${String(method)}" is unknown (use ddpm or ddim), so DDIM was used.`);
    method = FALLBACK_DIFFUSION.method;
  }
  const settings: DiffusionSettings = {
    method,
    steps: clampSetting(notices, 'The number of denoising steps', request.steps, Math.min(FALLBACK_DIFFUSION.steps, diffusionSteps), 1, diffusionSteps, true),
    eta: clampSetting(notices, 'DDIM’s η', request.eta, FALLBACK_DIFFUSION.eta, 0, 1, false),
    guidanceScale: clampSetting(notices, 'The guidance scale', request.guidanceScale, FALLBACK_DIFFUSION.guidanceScale, 0, MAX_GUIDANCE_SCALE, false),
    seed: clampSetting(notices, 'The seed', request.seed, FALLBACK_DIFFUSION.seed, 0, MAX_SEED, true),
  };
  return { settings, notices };
}

/**
 * Clamps the prior's optional settings of an unCLIP request, with `diffusionSteps` (the
 * prior's T) as the maximum number of steps. Missing values take `DEFAULT_PRIOR_SETTINGS` without a notice.
 */
export function clampPriorSettings(
  request: Pick<UnclipSampleRequest, 'priorSteps' | 'priorGuidanceScale' | 'priorCandidates'>,
  diffusionSteps: number,
  notices: string[],
): PriorSettings {
  const optional = (label: string, value: unknown, fallback: number, min: number, max: number, integer: boolean) =>
    value === undefined ? fallback : clampSetting(notices, label, value, fallback, min, max, integer);
  const defaultSteps = Math.min(DEFAULT_PRIOR_SETTINGS.steps, diffusionSteps);
  return {
    steps: optional('The prior’s number of denoising steps', request.priorSteps, defaultSteps, 1, diffusionSteps, true),
    guidanceScale: optional('The prior’s guidance scale', request.priorGuidanceScale, DEFAULT_PRIOR_SETTINGS.guidanceScale, 0, MAX_GUIDANCE_SCALE, false),
    candidates: optional('The number of prior candidates', request.priorCandidates, DEFAULT_PRIOR_SETTINGS.candidates, 1, MAX_PRIOR_CANDIDATES, true),
  };
}

function checkRequestObject(request: unknown, method: string, contents: string): void {
  if (!request || typeof request !== 'object') {
    throw new ModelWorkerError('input', `${method} needs a request object with ${contents}, got ${String(request)}.`);
  }
}

/** Returns one timestep per image from one shared timestep or one per image, each checked against the schedule's T. */
function checkTimesteps(timesteps: unknown, count: number, diffusionSteps: number): Int32Array {
  const list = Array.isArray(timesteps) ? (timesteps as unknown[]) : ArrayBuffer.isView(timesteps) && !(timesteps instanceof DataView) ? Array.from(timesteps as unknown as ArrayLike<number>) : null;
  if (list === null || (list.length !== 1 && list.length !== count)) {
    const got = list === null ? Object.prototype.toString.call(timesteps) : `${list.length} timesteps`;
    throw new ModelWorkerError('input', `Give one timestep for all ${count} images or one per image, got ${got}.`);
  }
  const bad = list.findIndex((t) => typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= diffusionSteps);
  if (bad >= 0) {
    throw new ModelWorkerError('input', `Timestep ${String(list[bad])} is outside the decoder's schedule: timesteps are integers from 0 to ${diffusionSteps - 1}.`);
  }
  return Int32Array.from({ length: count }, (_, i) => list[list.length === 1 ? 0 : i] as number);
}

/**
 * Checks CLIP embeddings from the page, [count, dim] row-major, and returns the rows to
 * decode: at most MAX_DIFFUSION_SAMPLES of them, each of unit length. Rows cut off or
 * rescaled get a notice; values that are not finite, and zero rows, are rejected.
 */
function checkEmbeddings(embeddings: unknown, count: unknown, dim: number, notices: string[]): Float32Array {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new ModelWorkerError('input', `The number of embeddings must be a positive integer, got ${String(count)}.`);
  }
  if (!(embeddings instanceof Float32Array) || embeddings.length !== count * dim) {
    const got = embeddings instanceof Float32Array ? `${embeddings.length} values` : Object.prototype.toString.call(embeddings);
    throw new ModelWorkerError('input', `Expected ${count} CLIP embeddings of ${dim} values as a Float32Array of ${count * dim} values, got ${got}.`);
  }
  const rows = Math.min(count, MAX_DIFFUSION_SAMPLES);
  if (rows < count) {
    notices.push(`The decoder draws at most ${MAX_DIFFUSION_SAMPLES} images per call, so only the first ${rows} of the ${count} embeddings were decoded.`);
  }

  const values = embeddings.slice(0, rows * dim);
  const rescaled: { row: number; norm: number }[] = [];
  for (let row = 0; row < rows; row++) {
    const vector = values.subarray(row * dim, (row + 1) * dim);
    const bad = vector.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new ModelWorkerError('input', `Embedding ${row} contains ${vector[bad]} at position ${bad}: every value must be a finite number.`);
    }
    const norm = Math.hypot(...vector);
    if (norm === 0) {
      throw new ModelWorkerError('input', `Embedding ${row} is all zeros and has no direction to decode. Use an embedding from clipEmbed or a mix of such embeddings.`);
    }
    if (Math.abs(norm - 1) > UNIT_NORM_TOLERANCE) {
      for (let i = 0; i < dim; i++) vector[i] /= norm;
      rescaled.push({ row, norm });
    }
  }
  if (rescaled.length > 0) {
    const listed = rescaled.map(({ row, norm }) => `${row} (length ${norm.toPrecision(3)})`).join(', ');
    const one = rescaled.length === 1;
    notices.push(`CLIP embeddings have length 1, so ${one ? 'embedding' : 'embeddings'} ${listed} ${one ? 'was' : 'were'} scaled to length 1.`);
  }
  return values;
}

/** Maps diffusion values from the data range [−1, 1] to pixels in [0, 1], in place, clipping values outside. */
function dataToPixels(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = Math.min(1, Math.max(0, (values[i] + 1) / 2));
  return values;
}

/** Turns a sampler's NaN into a 'nan' failure that names the model; other errors pass unchanged. */
function nonFiniteFailure(error: unknown, name: 'decoder' | 'prior', steps: number): unknown {
  if (!(error instanceof NonFiniteSampleError)) return error;
  return new ModelWorkerError(
    'nan',
    `The ${TITLES[name].title} produced NaN or infinite values at step ${error.step + 1} of ${steps}: its weights have probably diverged. Load the pretrained ${name} weights or reset its training.`,
  );
}
