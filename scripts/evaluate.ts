/**
 * Computes each shipped model's metrics on the full MNIST test split and writes them
 * into public/models/<name>/card.json under `metrics` (and the settings behind them under
 * `evaluation`). Chapters import these cards.
 *
 *   npm run evaluate [-- classifier dvae] [--backend wasm|cpu] [--models DIR]
 *                    [--candidates N] [--per-digit N]
 *
 * --models DIR reads and writes the checkpoints under DIR instead of public/models.
 * --candidates and --per-digit change the DALL·E-mini evaluation (defaults 8 and 100).
 *
 * classifier: testAccuracy.
 * dvae: reconstructionAccuracy (the referee's accuracy on hard-token reconstructions),
 *       mse (per pixel, pixels in [0, 1]), codebookPerplexity and codesUsed over all
 *       test tokens.
 * clip: zeroShotAccuracy (prompt "a handwritten <digit word>" per class) and recallAt1.
 *       recallAt1 takes one seeded caption per test digit and counts the share whose most
 *       similar test image shows the captioned digit. Captions name only the digit, so
 *       this is recall at the level of the label, not of the exact image.
 * dalle: 1,000 slots, 100 per digit, each drawing `--candidates` samples from the prompt
 *        "a handwritten <digit word>". Candidate 0 of each slot is the sample without
 *        reranking, and the candidate with CLIP's highest cosine to the prompt is the
 *        reranked one. Each set gets promptAccuracy (share the referee classifies as the
 *        prompted digit), fid (FID on referee features against the 10,000 test digits) and
 *        cosineSimilarity (mean CLIP cosine with the prompt). The reranked ones end in
 *        "Reranked". fidFloor is the FID of 1,000 real training digits, 100 per digit,
 *        against the same test features. The card's `evaluation` records the sampling
 *        settings and seeds.
 * unclip: the pipeline of the shipped CLIP, prior and decoder, written to
 *        public/models/unclip/card.json. 1,000 images, 100 per digit, from the prompt
 *        "a handwritten <digit word>" give promptAccuracy, fid (with the same fidFloor as
 *        dalle) and cosineSimilarity. variationClassKept is the share of decoder variations
 *        of real test digits (same CLIP image embedding, new noise) that the referee gives
 *        the source digit's class.
 * captioner: on the 10,000 test digits placed with PLACEMENT_TEST_SEED, the accuracy of
 *        each caption slot (digitAccuracy, thicknessAccuracy, slantAccuracy, sizeAccuracy,
 *        positionAccuracy), their attribute mean attributeAccuracy, and captionExactMatch.
 * captions-short, captions-descriptive, captions-blend: 1,000 placed test digits, 100 per
 *        digit; each generator draws one sample for the descriptive caption measured from
 *        each digit and one for its short caption. attributeAccuracy is the mean over the
 *        four attributes of the share of samples whose measured attribute matches the
 *        prompt (with each attribute's share and allAttributesMatch); promptAccuracy and
 *        shortPromptAccuracy are the referee's accuracy on the descriptive and short
 *        prompts' samples after MNIST's normalisation. attributeAccuracyCeiling and
 *        promptAccuracyCeiling are the same measures for the real digits passed through the dVAE.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '../src/models/tf';
import { assignParams, decodeCheckpoint } from '../src/models/checkpoint';
import { sliceBatch } from '../src/models/data/batches';
import { loadSplit, type MnistSplit } from '../src/models/data/mnist';
import { nodeSource } from '../src/models/data/node-source';
import { Classifier } from '../src/models/classifier';
import { Dvae } from '../src/models/dvae';
import { Clip, encodeCaptions, zeroShotPromptIds } from '../src/models/clip';
import { captionFor } from '../src/models/data/captions';
import { deriveSeed } from '../src/models/data/rng';
import { BpeTokenizer } from '../src/models/text/bpe';
import { DalleMini } from '../src/models/transformer';
import { balancedTrainingSample, dalleEvaluationRecord, evaluateDalle, refereeFeatures } from './lib/dalle-eval';
import { accuracy, codebookUsage, featureStatistics, MeanSquaredError } from '../src/models/metrics';
import { DALLE_EVAL_SAMPLING } from '../src/models/rerank';
import { createModel, isModelName, type ModelHandle, type ModelName } from '../src/models/registry';
import type { ModelCard } from '../src/models/card';
import { useBackend, type NodeBackend } from './lib/node-backend';
import { evaluateUnclip, UNCLIP_EVAL_SAMPLING, UNCLIP_SAMPLING_CHOICE } from './lib/unclip-eval';
import type { Decoder } from '../src/models/decoder';
import type { Prior } from '../src/models/prior';
import { readCheckpointDir } from './lib/checkpoint-files';
import { dvaeCeilings, evaluateCaptionGenerator, evaluateCaptioner, promptDigits } from './lib/caption-eval';
import { Captioner } from '../src/models/captioner';
import { isCaptionGenerator } from '../src/models/caption-ablation';
import { placeSplit, PLACEMENT_TEST_SEED, type PlacedSplit } from '../src/models/data/attributes';

const root = resolve(import.meta.dirname, '..');
const BATCH = 500;

/** Seed of the DALL·E-mini samples and of the training digits behind `fidFloor`. */
const DALLE_EVAL_SEED = 0;
/** DALL·E-mini samples per digit, and real training digits per digit for `fidFloor`. */
const DEFAULT_PER_DIGIT = 100;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string', default: 'wasm' },
    models: { type: 'string', default: 'public/models' },
    candidates: { type: 'string', default: String(DALLE_EVAL_SAMPLING.candidates) },
    'per-digit': { type: 'string', default: String(DEFAULT_PER_DIGIT) },
  },
});
const requested = positionals.length ? positionals : ['classifier', 'dvae', 'clip', 'dalle', 'unclip', 'captioner', 'captions-short', 'captions-descriptive', 'captions-blend'];
for (const name of requested) {
  if (name !== 'unclip' && (!isModelName(name) || name === 'decoder' || name === 'prior')) {
    console.error(`Unknown model "${name}": expected classifier, dvae, clip, dalle, unclip, captioner, captions-short, captions-descriptive or captions-blend (the decoder and prior are evaluated together as unclip).`);
    process.exit(2);
  }
}

