/**
 * Benchmark workloads shared by `npm run bench` in Node and the bench page in Chromium.
 * Each returns measured times with the work done in FLOPs, so a report can state the
 * achieved GFLOP/s as a fraction of the same backend's matmul peak.
 *
 * FLOP counts are analytic: 2 FLOPs per multiply-add of every conv, dense layer and
 * attention product. Attention counts q·kᵀ and weights·v over the full L × L score matrix,
 * which the models compute before the causal mask. A training step counts 3× the forward
 * pass (one forward, two matmul-sized products in the backward pass), the usual estimate.
 * Elementwise work (LayerNorm, GELU, softmax, losses) is not counted.
 *
 * Models start from fresh random weights: speed does not depend on the values. The
 * DALL·E-mini and CLIP losses need a caption tokenizer and (DALL·E-mini) a dVAE, so the
 * bench learns a small BPE tokenizer from synthetic labels and uses an untrained dVAE.
 * unCLIP's decoder and prior are conditioned on CLIP embeddings. The bench feeds them random
 * unit vectors of the same dimension, so it needs no CLIP checkpoint and runs no CLIP pass.
 */
import * as tf from './tf';
import { Classifier, type ClassifierConfig } from './classifier';
import { Dvae, type DvaeConfig, DEFAULT_DVAE_SCHEDULE } from './dvae';
import { Clip, DEFAULT_CLIP_CONFIG, trainCaptionTokenizer, type ClipConfig } from './clip';
import { DalleMini, DEFAULT_TRANSFORMER_CONFIG, IMAGE_TOKENS, type TransformerConfig } from './transformer';
import { Decoder, decoderShapes, DEFAULT_DECODER_CONFIG, type DecoderConfig } from './decoder';
import { DEFAULT_PRIOR_CONFIG, Prior, priorShapes, type PriorConfig } from './prior';
import { samplingTimesteps } from './diffusion';
import { DALLE_SHIPPED_CONFIG, RECIPES } from './registry';
import { Trainer, type LossFunction } from './trainer';
import type { BpeTokenizer } from './text/bpe';
import type { Batch } from './data/batches';
import type { Params, ParamShapes } from './nn';

export interface MatmulResult {
  size: number;
  milliseconds: number;
  gflops: number;
}

/** An outside measurement of the same workload to compare with. */
export interface ReferenceTime {
  label: string;
  milliseconds: number;
}

export interface WorkloadResult {
  name: string;
  batchSize: number;
  /** Median milliseconds per call (a training step, a sampling run, or tokenise + decode). */
  milliseconds: number;
  /** Calls per second, 1000 / milliseconds. */
  perSecond: number;
  gflopPerCall: number;
  gflops: number;
  reference?: ReferenceTime;
}

/**
 * PyTorch on the CPU of the project's 2-core AMD EPYC build machine: 84 ms to draw 49 image
 * tokens for 16 captions with a 4-layer, 128-wide transformer. The project measured it once
 * outside this bench, which does not rerun it.
 */
export const PYTORCH_SAMPLING_REFERENCE: ReferenceTime = {
  label: 'PyTorch CPU, 2-core AMD EPYC',
  milliseconds: 84,
};

/** The 4-layer, 128-wide transformer that PYTORCH_SAMPLING_REFERENCE was measured with. */
export const SAMPLING_TRANSFORMER_CONFIG: Omit<TransformerConfig, 'textVocabSize'> = { ...DEFAULT_TRANSFORMER_CONFIG, layers: 4, width: 128 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Waits until the backend has computed `tensor`, so asynchronous GPU work is inside the timing. */
async function settle(tensor: tf.Tensor): Promise<void> {
  await tensor.data();
}

function workload(name: string, batchSize: number, milliseconds: number, gflopPerCall: number): WorkloadResult {
  return { name, batchSize, milliseconds, perSecond: 1000 / milliseconds, gflopPerCall, gflops: gflopPerCall / (milliseconds / 1000) };
}

/** Best GFLOP/s of square float32 matmuls; the best size is the backend's peak here. */
export async function matmulPeak(sizes = [128, 256, 512], repeats = 5): Promise<MatmulResult[]> {
  const results: MatmulResult[] = [];
  for (const size of sizes) {
    const a = tf.randomNormal([size, size], 0, 1, 'float32', 1);
    const b = tf.randomNormal([size, size], 0, 1, 'float32', 2);
    const warm = tf.matMul(a, b);
    await settle(warm);
    warm.dispose();
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      const c = tf.matMul(a, b);
      await settle(c);
      times.push(performance.now() - start);
      c.dispose();
    }
    const milliseconds = median(times);
    results.push({ size, milliseconds, gflops: (2 * size ** 3) / (milliseconds * 1e6) });
    tf.dispose([a, b]);
  }
  return results;
}

