/**
 * The shipped models by name: their constructors, parameter shapes and default
 * training settings, shared by `npm run train`, `npm run evaluate`, the worker and tests.
 */
import { Classifier, classifierShapes, DEFAULT_CLASSIFIER_CONFIG, type ClassifierConfig } from './classifier';
import { Dvae, dvaeShapes, DEFAULT_DVAE_CONFIG, DEFAULT_DVAE_SCHEDULE, type DvaeConfig, type DvaeSchedule } from './dvae';
import { Clip, clipShapes, DEFAULT_CLIP_CONFIG, type ClipConfig } from './clip';
import type { BpeTokenizer } from './text/bpe';
import { DalleMini, DEFAULT_TRANSFORMER_CONFIG, transformerShapes, type TransformerConfig } from './transformer';
import { Decoder, decoderShapes, DEFAULT_DECODER_CONFIG, type DecoderConfig } from './decoder';
import { DEFAULT_PRIOR_CONFIG, Prior, priorShapes, type PriorConfig } from './prior';
import { Captioner, captionerShapes, DEFAULT_CAPTIONER_CONFIG, type CaptionerConfig } from './captioner';
import { ABLATION_TEXT_LENGTH, ABLATION_VOCAB_SIZE, CAPTION_REGIMES, isCaptionGenerator, regimeCaption, type CaptionGeneratorName } from './caption-ablation';
import type { Batch } from './data/batches';
import { captionFor } from './data/captions';
import { deriveSeed } from './data/rng';
import { encodeCaptions } from './clip';
import * as tf from './tf';
import type { ParamShapes } from './nn';
import type { LossFunction, TrainerOptions } from './trainer';

export type ModelName = 'classifier' | 'dvae' | 'clip' | 'dalle' | 'decoder' | 'prior' | 'captioner' | CaptionGeneratorName;

export interface TrainingRecipe {
  steps: number;
  batchSize: number;
  /** Random shift of training images in pixels (augmentation); 0 for none. */
  maxShift: number;
  trainer: TrainerOptions;
  /** Model-specific schedules (the dVAE's temperature and KL weight). */
  schedule?: DvaeSchedule;
}

/** The three caption-ablation generators share DALL·E-mini's recipe, with fewer steps. */
const CAPTION_GENERATOR_RECIPE: TrainingRecipe = {
  steps: 4000,
  batchSize: 32,
  maxShift: 0,
  trainer: { learningRate: { initial: 1e-3, final: 5e-5, warmupSteps: 100, totalSteps: 4000 } },
};

export const RECIPES: Record<ModelName, TrainingRecipe> = {
  classifier: {
    steps: 3000,
    batchSize: 64,
    maxShift: 2,
    trainer: { learningRate: { initial: 2e-3, final: 5e-5, warmupSteps: 100, totalSteps: 3000 } },
  },
  dvae: {
    steps: 4000,
    batchSize: 64,
    maxShift: 0,
    trainer: { learningRate: { initial: 2e-3, final: 1e-4, warmupSteps: 100, totalSteps: 4000 } },
    schedule: { ...DEFAULT_DVAE_SCHEDULE, temperatureSteps: 3000, klWarmupSteps: 500 },
  },
  dalle: {
    steps: 5000,
    batchSize: 32,
    maxShift: 0,
    trainer: { learningRate: { initial: 1e-3, final: 5e-5, warmupSteps: 100, totalSteps: 5000 } },
  },
  clip: {
    steps: 2000,
    batchSize: 64,
    maxShift: 0,
    trainer: { learningRate: { initial: 2e-3, final: 1e-4, warmupSteps: 50, totalSteps: 2000 } },
  },
  decoder: {
    steps: 8000,
    batchSize: 32,
    maxShift: 0,
    trainer: { learningRate: { initial: 1e-3, final: 5e-5, warmupSteps: 200, totalSteps: 8000 } },
  },
  prior: {
    steps: 4000,
    batchSize: 128,
    maxShift: 0,
    trainer: { learningRate: { initial: 1e-3, final: 5e-5, warmupSteps: 100, totalSteps: 4000 } },
  },
  captioner: {
    steps: 3000,
    batchSize: 64,
    maxShift: 0,
    trainer: { learningRate: { initial: 2e-3, final: 5e-5, warmupSteps: 100, totalSteps: 3000 } },
  },
  'captions-short': CAPTION_GENERATOR_RECIPE,
  'captions-descriptive': CAPTION_GENERATOR_RECIPE,
  'captions-blend': CAPTION_GENERATOR_RECIPE,
};

/** DALL·E-mini as shipped: narrower than the module default so it trains in Node in minutes. */
export const DALLE_SHIPPED_CONFIG: Omit<TransformerConfig, 'textVocabSize'> = { ...DEFAULT_TRANSFORMER_CONFIG, layers: 4, width: 96, heads: 4 };

/** The caption-ablation generators: DALL·E-mini as shipped, with room for descriptive captions. */
export const CAPTION_GENERATOR_CONFIG: Omit<TransformerConfig, 'textVocabSize'> = { ...DALLE_SHIPPED_CONFIG, textLength: ABLATION_TEXT_LENGTH };