function positiveInteger(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${option} must be a positive integer, got "${text}".`);
    process.exit(2);
  }
  return value;
}
const candidates = positiveInteger('candidates', values.candidates!);
const perDigit = positiveInteger('per-digit', values['per-digit']!);
const modelsRoot = resolve(root, values.models!);

function modelDir(name: ModelName | 'unclip') {
  return join(modelsRoot, name);
}

async function loadShipped(name: ModelName): Promise<{ handle: ModelHandle; card: ModelCard }> {
  const dir = modelDir(name);
  const card = JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')) as ModelCard;
  const checkpoint = await readCheckpointDir(dir);
  const handle = createModel(name, 0, checkpoint.manifest.config as never);
  assignParams(handle.model.params, await decodeCheckpoint(checkpoint, { model: name, shapes: handle.shapes, origin: dir }));
  return { handle, card };
}

function predictAll(classifier: Classifier, images: (start: number, size: number) => tf.Tensor4D, count: number): Int32Array {
  const predicted = new Int32Array(count);
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    const batch = images(start, size);
    const labels = classifier.predict(batch);
    predicted.set(labels.dataSync(), start);
    tf.dispose([batch, labels]);
  }
  return predicted;
}

function testImages(test: MnistSplit) {
  return (start: number, size: number) => {
    const batch = sliceBatch(test, start, size);
    return tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
  };
}

async function evaluateClassifier(classifier: Classifier, test: MnistSplit) {
  const predicted = predictAll(classifier, testImages(test), test.count);
  return { testAccuracy: accuracy(predicted, test.labels) };
}

async function evaluateDvae(dvae: Dvae, referee: Classifier, test: MnistSplit) {
  const tokens = new Int32Array(test.count * 49);
  const predicted = new Int32Array(test.count);
  const mse = new MeanSquaredError();
  for (let start = 0; start < test.count; start += BATCH) {
    const size = Math.min(BATCH, test.count - start);
    const batch = sliceBatch(test, start, size);
    const [grid, labels, reconstruction] = tf.tidy(() => {
      const images = tf.tensor4d(batch.images, [size, 28, 28, 1]);
      const grid = dvae.tokenize(images);
      const reconstruction = dvae.decodeTokens(grid);
      return [grid, referee.predict(reconstruction), reconstruction];
    });
    tokens.set(grid.dataSync(), start * 49);
    predicted.set(labels.dataSync(), start);
    mse.add(reconstruction.dataSync(), batch.images);
    tf.dispose([grid, labels, reconstruction]);
  }
  const usage = codebookUsage(tokens, dvae.config.codebookSize);
  return {
    reconstructionAccuracy: accuracy(predicted, test.labels),
    mse: mse.value(),
    codebookPerplexity: usage.perplexity,
    codesUsed: usage.codesUsed,
  };
}

async function evaluateClip(clip: Clip, tokenizer: BpeTokenizer, test: MnistSplit, seed: number) {
  const { maxLength, embedDim } = clip.config;
  const prompts = zeroShotPromptIds(tokenizer, maxLength);
  const predicted = new Int32Array(test.count);
  const imageEmbeddings = new Float32Array(test.count * embedDim);
  const textEmbeddings = new Float32Array(test.count * embedDim);
  for (let start = 0; start < test.count; start += BATCH) {
    const size = Math.min(BATCH, test.count - start);
    const batch = sliceBatch(test, start, size);
    const captions = Array.from(batch.labels, (label, i) => captionFor(label, deriveSeed(seed, start + i), 0));
    const [labels, images, texts] = tf.tidy(() => {
      const pixels = tf.tensor4d(batch.images, [size, 28, 28, 1]);
      const ids = tf.tensor2d(encodeCaptions(tokenizer, captions, maxLength).ids, [size, maxLength], 'int32');
      return [tf.argMax(clip.zeroShot(pixels, prompts), 1), clip.encodeImages(pixels), clip.encodeTexts(ids)];
    });
    predicted.set(labels.dataSync(), start);
    imageEmbeddings.set(images.dataSync(), start * embedDim);
    textEmbeddings.set(texts.dataSync(), start * embedDim);
    tf.dispose([labels, images, texts]);
  }
  prompts.dispose();

  // Text → image retrieval over the whole test split, a block of captions at a time.
  const allImages = tf.tensor2d(imageEmbeddings, [test.count, embedDim]);
  const retrievedLabels = new Int32Array(test.count);
  for (let start = 0; start < test.count; start += BATCH) {
    const size = Math.min(BATCH, test.count - start);
    const best = tf.tidy(() => {
      const texts = tf.tensor2d(textEmbeddings.subarray(start * embedDim, (start + size) * embedDim), [size, embedDim]);
      return tf.argMax(tf.matMul(texts, allImages, false, true), 1); // [size] index of the most similar image
    });
    best.dataSync().forEach((index, i) => (retrievedLabels[start + i] = test.labels[index]));
    best.dispose();
  }
  allImages.dispose();
  return { zeroShotAccuracy: accuracy(predicted, test.labels), recallAt1: accuracy(retrievedLabels, test.labels) };
}

async function evaluateDalleModel(model: DalleMini, referee: Classifier, test: MnistSplit) {
  const clipDir = modelDir('clip');
  if (!existsSync(join(clipDir, 'model.json'))) {
    throw new Error(`evaluate dalle: CLIP reranking needs ${clipDir}; run \`npm run train -- clip\` first.`);
  }
  const tokenizer = BpeTokenizer.fromJSON(await readFile(join(modelDir('dalle'), 'tokenizer.json'), 'utf8'));
  const clipTokenizer = BpeTokenizer.fromJSON(await readFile(join(clipDir, 'tokenizer.json'), 'utf8'));
  const { handle: dvaeHandle } = await loadShipped('dvae');
  const { handle: clipHandle } = await loadShipped('clip');

  const hidden = referee.config.hidden;
  const train = await loadSplit(nodeSource(), 'train');
  const floorIndices = balancedTrainingSample(train, perDigit, DALLE_EVAL_SEED);
  const reference = featureStatistics(refereeFeatures(referee, test), test.count, hidden);
  const floor = featureStatistics(refereeFeatures(referee, train, floorIndices), floorIndices.length, hidden);

  const { temperature, topK, topP } = DALLE_EVAL_SAMPLING;
  const sampling = { temperature, topK, topP };
  const started = performance.now();
  console.log(`evaluate dalle: ${10 * perDigit} slots × ${candidates} candidates, temperature ${temperature}, topK ${topK}, topP ${topP}, seed ${DALLE_EVAL_SEED}.`);
  const metrics = await evaluateDalle(
    { model, tokenizer, dvae: dvaeHandle.model as Dvae, referee, clip: clipHandle.model as Clip, clipTokenizer },
    {
      perDigit,
      candidates,
      seed: DALLE_EVAL_SEED,
      sampling,
      reference,
      floor,
      onDigit: (digit, slotsDone) => console.log(`evaluate dalle: digit ${digit} done, ${slotsDone} slots in ${((performance.now() - started) / 1000).toFixed(1)} s.`),
    },
  );
  dvaeHandle.model.dispose();
  clipHandle.model.dispose();

  const record = dalleEvaluationRecord({ perDigit, candidates, seed: DALLE_EVAL_SEED, sampling, floorSeed: DALLE_EVAL_SEED, hidden, testCount: test.count, trainCount: train.count });
  return { metrics, record };
}

