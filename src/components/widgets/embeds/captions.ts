/** URL state and embed entries of the Better captions and Evaluation chapters, and the DALL·E sample grid. */
import { config as dalleConfig } from '../../../../public/models/dalle/card.json';
import { config as dvaeConfig } from '../../../../public/models/dvae/card.json';
import { MAX_DALLE_SAMPLES, MAX_PROMPT_CHARACTERS, MAX_TEMPERATURE } from '../../../models/runtime/protocol';
import { AB_COMPARISONS } from '../ab-votes';
import type { EnumParam } from '../url-state';
import { SEED, TEST_DIGIT, type EmbedWidget, type WidgetUrlState } from './params';

/** A checkbox: the text `true` or `false` in a link, and the text or a boolean in a preset. */
const SWITCH = { kind: 'enum', values: ['false', 'true'] } as const satisfies EnumParam;

/** CaptionsCompare: the placed test digit whose captions are shown. */
export const CAPTIONS_COMPARE_STATE = {
  prefix: 'captions',
  schema: {
    testDigit: TEST_DIGIT,
  },
} as const satisfies WidgetUrlState;

/** CaptionerLive: the placed test digit the captioner reads. A drawing cannot travel in a link. */
export const CAPTIONER_LIVE_STATE = {
  prefix: 'captioner',
  schema: {
    testDigit: TEST_DIGIT,
  },
} as const satisfies WidgetUrlState;

/**
 * CaptionsAblation. Top-k's maximum is the shipped dVAE's codebook size: the three generators
 * draw their image tokens from that codebook.
 */
export const CAPTIONS_ABLATION_STATE = {
  prefix: 'ablation',
  schema: {
    prompt: { kind: 'string', maxLength: MAX_PROMPT_CHARACTERS },
    count: { kind: 'integer', min: 1, max: MAX_DALLE_SAMPLES },
    temperature: { kind: 'number', min: 0, max: MAX_TEMPERATURE },
    topK: { kind: 'integer', min: 0, max: dvaeConfig.codebookSize },
    topP: { kind: 'number', min: 0.01, max: 1 },
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/**
 * AbComparison: the comparison and the seed, which decide every pair the reader is shown.
 * The votes are not settings: they stay in the page, or in the browser's storage when the
 * reader keeps them, and a link neither carries nor changes them.
 */
export const AB_COMPARISON_STATE = {
  prefix: 'ab',
  schema: {
    comparison: { kind: 'enum', values: AB_COMPARISONS.map((comparison) => comparison.id) },
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/** EvalMetricsLab: whether unCLIP's samples are scored too, and the seed of the model samples. */
export const EVAL_METRICS_LAB_STATE = {
  prefix: 'lab',
  schema: {
    includeUnclip: SWITCH,
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/** DalleSamples. Top-k's maximum is the shipped DALL·E-mini's image vocabulary size, the model this widget loads. */
export const DALLE_SAMPLES_STATE = {
  prefix: 'samples',
  schema: {
    prompt: { kind: 'string', maxLength: MAX_PROMPT_CHARACTERS },
    count: { kind: 'integer', min: 1, max: MAX_DALLE_SAMPLES },
    temperature: { kind: 'number', min: 0, max: MAX_TEMPERATURE },
    topK: { kind: 'integer', min: 0, max: dalleConfig.imageVocabSize },
    topP: { kind: 'number', min: 0.01, max: 1 },
    seed: SEED,
    rerank: SWITCH,
  },
} as const satisfies WidgetUrlState;

/** Embeddable widgets of this group by the name in their embed URL; `../embed-registry.ts` merges every group. */
export const CAPTION_EMBEDS = {
  'dalle-samples': {
    title: 'DALL·E samples',
    description: 'Draw a grid of DALL·E-mini samples for one prompt, and rerank them with CLIP.',
    chapterPath: 'chapters/dalle/',
    chapterTitle: 'DALL·E',
    state: DALLE_SAMPLES_STATE,
    load: () => import('../DalleSamples.svelte'),
  },
  'captions-compare': {
    title: 'Short and descriptive captions',
    description: 'Pick a placed test digit and compare its short caption with the descriptive one measured from its pixels.',
    chapterPath: 'chapters/better-captions/',
    chapterTitle: 'Better captions (DALL·E 3)',
    state: CAPTIONS_COMPARE_STATE,
    load: () => import('../CaptionsCompare.svelte'),
  },
  captioner: {
    title: 'Captioner',
    description: 'Let the trained captioner describe a placed test digit or a drawing, beside what the pixels measure.',
    chapterPath: 'chapters/better-captions/',
    chapterTitle: 'Better captions (DALL·E 3)',
    state: CAPTIONER_LIVE_STATE,
    load: () => import('../CaptionerLive.svelte'),
  },
  'caption-ablation': {
    title: 'Caption ablation',
    description: 'Sample one prompt and seed from three generators trained on short, descriptive and blended captions.',
    chapterPath: 'chapters/better-captions/',
    chapterTitle: 'Better captions (DALL·E 3)',
    state: CAPTIONS_ABLATION_STATE,
    load: () => import('../CaptionsAblation.svelte'),
  },
  'metric-lab': {
    title: 'Metric lab',
    description: 'Score real digits, model samples and degenerate sets with FID, CLIPScore, precision and recall in the browser.',
    chapterPath: 'chapters/evaluation/',
    chapterTitle: 'Evaluation',
    state: EVAL_METRICS_LAB_STATE,
    load: () => import('../EvalMetricsLab.svelte'),
  },
  'ab-comparison': {
    title: 'Blind A/B comparison',
    description: 'Vote for the more realistic of two images whose sources are hidden, and see the tally with its intervals.',
    chapterPath: 'chapters/evaluation/',
    chapterTitle: 'Evaluation',
    state: AB_COMPARISON_STATE,
    load: () => import('../AbComparison.svelte'),
  },
} as const satisfies Record<string, EmbedWidget>;
