/**
 * Trains a shipped model in Node and writes its checkpoint and card to public/models/<name>/.
 *
 *   npm run train -- <classifier|dvae|clip|dalle|decoder|prior|captioner|captions-short|captions-descriptive|captions-blend> [--steps N] [--seed S] [--backend wasm|cpu] [--fresh]
 *
 * The captioner and the three caption-ablation generators train on placed digits
 * (`placeSplit` with `PLACEMENT_SEED`); the generators read the shipped captioner's captions.
 *
 * Progress is saved to .cache/train/<name>/ every `--save-every` steps; running the same
 * command again resumes from there (same seed, same batches), unless `--fresh` is given.
 * `--stop-after N` saves and exits at step N, which is how resuming is tested.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '../src/models/tf';
import { assignParams, decodeCheckpoint, encodeCheckpoint, CHECKPOINT_FORMAT_VERSION } from '../src/models/checkpoint';
import { Batcher, sliceBatch, type BatcherState } from '../src/models/data/batches';
import { loadIndex, loadSplit, type MnistSplit } from '../src/models/data/mnist';
import { nodeSource } from '../src/models/data/node-source';
import { sha256Hex } from '../src/models/data/sha256';
import { paramCount } from '../src/models/nn';
import { CAPTION_GENERATOR_CONFIG, CLIP_TOKENIZER_VOCAB_SIZE, DALLE_SHIPPED_CONFIG, createModel, isModelName, RECIPES, TITLES, type LossContext, type ModelHandle, type ModelName } from '../src/models/registry';
import { Trainer, NonFiniteLossError, type LossTerms } from '../src/models/trainer';
import type { ModelCard } from '../src/models/card';
import { Classifier } from '../src/models/classifier';
import { Dvae } from '../src/models/dvae';
import { Clip, trainCaptionTokenizer, zeroShotPromptIds } from '../src/models/clip';
import { BpeTokenizer } from '../src/models/text/bpe';
import { DalleMini } from '../src/models/transformer';
import { Decoder } from '../src/models/decoder';
import { Prior } from '../src/models/prior';
import { Captioner, CAPTION_SLOTS } from '../src/models/captioner';
import { ABLATION_VOCAB_SIZE, ablationCorpus, isCaptionGenerator } from '../src/models/caption-ablation';
import { placeSplit, PLACEMENT_SEED, PLACEMENT_TEST_SEED } from '../src/models/data/attributes';
import { useBackend, type NodeBackend } from './lib/node-backend';
import { readCheckpointDir, writeCheckpointDir } from './lib/checkpoint-files';
import { dallePromptAccuracy } from './lib/dalle-eval';

const root = resolve(import.meta.dirname, '..');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    steps: { type: 'string' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'wasm' },
    fresh: { type: 'boolean', default: false },
    'save-every': { type: 'string', default: '250' },
    'log-every': { type: 'string', default: '100' },
    out: { type: 'string' },
    // Ends the process after saving progress at this step, as an interruption would.
    'stop-after': { type: 'string' },
  },
});

const requestedName = positionals[0] ?? '';
if (!isModelName(requestedName)) {
  console.error(`Usage: npm run train -- <${Object.keys(RECIPES).join('|')}> [--steps N] [--seed S] [--backend wasm|cpu] [--fresh]. Got "${requestedName}".`);
  process.exit(2);
}
const name: ModelName = requestedName;
const recipe = { ...RECIPES[name] };
const steps = values.steps ? Number(values.steps) : recipe.steps;
const seed = Number(values.seed);
const saveEvery = Number(values['save-every']);
const logEvery = Number(values['log-every']);
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(seed)) {
  console.error(`--steps must be a positive integer and --seed an integer, got ${values.steps} and ${values.seed}.`);
  process.exit(2);
}
recipe.trainer = { learningRate: { ...recipe.trainer.learningRate, totalSteps: steps } };

const outDir = resolve(values.out ?? join(root, 'public/models', name));
const resumeDir = join(root, '.cache/train', name);

/** Resume state beside the weights: where the run is and what it was started with. */
interface ResumeState {
  step: number;
  seed: number;
  steps: number;
  batcher: BatcherState;
  elapsedSeconds: number;
}