/**
 * Evaluates the unCLIP pipeline and writes its card, which names the checkpoints it used
 * instead of describing a training run of its own.
 */
async function evaluateUnclipPipeline(referee: Classifier, test: MnistSplit, backend: string): Promise<void> {
  for (const part of ['clip', 'prior', 'decoder'] as const) {
    if (!existsSync(join(modelDir(part), 'model.json'))) {
      throw new Error(`evaluate unclip: no ${part} checkpoint in ${modelDir(part)}; run \`npm run train -- ${part}\` first.`);
    }
  }
  const clipTokenizer = BpeTokenizer.fromJSON(await readFile(join(modelDir('clip'), 'tokenizer.json'), 'utf8'));
  const parts = {
    clip: await loadShipped('clip'),
    prior: await loadShipped('prior'),
    decoder: await loadShipped('decoder'),
  };
  const hidden = referee.config.hidden;
  const train = await loadSplit(nodeSource(), 'train');
  const reference = featureStatistics(refereeFeatures(referee, test), test.count, hidden);
  const floor = featureStatistics(refereeFeatures(referee, train, balancedTrainingSample(train, perDigit, DALLE_EVAL_SEED)), 10 * perDigit, hidden);
  const started = performance.now();
  const metrics = await evaluateUnclip(
    { clip: parts.clip.handle.model as Clip, clipTokenizer, prior: parts.prior.handle.model as Prior, decoder: parts.decoder.handle.model as Decoder, referee },
    { perDigit, seed: DALLE_EVAL_SEED, reference, floor, test, onProgress: (message) => console.log(`evaluate unclip: ${message} in ${((performance.now() - started) / 1000).toFixed(1)} s.`) },
  );
  for (const part of Object.values(parts)) part.handle.model.dispose();

  const rounded = Object.fromEntries(Object.entries(metrics).map(([key, value]) => [key, Number(value.toPrecision(6))]));
  const card = {
    model: 'unclip',
    title: 'unCLIP pipeline',
    description: 'A caption’s tiny-CLIP text embedding goes through the diffusion prior to a CLIP image embedding, which the diffusion decoder turns into a 28×28 digit.',
    components: Object.fromEntries(
      Object.entries(parts).map(([part, { card: partCard }]) => [part, { title: partCard.title, steps: partCard.training.steps, seed: partCard.training.seed, finishedAt: partCard.training.finishedAt }]),
    ),
    metrics: rounded,
    evaluation: {
      command: evaluateCommand('unclip'),
      split: `samples (${perDigit} per digit)`,
      examples: 10 * perDigit,
      backend,
      prompt: 'a handwritten <digit word>',
      sampling: UNCLIP_EVAL_SAMPLING,
      samplingChoice: UNCLIP_SAMPLING_CHOICE,
      seed: DALLE_EVAL_SEED,
      fid: `Fréchet distance of the referee's ${hidden}-d features against all ${test.count} test digits; fidFloor uses ${10 * perDigit} real training digits, ${perDigit} per digit, the same set as the DALL·E-mini card.`,
      variations: `the first ${Math.max(1, Math.floor(perDigit / UNCLIP_EVAL_SAMPLING.variationsPerSource))} test digits of each class, ${UNCLIP_EVAL_SAMPLING.variationsPerSource} decoder samples each from the digit's own CLIP image embedding`,
      finishedAt: new Date().toISOString(),
    },
  };
  await mkdir(modelDir('unclip'), { recursive: true });
  await writeFile(join(modelDir('unclip'), 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  console.log(`evaluate unclip: ${Object.entries(rounded).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
}

/** Command line that repeats this evaluation of `name`, with the options that change its numbers. */
function evaluateCommand(name: ModelName | 'unclip'): string {
  let command = `npm run evaluate -- ${name}`;
  if (name === 'dalle' && candidates !== DALLE_EVAL_SAMPLING.candidates) command += ` --candidates ${candidates}`;
  if ((name === 'dalle' || name === 'unclip' || isCaptionGenerator(name)) && perDigit !== DEFAULT_PER_DIGIT) command += ` --per-digit ${perDigit}`;
  return command;
}

async function writeMetrics(
  name: ModelName,
  card: ModelCard,
  metrics: Record<string, number>,
  backend: string,
  examples: number,
  split = 'test',
  settings: Record<string, unknown> = {},
) {
  const rounded = Object.fromEntries(Object.entries(metrics).map(([key, value]) => [key, Number(value.toPrecision(6))]));
  const updated: ModelCard = {
    ...card,
    metrics: rounded,
    evaluation: { command: evaluateCommand(name), split, examples, backend, ...settings, finishedAt: new Date().toISOString() },
  };
  await writeFile(join(modelDir(name), 'card.json'), `${JSON.stringify(updated, null, 2)}\n`);
  console.log(`evaluate ${name}: ${Object.entries(rounded).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
}

async function main() {
  const backend = await useBackend(values.backend as NodeBackend);
  const test = await loadSplit(nodeSource(), 'test');
  console.log(`evaluate: ${test.count} test digits, backend ${backend}, models ${requested.join(', ')} in ${modelsRoot}.`);

  if (!existsSync(join(modelDir('classifier'), 'model.json'))) {
    console.error(`evaluate: ${modelDir('classifier')} is missing; every metric needs the referee. Run \`npm run train -- classifier\` first.`);
    process.exit(1);
  }
  const { handle: refereeHandle, card: refereeCard } = await loadShipped('classifier');
  const referee = refereeHandle.model as Classifier;

  let placedTest: PlacedSplit | undefined;
  const placed = () => (placedTest ??= placeSplit(test, PLACEMENT_TEST_SEED));
  for (const name of requested as (ModelName | 'unclip')[]) {
    const started = performance.now();
    if (name === 'unclip') {
      await evaluateUnclipPipeline(referee, test, backend);
    } else if (name === 'classifier') {
      await writeMetrics(name, refereeCard, await evaluateClassifier(referee, test), backend, test.count);
    } else {
      if (!existsSync(join(modelDir(name), 'model.json'))) {
        console.error(`evaluate ${name}: no checkpoint in ${modelDir(name)}; run \`npm run train -- ${name}\` first.`);
        process.exitCode = 1;
        continue;
      }
      const { handle, card } = await loadShipped(name);
      if (handle.model instanceof Captioner) {
        await writeMetrics(name, card, evaluateCaptioner(handle.model, placed()), backend, test.count, 'test, placed', { placementSeed: PLACEMENT_TEST_SEED });
      } else if (isCaptionGenerator(name)) {
        const tokenizer = BpeTokenizer.fromJSON(await readFile(join(modelDir(name), 'tokenizer.json'), 'utf8'));
        const { handle: dvaeHandle } = await loadShipped('dvae');
        const dvae = dvaeHandle.model as Dvae;
        const indices = promptDigits(placed(), perDigit);
        const metrics = await evaluateCaptionGenerator({ model: handle.model as DalleMini, tokenizer, dvae, referee }, placed(), indices, DALLE_EVAL_SEED);
        Object.assign(metrics, dvaeCeilings(dvae, referee, placed(), indices));
        dvaeHandle.model.dispose();
        const { temperature, topK, topP } = DALLE_EVAL_SAMPLING;
        await writeMetrics(name, card, metrics, backend, indices.length, `test, placed (${perDigit} per digit)`, {
          placementSeed: PLACEMENT_TEST_SEED,
          sampling: { temperature, topK, topP },
          seed: DALLE_EVAL_SEED,
          prompts: 'the descriptive caption measured from each test digit, and its short caption',
        });
      } else if (handle.model instanceof DalleMini) {
        const { metrics, record } = await evaluateDalleModel(handle.model, referee, test);
        await writeMetrics(name, card, metrics, backend, 10 * perDigit, `samples (${perDigit} per digit)`, record);
      } else if (handle.model instanceof Clip) {
        const tokenizer = BpeTokenizer.fromJSON(await readFile(join(modelDir(name), 'tokenizer.json'), 'utf8'));
        await writeMetrics(name, card, await evaluateClip(handle.model, tokenizer, test, card.training.seed), backend, test.count);
      } else {
        await writeMetrics(name, card, await evaluateDvae(handle.model as Dvae, referee, test), backend, test.count);
      }
      handle.model.dispose();
    }
    console.log(`evaluate ${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  }
}

await main();