// -----------------------------------------------------------------------------------------
// FLOP counts

/** Multiply-adds of a 'same' conv producing an h×w×out map from `in` channels with a k×k kernel. */
function convMacs(h: number, w: number, k: number, inChannels: number, outChannels: number): number {
  return h * w * k * k * inChannels * outChannels;
}

export function classifierForwardFlops(config: ClassifierConfig): number {
  const [c1, c2, c3, c4] = config.channels;
  const macs =
    convMacs(28, 28, 3, 1, c1) +
    convMacs(14, 14, 3, c1, c2) +
    convMacs(14, 14, 3, c2, c3) +
    convMacs(7, 7, 3, c3, c4) +
    49 * c4 * config.hidden +
    config.hidden * 10;
  return 2 * macs;
}

export function dvaeEncodeFlops(config: DvaeConfig): number {
  const [c1, c2, c3] = config.channels;
  return 2 * (convMacs(28, 28, 3, 1, c1) + convMacs(14, 14, 3, c1, c2) + convMacs(7, 7, 3, c2, c3) + convMacs(7, 7, 1, c3, config.codebookSize));
}

export function dvaeDecodeFlops(config: DvaeConfig): number {
  const [c1, c2, c3] = config.channels;
  return 2 * (convMacs(7, 7, 1, config.codebookSize, c3) + convMacs(7, 7, 3, c3, c3) + convMacs(14, 14, 3, c3, c2) + convMacs(28, 28, 3, c2, c1) + convMacs(28, 28, 3, c1, 1));
}

/**
 * FLOPs of pre-LN transformer blocks over `queries` new positions per sequence that attend to
 * `keys` positions (past and new): q, k, v, output projection, the MLP, and the attention
 * products q·kᵀ [queries, keys] and weights·v, per head summed over heads.
 */
function blockFlops(layers: number, width: number, mlpHidden: number, queries: number, keys: number): number {
  const projections = 2 * queries * (width * 3 * width + width * width + 2 * width * mlpHidden);
  const attention = 2 * 2 * queries * keys * width;
  return layers * (projections + attention);
}

/** DALL·E-mini forward pass over the full stream of one sample (`logits` and `loss`). */
export function transformerForwardFlops(config: TransformerConfig): number {
  const { width, textLength, textVocabSize, imageVocabSize } = config;
  const length = textLength + IMAGE_TOKENS - 1;
  const blocks = blockFlops(config.layers, width, config.mlpRatio * width, length, length);
  const heads = 2 * width * ((textLength - 1) * textVocabSize + IMAGE_TOKENS * imageVocabSize);
  return blocks + heads;
}

/**
 * DALL·E-mini `sample` of 49 image tokens for one sample. With the cache: one pass over the
 * caption, then one new position per step over the cached keys. Without: the whole stream
 * again for every token, as `logits` computes it (both heads over every row).
 */
export function transformerSamplingFlops(config: TransformerConfig, useCache: boolean): number {
  const { width, textLength: T, textVocabSize, imageVocabSize, layers } = config;
  const mlpHidden = config.mlpRatio * width;
  const imageHead = 2 * width * imageVocabSize;
  let flops = 0;
  if (useCache) {
    flops += blockFlops(layers, width, mlpHidden, T, T) + imageHead;
    for (let position = 1; position < IMAGE_TOKENS; position++) {
      flops += blockFlops(layers, width, mlpHidden, 1, T + position) + imageHead;
    }
    return flops;
  }
  for (let position = 0; position < IMAGE_TOKENS; position++) {
    const length = T + position;
    flops += blockFlops(layers, width, mlpHidden, length, length);
    flops += 2 * width * (T - 1) * textVocabSize + (position + 1) * imageHead;
  }
  return flops;
}