/** BPE vocabulary size for the caption tokenizer that ships with the CLIP checkpoint. */
export const CLIP_TOKENIZER_VOCAB_SIZE = 256;

export const TITLES: Record<ModelName, { title: string; description: string }> = {
  classifier: {
    title: 'Referee classifier',
    description: 'A small CNN that classifies MNIST digits. It only evaluates generators (conditional accuracy, FID on its 128-d penultimate features) and never trains with them.',
  },
  dvae: {
    title: 'Discrete VAE (image tokenizer)',
    description: 'Encodes a 28×28 digit as a 7×7 grid of tokens over a learned codebook and decodes a token grid back to pixels, as DALL·E’s dVAE does at 256×256 → 32×32.',
  },
  dalle: {
    title: 'DALL·E-mini',
    description: 'A decoder-only transformer over caption tokens followed by the 49 dVAE image tokens, trained with next-token prediction (text weighted 1/8, image 7/8) and sampled one image token at a time.',
  },
  decoder: {
    title: 'unCLIP decoder',
    description: 'A small U-Net that turns noise into a 28×28 digit by denoising, conditioned on the timestep and a tiny-CLIP image embedding (a scale and shift in every residual block, and a 7×7 map at the bottleneck), with the embedding dropped for 10 % of training examples so classifier-free guidance works.',
  },
  prior: {
    title: 'unCLIP diffusion prior',
    description: 'A residual MLP that denoises a tiny-CLIP image embedding conditioned on a caption’s CLIP text embedding and predicts the clean embedding directly, as unCLIP’s prior does.',
  },
  captioner: {
    title: 'Captioner',
    description: 'A small CNN that writes a descriptive caption for a digit (digit, stroke thickness, slant, size and position), trained on captions measured from the pixels of placed MNIST digits; its captions train the descriptive and blended generators.',
  },
  'captions-short': {
    title: 'DALL·E-mini, short captions',
    description: 'DALL·E-mini trained on placed MNIST digits with short, digit-only captions, the baseline of the caption ablation.',
  },
  'captions-descriptive': {
    title: 'DALL·E-mini, descriptive captions',
    description: 'DALL·E-mini trained on placed MNIST digits with the captioner’s descriptive synthetic captions only.',
  },
  'captions-blend': {
    title: 'DALL·E-mini, blended captions',
    description: 'DALL·E-mini trained on placed MNIST digits with 95 % descriptive synthetic captions and 5 % short ones, the blend DALL·E 3 uses.',
  },
  clip: {
    title: 'Tiny CLIP',
    description: 'A small image encoder and a small caption transformer trained with CLIP’s symmetric contrastive loss on MNIST digits and synthetic captions, so both map into one normalised embedding space.',
  },
};

/** A model instance with what the generic training and checkpoint code needs. */
export interface ModelHandle {
  name: ModelName;
  config: ClassifierConfig | DvaeConfig | ClipConfig | TransformerConfig | DecoderConfig | PriorConfig | CaptionerConfig;
  shapes: ParamShapes;
  model: Classifier | Dvae | Clip | DalleMini | Decoder | Prior | Captioner;
  lossFunction(seed: number, context?: LossContext): LossFunction;
}

/** Inputs some losses need beyond the model: the dVAE's schedules, the caption tokenizer, the trained dVAE. */
export interface LossContext {
  schedule?: DvaeSchedule;
  tokenizer?: BpeTokenizer;
  dvae?: Dvae;
  /** The trained CLIP whose embeddings condition unCLIP's decoder and prior; it is not trained. */
  clip?: Clip;
  /** Measured attribute indices [count, 4] of the placed training split, for the captioner. */
  attributes?: Uint8Array;
  /** The captioner's caption of every placed training digit, for the caption-ablation generators. */
  descriptiveCaptions?: readonly string[];
}

/**
 * CLIP embeddings of a batch's images and of one synthetic caption each, for the prior.
 * Image `i` of the split gets `captionFor(label, deriveSeed(seed, i), step)`, the captions
 * CLIP itself was trained on.
 */
export function clipPairEmbedder(clip: Clip, tokenizer: BpeTokenizer, seed: number): (batch: Batch, step: number) => { images: tf.Tensor2D; texts: tf.Tensor2D } {
  const maxLength = clip.config.maxLength;
  return (batch, step) => {
    const captions = Array.from(batch.labels, (label, i) => captionFor(label, deriveSeed(seed, batch.indices[i]), step));
    const { ids } = encodeCaptions(tokenizer, captions, maxLength);
    return {
      images: clip.encodeImages(tf.tensor4d(batch.images, [batch.size, 28, 28, 1])),
      texts: clip.encodeTexts(tf.tensor2d(ids, [batch.size, maxLength], 'int32')),
    };
  };
}

