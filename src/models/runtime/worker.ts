/**
 * The model worker: exposes a ModelHost to the page through comlink. Results move their
 * typed arrays to the page (transfer) instead of copying them. Progress reports are copied
 * (about 50 KB each), because `stepTraining` returns the same report it sends to `onProgress`.
 *
 * Start it with `createModelSession()` from client.ts, which bundles this file as a module worker.
 */
import * as Comlink from 'comlink';
import { ModelHost } from './host';
import type { DiffusionStepReport, ModelWorkerApi, TokenizeResult, TrainingProgress } from './protocol';

const host = new ModelHost();

/** A comlink proxy of the page's `onStep` callback (client.ts wraps it with Comlink.proxy). */
type RemoteStepCallback = Comlink.Remote<(step: DiffusionStepReport) => void>;

/** Sends each diffusion step to the page, moving its two images instead of copying them. */
function sendStep(remoteCallback: RemoteStepCallback): (step: DiffusionStepReport) => void {
  return (step) => {
    const transferred = Comlink.transfer(step, [step.images.buffer, step.predictedClean.buffer] as ArrayBuffer[]);
    // A failing page callback must not stop sampling.
    void remoteCallback(transferred).catch(() => {});
  };
}

const api: ModelWorkerApi = {
  init: (options) => host.init(options),
  load: (name, source) => host.load(name, source),
  loadFile: (name, bytes, fileName) => host.loadFile(name, bytes, fileName),

  async tokenize(images, count) {
    const result: TokenizeResult = await host.tokenize(images, count);
    return Comlink.transfer(result, [result.tokens.buffer, result.reconstructions.buffer, result.confidence.buffer] as ArrayBuffer[]);
  },
  async decodeTokens(tokens, count) {
    const pixels = await host.decodeTokens(tokens, count);
    return Comlink.transfer(pixels, [pixels.buffer as ArrayBuffer]);
  },
  async classify(images, count) {
    const result = await host.classify(images, count);
    return Comlink.transfer(result, [result.labels.buffer, result.probabilities.buffer] as ArrayBuffer[]);
  },
  async testDigits(start, count) {
    const result = await host.testDigits(start, count);
    return Comlink.transfer(result, [result.images.buffer, result.labels.buffer] as ArrayBuffer[]);
  },

  async placedDigits(start, count) {
    const result = await host.placedDigits(start, count);
    return Comlink.transfer(result, [result.indices.buffer, result.images.buffer, result.labels.buffer] as ArrayBuffer[]);
  },
  async caption(images, count) {
    const result = await host.caption(images, count);
    return Comlink.transfer(result, [result.normalized.buffer as ArrayBuffer]);
  },

  readPrompt: (name, text) => host.readPrompt(name, text),
  async clipEmbed(request) {
    const result = await host.clipEmbed(request);
    return Comlink.transfer(result, [result.images.buffer, result.texts.buffer] as ArrayBuffer[]);
  },
  async zeroShot(images, count, template) {
    const result = await host.zeroShot(images, count, template);
    return Comlink.transfer(result, [result.similarities.buffer, result.probabilities.buffer, result.predicted.buffer] as ArrayBuffer[]);
  },
  async sampleDalle(request, onToken) {
    // Like `onProgress` below, `onToken` is a comlink proxy of the page's callback.
    const remoteCallback = onToken as Comlink.Remote<(position: number, tokens: Int32Array) => void> | undefined;
    try {
      const result = await host.sampleDalle(request, remoteCallback ? (position, tokens) => void remoteCallback(position, tokens).catch(() => {}) : undefined);
      return Comlink.transfer(result, [result.tokens.buffer, result.images.buffer] as ArrayBuffer[]);
    } finally {
      remoteCallback?.[Comlink.releaseProxy]?.();
    }
  },
  async inspectDalle(prompt, tokens) {
    const result = await host.inspectDalle(prompt, tokens);
    return Comlink.transfer(result, [result.attention.buffer, result.topProbabilities.buffer] as ArrayBuffer[]);
  },

  async forwardNoise(request) {
    const result = await host.forwardNoise(request);
    return Comlink.transfer(result, [result.noisy.buffer as ArrayBuffer]);
  },
  async decodeEmbedding(request, onStep) {
    const remoteCallback = onStep as RemoteStepCallback | undefined;
    try {
      const result = await host.decodeEmbedding(request, remoteCallback ? sendStep(remoteCallback) : undefined);
      return Comlink.transfer(result, [result.images.buffer as ArrayBuffer]);
    } finally {
      remoteCallback?.[Comlink.releaseProxy]?.();
    }
  },
  async sampleUnclip(request, onStep) {
    const remoteCallback = onStep as RemoteStepCallback | undefined;
    try {
      const result = await host.sampleUnclip(request, remoteCallback ? sendStep(remoteCallback) : undefined);
      const buffers = [result.images.buffer, result.textEmbedding.buffer, result.imageEmbeddings.buffer, result.clipScores.buffer];
      return Comlink.transfer(result, buffers as ArrayBuffer[]);
    } finally {
      remoteCallback?.[Comlink.releaseProxy]?.();
    }
  },
  cancelSampling: () => host.cancelSampling(),

  async startTraining(options, onProgress) {
    // `onProgress` is a comlink proxy of the page's callback (client.ts wraps it with Comlink.proxy).
    const remoteCallback = onProgress as Comlink.Remote<(progress: TrainingProgress) => void>;
    const send = (progress: TrainingProgress) => {
      // A failing page callback is the page's problem; training goes on.
      remoteCallback(progress).catch(() => {});
    };
    try {
      await host.startTraining(options, send);
    } finally {
      // The run has sent its last report; free the page-side callback.
      remoteCallback[Comlink.releaseProxy]?.();
    }
  },
  pauseTraining: () => host.pauseTraining(),
  resumeTraining: () => host.resumeTraining(),
  stepTraining: () => host.stepTraining(),
  resetTraining: () => host.resetTraining(),

  previewWeights: (name, previewCount) => host.previewWeights(name, previewCount),

  save: (name) => host.save(name),
  savedInfo: (name) => host.savedInfo(name),
  deleteSaved: (name) => host.deleteSaved(name),
  async exportFile(name) {
    const bytes = await host.exportFile(name);
    return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
  },
};

Comlink.expose(api);