/** CLIP forward pass for one image-caption pair inside a batch of `batchSize` pairs. */
export function clipForwardFlops(config: ClipConfig, batchSize: number): number {
  const [c1, c2, c3] = config.imageChannels;
  const image =
    2 * (convMacs(28, 28, 3, 1, c1) + convMacs(14, 14, 3, c1, c2) + convMacs(7, 7, 3, c2, c3) + 49 * c3 * config.imageHidden + config.imageHidden * config.embedDim);
  const text = blockFlops(config.textLayers, config.textWidth, 4 * config.textWidth, config.maxLength, config.maxLength) + 2 * config.textWidth * config.embedDim;
  // This pair's row of the [batch, batch] similarity logits.
  const logits = 2 * batchSize * config.embedDim;
  return image + text + logits;
}

/**
 * Counts multiply-adds per example of every conv and dense layer in `shapes`, by layer name.
 * A layer is a `<name>/w` with a matching `<name>/b`, as nn.ts's convShapes and denseShapes
 * create them. A bare `/w`, such as a learned null embedding, is looked up and not
 * multiplied, so it is left out. A dense layer runs once per example and a conv once per
 * output pixel, which `outputPixels` gives by layer name. Each layer must run once per pass.
 */
function layerMacs(shapes: ParamShapes, outputPixels: (layer: string) => number): Record<string, number> {
  const macs: Record<string, number> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    if (!name.endsWith('/w')) continue;
    const layer = name.slice(0, -2);
    if (!(`${layer}/b` in shapes)) continue;
    const weights = shape.reduce((a, b) => a * b, 1);
    macs[layer] = shape.length === 4 ? weights * outputPixels(layer) : weights;
  }
  return macs;
}

/**
 * Output resolution of the decoder's convs by block, as predictNoise applies them: the
 * U-Net runs at 28×28, 14×14 and 7×7, and the stride-2 `*_pool` convs output the next
 * smaller size.
 */
const DECODER_CONV_SIZES: Record<string, number> = {
  in: 28,
  down1: 28,
  down1_pool: 14,
  down2: 14,
  down2_pool: 7,
  mid1: 7,
  mid2: 7,
  up2_merge: 14,
  up2: 14,
  up1_merge: 28,
  up1: 28,
  out: 28,
};

/** Counts multiply-adds per example of each layer of one decoder U-Net pass (`predictNoise`), by layer name. */
export function decoderLayerMacs(config: DecoderConfig): Record<string, number> {
  return layerMacs(decoderShapes(config), (layer) => {
    const block = layer.split('/')[0];
    const size = DECODER_CONV_SIZES[block];
    if (size === undefined) throw new Error(`decoderLayerMacs: conv layer "${layer}" has no known output size; add its block to DECODER_CONV_SIZES.`);
    return size * size;
  });
}

/**
 * Counts FLOPs of one decoder U-Net pass for one example: the timestep and embedding MLPs,
 * the FiLM projections of every residual block, the 7×7 embedding map and every conv.
 */
export function decoderForwardFlops(config: DecoderConfig): number {
  return 2 * Object.values(decoderLayerMacs(config)).reduce((a, b) => a + b, 0);
}

/** Counts multiply-adds per example of each dense layer of one prior pass (`predictClean`), by layer name. */
export function priorLayerMacs(config: PriorConfig): Record<string, number> {
  return layerMacs(priorShapes(config), (layer) => {
    throw new Error(`priorLayerMacs: the prior is an MLP, but "${layer}" has a conv-shaped weight.`);
  });
}

/** Counts FLOPs of one prior pass (`predictClean`) for one example. */
export function priorForwardFlops(config: PriorConfig): number {
  return 2 * Object.values(priorLayerMacs(config)).reduce((a, b) => a + b, 0);
}

/** Network passes per sampling step: classifier-free guidance at a scale other than 1 adds the unconditional pass. */
function guidancePasses(guidanceScale: number): number {
  return guidanceScale === 1 ? 1 : 2;
}

export interface UnclipSampleSettings {
  /** Timesteps the prior's sampler visits. */
  priorSteps: number;
  /** Prior candidates drawn per caption. */
  candidates: number;
  priorGuidance: number;
  /** Timesteps the decoder's sampler visits. */
  decoderSteps: number;
  decoderGuidance: number;
}