export function createModel(name: ModelName, seed: number, config?: ModelHandle['config']): ModelHandle {
  if (name === 'classifier') {
    const classifierConfig = (config as ClassifierConfig | undefined) ?? DEFAULT_CLASSIFIER_CONFIG;
    const model = new Classifier(classifierConfig, seed);
    return { name, config: classifierConfig, shapes: classifierShapes(classifierConfig), model, lossFunction: (lossSeed) => model.lossFunction(lossSeed) };
  }
  if (name === 'dvae') {
    const dvaeConfig = (config as DvaeConfig | undefined) ?? DEFAULT_DVAE_CONFIG;
    const model = new Dvae(dvaeConfig, seed);
    return {
      name,
      config: dvaeConfig,
      shapes: dvaeShapes(dvaeConfig),
      model,
      lossFunction: (lossSeed, context) => model.lossFunction(context?.schedule ?? RECIPES.dvae.schedule!, lossSeed),
    };
  }
  if (name === 'clip') {
    const clipConfig = (config as ClipConfig | undefined) ?? DEFAULT_CLIP_CONFIG;
    const model = new Clip(clipConfig, seed);
    return {
      name,
      config: clipConfig,
      shapes: clipShapes(clipConfig),
      model,
      lossFunction: (lossSeed, context) => {
        if (!context?.tokenizer) throw new Error('CLIP training needs the caption tokenizer: pass it to lossFunction.');
        return model.lossFunction(context.tokenizer, lossSeed);
      },
    };
  }
  if (name === 'dalle') {
    const dalleConfig = (config as TransformerConfig | undefined) ?? { ...DALLE_SHIPPED_CONFIG, textVocabSize: DEFAULT_TRANSFORMER_CONFIG.textVocabSize };
    const model = new DalleMini(dalleConfig, seed);
    return {
      name,
      config: dalleConfig,
      shapes: transformerShapes(dalleConfig),
      model,
      lossFunction: (lossSeed, context) => {
        if (!context?.tokenizer || !context.dvae) throw new Error('DALL·E-mini training needs the caption tokenizer and the trained dVAE.');
        return model.lossFunction({ dvae: context.dvae, tokenizer: context.tokenizer, captionSeed: lossSeed });
      },
    };
  }
  if (name === 'decoder') {
    const decoderConfig = (config as DecoderConfig | undefined) ?? DEFAULT_DECODER_CONFIG;
    const model = new Decoder(decoderConfig, seed);
    return {
      name,
      config: decoderConfig,
      shapes: decoderShapes(decoderConfig),
      model,
      lossFunction: (lossSeed, context) => {
        if (!context?.clip) throw new Error('Decoder training needs the trained CLIP for its image embeddings.');
        const clip = context.clip;
        return model.lossFunction((images) => clip.encodeImages(images), lossSeed);
      },
    };
  }
  if (name === 'prior') {
    const priorConfig = (config as PriorConfig | undefined) ?? DEFAULT_PRIOR_CONFIG;
    const model = new Prior(priorConfig, seed);
    return {
      name,
      config: priorConfig,
      shapes: priorShapes(priorConfig),
      model,
      lossFunction: (lossSeed, context) => {
        if (!context?.clip || !context.tokenizer) throw new Error('Prior training needs the trained CLIP and its caption tokenizer.');
        return model.lossFunction(clipPairEmbedder(context.clip, context.tokenizer, lossSeed), lossSeed);
      },
    };
  }
  if (name === 'captioner') {
    const captionerConfig = (config as CaptionerConfig | undefined) ?? DEFAULT_CAPTIONER_CONFIG;
    const model = new Captioner(captionerConfig, seed);
    return {
      name,
      config: captionerConfig,
      shapes: captionerShapes(captionerConfig),
      model,
      lossFunction: (_lossSeed, context) => {
        if (!context?.attributes) throw new Error('Captioner training needs the measured attributes of the placed training digits.');
        return model.lossFunction(context.attributes);
      },
    };
  }
  if (isCaptionGenerator(name)) {
    const generatorConfig = (config as TransformerConfig | undefined) ?? { ...CAPTION_GENERATOR_CONFIG, textVocabSize: ABLATION_VOCAB_SIZE };
    const model = new DalleMini(generatorConfig, seed);
    const regime = CAPTION_REGIMES[name];
    return {
      name,
      config: generatorConfig,
      shapes: transformerShapes(generatorConfig),
      model,
      lossFunction: (lossSeed, context) => {
        if (!context?.tokenizer || !context.dvae) throw new Error('Caption-ablation training needs the shared tokenizer and the trained dVAE.');
        const descriptive = context.descriptiveCaptions;
        if (regime !== 'short' && !descriptive) throw new Error(`The ${regime} generator needs the captioner's captions of the training digits.`);
        return model.lossFunction({
          dvae: context.dvae,
          tokenizer: context.tokenizer,
          captionSeed: lossSeed,
          captionOf: (index, label, step) => regimeCaption(regime, index, label, step, descriptive ?? [], lossSeed),
        });
      },
    };
  }
  throw new Error(`Unknown model "${String(name)}": expected one of ${Object.keys(RECIPES).join(', ')}.`);
}

export function isModelName(name: string): name is ModelName {
  return name in RECIPES;
}