async function saveResume(handle: ModelHandle, trainer: Trainer, batcher: Batcher, elapsedSeconds: number) {
  const optimizerState = await trainer.getOptimizerState();
  const tensors: Record<string, tf.Tensor> = { ...handle.model.params };
  const casts: tf.Tensor[] = [];
  for (const [key, tensor] of Object.entries(optimizerState)) {
    const asFloat = tensor.dtype === 'float32' ? tensor : tf.cast(tensor, 'float32');
    if (asFloat !== tensor) casts.push(asFloat);
    tensors[`optimizer/${key}`] = asFloat;
  }
  const checkpoint = await encodeCheckpoint(name, handle.config, tensors);
  // getWeights() creates a fresh `iter` scalar on every call; the moments are the optimizer's own.
  tf.dispose([...casts, optimizerState.iter]);
  await writeCheckpointDir(resumeDir, checkpoint);
  const state: ResumeState = { step: trainer.step, seed, steps, batcher: batcher.getState(), elapsedSeconds };
  await writeFile(join(resumeDir, 'state.json'), JSON.stringify(state));
}

async function tryResume(handle: ModelHandle, trainer: Trainer, batcher: Batcher): Promise<number> {
  const statePath = join(resumeDir, 'state.json');
  if (values.fresh || !existsSync(statePath)) return 0;
  const state = JSON.parse(await readFile(statePath, 'utf8')) as ResumeState;
  if (state.seed !== seed || state.steps !== steps) {
    console.log(`train ${name}: ignoring saved progress (seed ${state.seed}, ${state.steps} steps) because this run asks for seed ${seed}, ${steps} steps.`);
    return 0;
  }
  const checkpoint = await readCheckpointDir(resumeDir);
  const names = checkpoint.manifest.tensors.map((entry) => entry.name);
  const optimizerShapes = Object.fromEntries(checkpoint.manifest.tensors.filter((e) => e.name.startsWith('optimizer/')).map((e) => [e.name, e.shape]));
  const values_ = await decodeCheckpoint(checkpoint, { model: name, shapes: { ...handle.shapes, ...optimizerShapes }, origin: resumeDir });
  assignParams(handle.model.params, values_);
  const optimizerState: Record<string, tf.Tensor> = {};
  for (const key of names.filter((n) => n.startsWith('optimizer/'))) {
    const entry = checkpoint.manifest.tensors.find((e) => e.name === key)!;
    optimizerState[key.slice('optimizer/'.length)] = tf.tensor(values_[key], entry.shape);
  }
  await trainer.setOptimizerState(optimizerState);
  // setWeights wraps each tensor in a new variable that shares its data, so these can go.
  tf.dispose(Object.values(optimizerState));
  batcher.setState(state.batcher);
  trainer.step = state.step;
  console.log(`train ${name}: resumed at step ${state.step} of ${steps} from ${resumeDir}.`);
  return state.elapsedSeconds;
}

/** Computes a quick held-out check for the log. `npm run evaluate` computes the card's metrics. */
function quickCheck(handle: ModelHandle, test: MnistSplit, tokenizer: BpeTokenizer | undefined, context: LossContext, testAttributes?: Uint8Array): string {
  const batch = sliceBatch(test, 0, 1000);
  if (handle.model instanceof Captioner) {
    const { classes } = tf.tidy(() => (handle.model as Captioner).predictSlots(tf.tensor4d(batch.images, [batch.size, 28, 28, 1])));
    const slots = CAPTION_SLOTS.length;
    const accuracy = CAPTION_SLOTS.map((slot, k) => {
      let correct = 0;
      for (let i = 0; i < batch.size; i++) correct += classes[i * slots + k] === (k === 0 ? batch.labels[i] : testAttributes![i * 4 + k - 1]) ? 1 : 0;
      return `${slot.name} ${(correct / batch.size).toFixed(3)}`;
    });
    return `accuracy on the first ${batch.size} placed test digits: ${accuracy.join(', ')}`;
  }
  if (handle.model instanceof DalleMini) return 'samples are scored by `npm run evaluate`';
  if (handle.model instanceof Decoder || handle.model instanceof Prior) {
    // The training loss on held-out digits, at timesteps and noise drawn from a fixed seed.
    const terms = tf.tidy(() => {
      const { terms: values } = handle.lossFunction(0, context)(batch, 0);
      return Object.entries(values).map(([key, value]) => `${key} ${value.dataSync()[0].toFixed(4)}`);
    });
    return `held-out ${terms.join(', ')} on the first ${batch.size} test digits`;
  }
  return tf.tidy(() => {
    const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
    if (handle.model instanceof Classifier) {
      const predicted = handle.model.predict(images).dataSync();
      let correct = 0;
      predicted.forEach((p, i) => (correct += p === batch.labels[i] ? 1 : 0));
      return `test accuracy ${(correct / batch.size).toFixed(4)} on the first ${batch.size} test digits`;
    }
    if (handle.model instanceof Clip) {
      const prompts = zeroShotPromptIds(tokenizer!, handle.model.config.maxLength);
      const predicted = tf.argMax(handle.model.zeroShot(images, prompts), 1).dataSync();
      let correct = 0;
      predicted.forEach((p, i) => (correct += p === batch.labels[i] ? 1 : 0));
      return `zero-shot accuracy ${(correct / batch.size).toFixed(4)} on the first ${batch.size} test digits`;
    }
    const model = handle.model as Dvae;
    const mse = tf.mean(tf.square(tf.sub(model.reconstruct(images), images))).dataSync()[0];
    return `hard-token reconstruction MSE ${mse.toFixed(5)} on the first ${batch.size} test digits`;
  });
}