/** Counts FLOPs of one unCLIP sample for one caption: the prior's passes over every candidate, then the decoder's. */
export function unclipSampleFlops(prior: PriorConfig, decoder: DecoderConfig, settings: UnclipSampleSettings): number {
  const priorFlops = settings.priorSteps * guidancePasses(settings.priorGuidance) * settings.candidates * priorForwardFlops(prior);
  const decoderFlops = settings.decoderSteps * guidancePasses(settings.decoderGuidance) * decoderForwardFlops(decoder);
  return priorFlops + decoderFlops;
}

// -----------------------------------------------------------------------------------------
// Workloads

function syntheticBatch(size: number, seed: number): Batch {
  let state = seed;
  const images = new Float32Array(size * 784).map(() => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  });
  const labels = Int32Array.from({ length: size }, (_, i) => i % 10);
  return { size, images, labels, indices: Int32Array.from({ length: size }, (_, i) => i) };
}

/** BPE over the captions of 500 synthetic labels: 196 tokens, learned in well under a second. */
function benchTokenizer(): BpeTokenizer {
  const labels = Int32Array.from({ length: 500 }, (_, i) => i % 10);
  return trainCaptionTokenizer(labels, 1, 256, labels.length, 13);
}

/** Random unit vectors [count, dim], standing in for CLIP embeddings, which have unit norm. */
function randomUnitVectors(count: number, dim: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const values = tf.randomNormal([count, dim], 0, 1, 'float32', seed);
    return tf.div(values, tf.norm(values, 2, 1, true)) as tf.Tensor2D;
  });
}

export type TrainingModel = 'classifier' | 'dvae' | 'dalle' | 'clip' | 'decoder' | 'prior';

interface TrainingSetup {
  params: Params;
  loss: LossFunction;
  /** Analytic FLOPs of one training step on the whole batch. */
  flopsPerStep: number;
  dispose(): void;
}

function trainingSetup(model: TrainingModel, batchSize: number, tokenizer: BpeTokenizer): TrainingSetup {
  if (model === 'classifier') {
    const instance = new Classifier(undefined, 1);
    return { params: instance.params, loss: instance.lossFunction(1), flopsPerStep: 3 * classifierForwardFlops(instance.config) * batchSize, dispose: () => instance.dispose() };
  }
  if (model === 'dvae') {
    const instance = new Dvae(undefined, 1);
    const forward = dvaeEncodeFlops(instance.config) + dvaeDecodeFlops(instance.config);
    return { params: instance.params, loss: instance.lossFunction(DEFAULT_DVAE_SCHEDULE, 1), flopsPerStep: 3 * forward * batchSize, dispose: () => instance.dispose() };
  }
  if (model === 'clip') {
    const instance = new Clip(DEFAULT_CLIP_CONFIG, 1);
    return {
      params: instance.params,
      loss: instance.lossFunction(tokenizer, 1),
      flopsPerStep: 3 * clipForwardFlops(instance.config, batchSize) * batchSize,
      dispose: () => instance.dispose(),
    };
  }
  if (model === 'decoder') {
    const instance = new Decoder(DEFAULT_DECODER_CONFIG, 1);
    // Random unit vectors in place of the CLIP image embeddings of the batch's images.
    const embed = (images: tf.Tensor4D) => randomUnitVectors(images.shape[0], instance.config.clipDim, 3);
    return {
      params: instance.params,
      loss: instance.lossFunction(embed, 1),
      flopsPerStep: 3 * decoderForwardFlops(instance.config) * batchSize,
      dispose: () => instance.dispose(),
    };
  }
  if (model === 'prior') {
    const instance = new Prior(DEFAULT_PRIOR_CONFIG, 1);
    // Random unit vectors in place of the CLIP image and caption embeddings of the batch.
    const embed = (batch: Batch) => ({
      images: randomUnitVectors(batch.size, instance.config.clipDim, 3),
      texts: randomUnitVectors(batch.size, instance.config.clipDim, 4),
    });
    return {
      params: instance.params,
      loss: instance.lossFunction(embed, 1),
      flopsPerStep: 3 * priorForwardFlops(instance.config) * batchSize,
      dispose: () => instance.dispose(),
    };
  }
  const dvae = new Dvae(undefined, 1);
  const instance = new DalleMini({ ...DALLE_SHIPPED_CONFIG, textVocabSize: tokenizer.vocabSize }, 1);
  // The loss tokenizes the batch with the dVAE's encoder every step: a forward pass only.
  const flopsPerStep = (3 * transformerForwardFlops(instance.config) + dvaeEncodeFlops(dvae.config)) * batchSize;
  return {
    params: instance.params,
    loss: instance.lossFunction({ dvae, tokenizer, captionSeed: 1 }),
    flopsPerStep,
    dispose: () => {
      instance.dispose();
      dvae.dispose();
    },
  };
}

