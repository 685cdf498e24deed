/** URL state and embed entries of the trainers (dVAE, CLIP, DALL·E-mini, unCLIP) and the CLIP embedding map. */
import { training as clipTraining } from '../../../../public/models/clip/card.json';
import { training as dalleTraining } from '../../../../public/models/dalle/card.json';
import { training as decoderTraining } from '../../../../public/models/decoder/card.json';
import { training as dvaeTraining } from '../../../../public/models/dvae/card.json';
import { training as priorTraining } from '../../../../public/models/prior/card.json';
import type { IntegerParam } from '../url-state';
import { SEED, type EmbedWidget, type WidgetUrlState } from './params';

/**
 * Length and batch size of an in-browser run. A run in the browser is at most as long, and
 * its batches at most as large, as the run that produced the model's shipped weights
 * (`training.steps` and `training.batchSize` of its card), which the chapters compare it with.
 */
function runBounds(shipped: { steps: number; batchSize: number }): { steps: IntegerParam; batchSize: IntegerParam } {
  return {
    steps: { kind: 'integer', min: 1, max: shipped.steps },
    batchSize: { kind: 'integer', min: 1, max: shipped.batchSize },
  };
}

const DVAE_RUN = runBounds(dvaeTraining);
const CLIP_RUN = runBounds(clipTraining);
const DALLE_RUN = runBounds(dalleTraining);
const PRIOR_RUN = runBounds(priorTraining);
const DECODER_RUN = runBounds(decoderTraining);

/** DvaeTrainer: the run's steps, batch size and seed. */
export const DVAE_TRAINER_STATE = {
  prefix: 'dvaetrain',
  schema: {
    steps: DVAE_RUN.steps,
    batchSize: DVAE_RUN.batchSize,
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/** ClipTrainer: the run's steps, batch size and seed, and the values the similarity matrix shows. */
export const CLIP_TRAINER_STATE = {
  prefix: 'cliptrain',
  schema: {
    steps: CLIP_RUN.steps,
    batchSize: CLIP_RUN.batchSize,
    seed: SEED,
    matrix: { kind: 'enum', values: ['cosine', 'probability'] },
  },
} as const satisfies WidgetUrlState;

/** DalleTrainer: the run's steps, batch size and seed. */
export const DALLE_TRAINER_STATE = {
  prefix: 'dalletrain',
  schema: {
    steps: DALLE_RUN.steps,
    batchSize: DALLE_RUN.batchSize,
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/**
 * UnclipTrainer: the model to train, the run of each model (a decoder step costs far more
 * than a prior step, so each keeps its own), and the seed both share.
 */
export const UNCLIP_TRAINER_STATE = {
  prefix: 'uncliptrain',
  schema: {
    model: { kind: 'enum', values: ['prior', 'decoder'] },
    priorSteps: PRIOR_RUN.steps,
    priorBatchSize: PRIOR_RUN.batchSize,
    decoderSteps: DECODER_RUN.steps,
    decoderBatchSize: DECODER_RUN.batchSize,
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/** Whether one kind of point is drawn on the CLIP embedding map. */
const SHOWN = { kind: 'enum', values: ['shown', 'hidden'] } as const;

/** ClipEmbeddingMap: the kinds of points drawn, and the seed of the captions. */
export const CLIP_EMBEDDING_MAP_STATE = {
  prefix: 'clipmap',
  schema: {
    images: SHOWN,
    captions: SHOWN,
    prompts: SHOWN,
    captionSeed: SEED,
  },
} as const satisfies WidgetUrlState;

/** Embeddable widgets of this group by the name in their embed URL; `../embed-registry.ts` merges every group. */
export const TRAINER_EMBEDS = {
  'dvae-trainer': {
    title: 'dVAE trainer',
    description: 'Train a fresh dVAE in the browser and watch its loss, its codebook usage and its reconstructions.',
    chapterPath: 'chapters/images-as-tokens/',
    chapterTitle: 'Images as tokens',
    state: DVAE_TRAINER_STATE,
    load: () => import('../DvaeTrainer.svelte'),
  },
  'clip-trainer': {
    title: 'CLIP trainer',
    description: 'Train a fresh tiny CLIP in the browser and watch the similarity of test digits and captions sharpen.',
    chapterPath: 'chapters/clip/',
    chapterTitle: 'CLIP',
    state: CLIP_TRAINER_STATE,
    load: () => import('../ClipTrainer.svelte'),
  },
  'clip-embedding-map': {
    title: 'CLIP embedding map',
    description: 'See test digits, their captions and ten prompts in CLIP’s joint space, projected onto two principal components.',
    chapterPath: 'chapters/clip/',
    chapterTitle: 'CLIP',
    state: CLIP_EMBEDDING_MAP_STATE,
    load: () => import('../ClipEmbeddingMap.svelte'),
  },
  'dalle-trainer': {
    title: 'DALL·E trainer',
    description: 'Train a fresh DALL·E-mini in the browser and watch its cross-entropies and its samples for ten digit prompts.',
    chapterPath: 'chapters/dalle/',
    chapterTitle: 'DALL·E',
    state: DALLE_TRAINER_STATE,
    load: () => import('../DalleTrainer.svelte'),
  },
  'unclip-trainer': {
    title: 'unCLIP trainer',
    description: 'Train unCLIP’s prior or its decoder from fresh weights in the browser, with the shipped CLIP providing the embeddings.',
    chapterPath: 'chapters/unclip/',
    chapterTitle: 'unCLIP (DALL·E 2)',
    state: UNCLIP_TRAINER_STATE,
    load: () => import('../UnclipTrainer.svelte'),
  },
} as const satisfies Record<string, EmbedWidget>;