function formatTerms(terms: LossTerms): string {
  return Object.entries(terms)
    .map(([key, value]) => `${key} ${Math.abs(value) < 0.01 && value !== 0 ? value.toExponential(2) : value.toFixed(4)}`)
    .join(', ');
}

/** Loads a shipped checkpoint from public/models/<name>/, checked against its own manifest's config. */
async function loadShippedModel(shipped: ModelName): Promise<ModelHandle> {
  const dir = join(root, 'public/models', shipped);
  const checkpoint = await readCheckpointDir(dir);
  const loaded = createModel(shipped, 0, checkpoint.manifest.config as never);
  assignParams(loaded.model.params, await decodeCheckpoint(checkpoint, { model: shipped, shapes: loaded.shapes, origin: dir }));
  return loaded;
}

async function main() {
  const backend = await useBackend(values.backend as NodeBackend);
  const source = nodeSource();
  const loadStart = performance.now();
  let [train, test, index] = await Promise.all([loadSplit(source, 'train'), loadSplit(source, 'test'), loadIndex(source)]);
  const dataSha256 = await sha256Hex(new TextEncoder().encode(index.splits.train.shards.map((s) => s.sha256).join('\n')));
  console.log(`train ${name}: loaded ${train.count} train and ${test.count} test digits in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; backend ${backend}.`);

  // CLIP's caption tokenizer is learned first; the same seed always rebuilds the same one.
  // DALL·E-mini reuses the shipped CLIP vocabulary, so CLIP can rerank its samples.
  let tokenizer: BpeTokenizer | undefined;
  let dvae: Dvae | undefined;
  let referee: Classifier | undefined;
  if (name === 'clip') {
    tokenizer = trainCaptionTokenizer(train.labels, seed, CLIP_TOKENIZER_VOCAB_SIZE);
    console.log(`train ${name}: learned a BPE caption tokenizer with ${tokenizer.vocabSize} tokens.`);
  }
  let attributes: Uint8Array | undefined;
  let testAttributes: Uint8Array | undefined;
  let descriptiveCaptions: string[] | undefined;
  if (name === 'captioner' || isCaptionGenerator(name)) {
    const placeStart = performance.now();
    const placedTrain = placeSplit(train, PLACEMENT_SEED);
    const placedTest = placeSplit(test, PLACEMENT_TEST_SEED);
    [train, test, attributes, testAttributes] = [placedTrain.split, placedTest.split, placedTrain.attributes, placedTest.attributes];
    console.log(`train ${name}: placed and measured ${train.count + test.count} digits in ${((performance.now() - placeStart) / 1000).toFixed(1)} s.`);
  }
  if (isCaptionGenerator(name)) {
    dvae = (await loadShippedModel('dvae')).model as Dvae;
    const captioner = (await loadShippedModel('captioner')).model as Captioner;
    descriptiveCaptions = [];
    for (let start = 0; start < train.count; start += 500) {
      const batch = sliceBatch(train, start, Math.min(500, train.count - start));
      const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
      const written = captioner.caption(images);
      images.dispose();
      descriptiveCaptions.push(...written.map((caption) => caption.text));
    }
    // The same seed and captioner always rebuild the same vocabulary, so the three generators share it.
    tokenizer = BpeTokenizer.train(ablationCorpus(train.labels, descriptiveCaptions, seed), { vocabSize: ABLATION_VOCAB_SIZE });
    console.log(`train ${name}: the shipped captioner wrote ${descriptiveCaptions.length} captions ("${descriptiveCaptions[0]}"); shared tokenizer of ${tokenizer.vocabSize} tokens.`);
  }
  let clip: Clip | undefined;
  if (name === 'decoder' || name === 'prior') {
    tokenizer = BpeTokenizer.fromJSON(await readFile(join(root, 'public/models/clip/tokenizer.json'), 'utf8'));
    clip = (await loadShippedModel('clip')).model as Clip;
    console.log(`train ${name}: conditioning on the shipped CLIP's embeddings.`);
  }
  if (name === 'dalle') {
    tokenizer = BpeTokenizer.fromJSON(await readFile(join(root, 'public/models/clip/tokenizer.json'), 'utf8'));
    dvae = (await loadShippedModel('dvae')).model as Dvae;
    referee = (await loadShippedModel('classifier')).model as Classifier;
    console.log(`train ${name}: using the shipped dVAE and the CLIP tokenizer (${tokenizer.vocabSize} tokens).`);
  }
  const handle = createModel(
    name,
    seed,
    name === 'dalle' ? { ...DALLE_SHIPPED_CONFIG, textVocabSize: tokenizer!.vocabSize } : isCaptionGenerator(name) ? { ...CAPTION_GENERATOR_CONFIG, textVocabSize: tokenizer!.vocabSize } : undefined,
  );
  const context: LossContext = { schedule: recipe.schedule, tokenizer, dvae, clip, attributes, descriptiveCaptions };
  const trainer = new Trainer(handle.model.params, handle.lossFunction(seed, context), recipe.trainer);
  const batcher = new Batcher(train, recipe.batchSize, seed, recipe.maxShift);
  const elapsedBefore = await tryResume(handle, trainer, batcher);
  console.log(`train ${name}: ${paramCount(handle.shapes)} parameters, config ${JSON.stringify(handle.config)}, ${steps} steps of batch ${recipe.batchSize}, seed ${seed}.`);

  let terms: LossTerms = {};
  let windowStart = performance.now();
  let windowStep = trainer.step;
  const runStart = performance.now();
  while (trainer.step < steps) {
    try {
      terms = trainer.trainStep(batcher.next());
    } catch (error) {
      if (error instanceof NonFiniteLossError) {
        console.error(`train ${name}: ${error.message} Progress saved at the last multiple of ${saveEvery} steps is kept in ${resumeDir}.`);
        process.exit(1);
      }
      throw error;
    }

    if (trainer.step % logEvery === 0 || trainer.step === steps) {
      const now = performance.now();
      const stepsPerSecond = (trainer.step - windowStep) / ((now - windowStart) / 1000);
      console.log(`train ${name}: step ${trainer.step}/${steps}, epoch ${batcher.epoch}, ${formatTerms(terms)}, ${stepsPerSecond.toFixed(2)} steps/s, ${tf.memory().numTensors} tensors.`);
      windowStart = now;
      windowStep = trainer.step;
    }
    const stopHere = values['stop-after'] !== undefined && trainer.step === Number(values['stop-after']);
    if ((trainer.step % saveEvery === 0 || stopHere) && trainer.step < steps) {
      await saveResume(handle, trainer, batcher, elapsedBefore + (performance.now() - runStart) / 1000);
    }
    if (stopHere) {
      console.log(`train ${name}: stopped at step ${trainer.step} as --stop-after asked; run the same command again to resume.`);
      return;
    }
  }

  const durationSeconds = elapsedBefore + (performance.now() - runStart) / 1000;
  console.log(`train ${name}: finished ${steps} steps in ${(durationSeconds / 60).toFixed(1)} min; ${name === 'dalle' ? `prompt accuracy ${(await dallePromptAccuracy(handle.model as DalleMini, dvae!, referee!, tokenizer!, 10)).toFixed(2)} on 100 samples` : quickCheck(handle, test, tokenizer, context, testAttributes)}.`);

  const trainingFacts = { step: trainer.step, seed };
  const checkpoint = await encodeCheckpoint(name, handle.config, handle.model.params, trainingFacts);
  await writeCheckpointDir(outDir, checkpoint);
  if (tokenizer) await writeFile(join(outDir, 'tokenizer.json'), `${JSON.stringify(tokenizer.toJSON())}\n`);
  const card: ModelCard = {
    model: name,
    ...TITLES[name],
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    config: { ...handle.config },
    parameters: paramCount(handle.shapes),
    training: {
      command: `npm run train -- ${name} --steps ${steps} --seed ${seed} --backend ${backend}`,
      seed,
      steps,
      batchSize: recipe.batchSize,
      options: { ...recipe.trainer, maxShift: recipe.maxShift, ...(recipe.schedule ? { schedule: recipe.schedule } : {}), ...(tokenizer ? { tokenizer: { file: 'tokenizer.json', vocabSize: tokenizer.vocabSize } } : {}) },
      dataSha256,
      tfjsVersion: tf.version_core,
      backend,
      durationSeconds: Math.round(durationSeconds),
      finishedAt: new Date().toISOString(),
      finalLossTerms: terms,
    },
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  await rm(resumeDir, { recursive: true, force: true });
  console.log(`train ${name}: wrote ${outDir}/model.json, weights.bin (${(checkpoint.weights.length / 1024).toFixed(0)} KiB) and card.json; run \`npm run evaluate\` for its metrics.`);
}

await main();