const TRAINING_NAMES: Record<TrainingModel, string> = {
  classifier: 'classifier training step',
  dvae: 'dvae training step',
  dalle: 'DALL·E-mini training step',
  clip: 'CLIP training step',
  decoder: 'unCLIP decoder training step',
  prior: 'unCLIP prior training step',
};

/** Median training step time of a fresh model over `steps` steps after `warmup` steps. */
export async function trainingThroughput(model: TrainingModel, batchSize: number, steps = 10, warmup = 3, batch?: Batch): Promise<WorkloadResult> {
  const data = batch ?? syntheticBatch(batchSize, 7);
  const options = { learningRate: { initial: 1e-3, final: 1e-3, warmupSteps: 0, totalSteps: 1 } };
  const setup = trainingSetup(model, data.size, benchTokenizer());
  const trainer = new Trainer(setup.params, setup.loss, options);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + steps; i++) {
      const start = performance.now();
      trainer.trainStep(data); // reads the loss back, so the step has finished when it returns
      if (i >= warmup) times.push(performance.now() - start);
    }
  } finally {
    trainer.dispose();
    setup.dispose();
  }
  return workload(TRAINING_NAMES[model], data.size, median(times), setup.flopsPerStep / 1e9);
}

/**
 * Median latency of DALL·E-mini drawing 49 image tokens for `count` captions, with or
 * without the key/value cache, on the 4-layer, 128-wide transformer of
 * PYTORCH_SAMPLING_REFERENCE. One warm-up run comes first.
 */
export async function samplingLatency(useCache: boolean, count: number, repeats: number): Promise<WorkloadResult> {
  const tokenizer = benchTokenizer();
  const config: TransformerConfig = { ...SAMPLING_TRANSFORMER_CONFIG, textVocabSize: tokenizer.vocabSize };
  const model = new DalleMini(config, 2);
  const textIds = tokenizer.encode('a handwritten seven', { maxLength: config.textLength }).ids;
  const times: number[] = [];
  try {
    for (let i = 0; i < repeats + 1; i++) {
      const start = performance.now();
      await model.sample({ textIds, count, useCache, seed: i });
      if (i >= 1) times.push(performance.now() - start);
    }
  } finally {
    model.dispose();
  }
  const name = `DALL·E-mini sampling, 49 tokens, ${useCache ? 'KV cache' : 'no cache'}`;
  const gflopPerCall = (transformerSamplingFlops(config, useCache) * count) / 1e9;
  return { ...workload(name, count, median(times), gflopPerCall), reference: PYTORCH_SAMPLING_REFERENCE };
}

/** Median latency of tokenising images and decoding the tokens back, as the Tokenizer widget does. */
export async function tokenizeDecodeLatency(dvae: Dvae, batchSize: number, repeats = 10): Promise<WorkloadResult> {
  const data = syntheticBatch(batchSize, 11);
  const times: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    const start = performance.now();
    const images = tf.tensor4d(data.images, [batchSize, 28, 28, 1]);
    const tokens = dvae.tokenize(images);
    const decoded = dvae.decodeTokens(tokens);
    await tokens.data();
    await decoded.data();
    tf.dispose([images, tokens, decoded]);
    if (i >= 2) times.push(performance.now() - start);
  }
  const gflopPerCall = ((dvaeEncodeFlops(dvae.config) + dvaeDecodeFlops(dvae.config)) * batchSize) / 1e9;
  return workload('dVAE tokenise + decode', batchSize, median(times), gflopPerCall);
}

/**
 * Sampler settings of the unCLIP rows: DDIM with η = 0, two prior candidates without
 * guidance, and decoder guidance 3, which runs the U-Net twice per step.
 */
export const UNCLIP_BENCH_SAMPLING = { candidates: 2, priorGuidance: 1, decoderGuidance: 3, eta: 0 } as const;

/** Draws images for `embeddings` with the decoder at the bench settings and waits for the pixels. */
async function decodeEmbeddings(decoder: Decoder, embeddings: tf.Tensor2D, steps: number, seed: number): Promise<void> {
  const { images } = await decoder.sample({ embeddings, method: 'ddim', steps, eta: UNCLIP_BENCH_SAMPLING.eta, guidanceScale: UNCLIP_BENCH_SAMPLING.decoderGuidance, seed });
  try {
    await settle(images);
  } finally {
    images.dispose();
  }
}

/**
 * Measures the median latency of one unCLIP sample for one caption at `steps` DDIM steps,
 * on fresh default-config weights. The prior draws two image embeddings for a random unit
 * text embedding and keeps the closer one, then the decoder draws the image from it. The
 * CLIP text encoder that would embed a real caption is not run. `warmup` untimed runs come first.
 */
export async function unclipSamplingLatency(steps: number, repeats: number, warmup = 1): Promise<WorkloadResult> {
  const prior = new Prior(DEFAULT_PRIOR_CONFIG, 1);
  const decoder = new Decoder(DEFAULT_DECODER_CONFIG, 2);
  const text = randomUnitVectors(1, prior.config.clipDim, 5);
  const { candidates, priorGuidance, eta } = UNCLIP_BENCH_SAMPLING;
  const times: number[] = [];
  try {
    if (prior.config.clipDim !== decoder.config.clipDim) {
      throw new Error(`The default prior (clipDim ${prior.config.clipDim}) and decoder (clipDim ${decoder.config.clipDim}) embed in different CLIP spaces.`);
    }
    for (let i = 0; i < warmup + repeats; i++) {
      const start = performance.now();
      const embedding = await prior.sample({ textEmbeddings: text, method: 'ddim', steps, eta, guidanceScale: priorGuidance, candidates, seed: i });
      try {
        await decodeEmbeddings(decoder, embedding, steps, i);
      } finally {
        embedding.dispose();
      }
      if (i >= warmup) times.push(performance.now() - start);
    }
  } finally {
    text.dispose();
    prior.dispose();
    decoder.dispose();
  }
  const flops = unclipSampleFlops(prior.config, decoder.config, {
    priorSteps: samplingTimesteps(prior.schedule, steps).length,
    candidates,
    priorGuidance,
    decoderSteps: samplingTimesteps(decoder.schedule, steps).length,
    decoderGuidance: UNCLIP_BENCH_SAMPLING.decoderGuidance,
  });
  return workload(`unCLIP sample (prior + decoder), ${steps} DDIM steps`, 1, median(times), flops / 1e9);
}

/**
 * Measures the median latency of the decoder alone drawing `count` images for random unit
 * embeddings at `steps` DDIM steps with the bench's guidance. `warmup` untimed runs come first.
 */
export async function decoderSamplingLatency(count: number, steps: number, repeats: number, warmup = 1): Promise<WorkloadResult> {
  const decoder = new Decoder(DEFAULT_DECODER_CONFIG, 2);
  const embeddings = randomUnitVectors(count, decoder.config.clipDim, 6);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + repeats; i++) {
      const start = performance.now();
      await decodeEmbeddings(decoder, embeddings, steps, i);
      if (i >= warmup) times.push(performance.now() - start);
    }
  } finally {
    embeddings.dispose();
    decoder.dispose();
  }
  const passes = samplingTimesteps(decoder.schedule, steps).length * guidancePasses(UNCLIP_BENCH_SAMPLING.decoderGuidance);
  const gflopPerCall = (passes * count * decoderForwardFlops(decoder.config)) / 1e9;
  return workload(`unCLIP decoder sampling, ${steps} DDIM steps`, count, median(times), gflopPerCall);
}

export interface BackendBench {
  backend: string;
  environment: string;
  matmul: MatmulResult[];
  peakGflops: number;
  workloads: (WorkloadResult & { fractionOfPeak: number })[];
}

/**
 * Workload groups that a run can be limited to: `dalle` is the classifier, dVAE, CLIP and
 * DALL·E-mini rows, `unclip` the decoder and prior rows.
 */
export const WORKLOAD_GROUPS = ['dalle', 'unclip'] as const;
export type WorkloadGroup = (typeof WORKLOAD_GROUPS)[number];

export function isWorkloadGroup(value: unknown): value is WorkloadGroup {
  return typeof value === 'string' && (WORKLOAD_GROUPS as readonly string[]).includes(value);
}

/**
 * Measures the classifier, dVAE, DALL·E-mini and CLIP rows. `quick` leaves out sampling
 * without the cache, which recomputes the stream 49 times and takes minutes on cpu.
 */
async function dalleWorkloads(quick: boolean): Promise<WorkloadResult[]> {
  const steps = quick ? 1 : 10;
  const warmup = quick ? 1 : 3;
  // A batch-64 dVAE step takes about two minutes on Node's cpu backend, so quick runs use 8.
  const trainingBatch = quick ? 8 : 64;
  const dalleBatch = quick ? 8 : 32;
  const dvae = new Dvae(undefined, 1);
  try {
    return [
      await trainingThroughput('classifier', trainingBatch, steps, warmup),
      await trainingThroughput('dvae', trainingBatch, steps, warmup),
      await trainingThroughput('dalle', dalleBatch, steps, warmup),
      await trainingThroughput('clip', trainingBatch, steps, warmup),
      await tokenizeDecodeLatency(dvae, 1, quick ? 3 : 10),
      await tokenizeDecodeLatency(dvae, 16, quick ? 3 : 10),
      await samplingLatency(true, 16, quick ? 1 : 10),
      ...(quick ? [] : [await samplingLatency(false, 16, 3)]),
    ];
  } finally {
    dvae.dispose();
  }
}

/**
 * Measures the unCLIP rows: decoder and prior training steps at their training batch sizes,
 * one full sample at 10, 25 and 50 DDIM steps, and the decoder alone for 16 images. `quick`
 * uses batches of 4 (decoder) and 32 (prior), times one call of each, and leaves out the
 * 16-image decoder row.
 */
async function unclipWorkloads(quick: boolean): Promise<WorkloadResult[]> {
  const steps = quick ? 1 : 10;
  const warmup = quick ? 1 : 3;
  // Node's cpu backend ran a batch-2 decoder step in 10.7 s of CPU time (0.04 GFLOP/s, on a
  // 2-core AMD EPYC), so a batch-32 step there would take minutes.
  const decoderBatch = quick ? 4 : RECIPES.decoder.batchSize;
  const priorBatch = quick ? 32 : RECIPES.prior.batchSize;
  const repeats = quick ? 1 : 5;
  const workloads = [
    await trainingThroughput('decoder', decoderBatch, steps, warmup),
    await trainingThroughput('prior', priorBatch, steps, warmup),
  ];
  for (const samplingSteps of [10, 25, 50]) workloads.push(await unclipSamplingLatency(samplingSteps, repeats));
  if (!quick) workloads.push(await decoderSamplingLatency(16, 25, 3));
  return workloads;
}

/**
 * Runs the workloads of `groups` (default: all) on the current backend. `quick` shortens
 * runs and batches for slow backends (cpu).
 */
export async function runBackendBench(environment: string, options: { quick?: boolean; groups?: readonly WorkloadGroup[] } = {}): Promise<BackendBench> {
  const quick = options.quick ?? false;
  const groups = options.groups ?? WORKLOAD_GROUPS;
  const matmul = await matmulPeak(quick ? [128, 256] : [128, 256, 512], quick ? 3 : 5);
  const peakGflops = Math.max(...matmul.map((m) => m.gflops));
  const workloads: WorkloadResult[] = [];
  if (groups.includes('dalle')) workloads.push(...(await dalleWorkloads(quick)));
  if (groups.includes('unclip')) workloads.push(...(await unclipWorkloads(quick)));
  return {
    backend: tf.getBackend(),
    environment,
    matmul,
    peakGflops,
    workloads: workloads.map((w) => ({ ...w, fractionOfPeak: w.gflops / peakGflops })),
  };
}
