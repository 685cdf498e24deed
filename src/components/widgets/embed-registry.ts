/**
 * The widgets an instructor can configure by URL and embed on their own pages. Each entry
 * has the widget's URL prefix and settings, its title, its chapter and a loader for its
 * component. The settings are the parameters a link may set and the controls a page may lock.
 *
 * `src/pages/embed/[widget].astro` builds one page per entry of `EMBED_WIDGETS`, and the
 * widgets read their settings from here, so a setting added to a schema is accepted in links,
 * presets and `lock` lists at once.
 */
import { config as dalleConfig } from '../../../public/models/dalle/card.json';
import { config as decoderConfig } from '../../../public/models/decoder/card.json';
import { MAX_GUIDANCE_SCALE, MAX_PROMPT_CHARACTERS, MAX_TEMPERATURE } from '../../models/runtime/protocol';
import { CLIP_TEMPLATE_CHOICES } from './clip-templates';
import { CAPTION_EMBEDS } from './embeds/captions';
import { DIFFUSION_EMBEDS } from './embeds/diffusion';
import { SEED, TEST_DIGIT, type EmbedWidget, type WidgetUrlState } from './embeds/params';
import { TRAINER_EMBEDS } from './embeds/trainers';

export { SEED, TEST_DIGIT, TEST_SPLIT_SIZE, testStripStart, type EmbeddableProps, type EmbedWidget, type WidgetUrlState } from './embeds/params';

/**
 * DalleGenerator. Top-k's maximum is the shipped DALL·E-mini's image vocabulary size, the
 * model this widget loads; the worker clamps again against the loaded model.
 */
export const DALLE_GENERATOR_STATE = {
  prefix: 'dalle',
  schema: {
    prompt: { kind: 'string', maxLength: MAX_PROMPT_CHARACTERS },
    temperature: { kind: 'number', min: 0, max: MAX_TEMPERATURE },
    topK: { kind: 'integer', min: 0, max: dalleConfig.imageVocabSize },
    topP: { kind: 'number', min: 0.01, max: 1 },
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/** DiffusionSampler. The maximum of `steps` is the shipped decoder's number of diffusion steps T. */
export const DIFFUSION_SAMPLER_STATE = {
  prefix: 'diffusion',
  schema: {
    digit: { kind: 'integer', min: 0, max: 9 },
    method: { kind: 'enum', values: ['ddpm', 'ddim'] },
    steps: { kind: 'integer', min: 1, max: decoderConfig.diffusionSteps },
    eta: { kind: 'number', min: 0, max: 1 },
    guidanceScale: { kind: 'number', min: 0, max: MAX_GUIDANCE_SCALE },
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/**
 * ClipZeroShot with its default templates. A page that passes its own `templates` accepts
 * those ids instead; `clipZeroShotState` builds that schema.
 */
export const CLIP_ZERO_SHOT_STATE = clipZeroShotState(CLIP_TEMPLATE_CHOICES);

/** ClipZeroShot's URL state for a list of template ids (the last being the ensemble). */
export function clipZeroShotState(templateIds: readonly string[]) {
  return {
    prefix: 'clip',
    schema: {
      template: { kind: 'enum', values: templateIds },
      testDigit: TEST_DIGIT,
    },
  } as const satisfies WidgetUrlState;
}

/** DvaeTokenizer. */
export const DVAE_TOKENIZER_STATE = {
  prefix: 'dvae',
  schema: {
    testDigit: TEST_DIGIT,
  },
} as const satisfies WidgetUrlState;

/**
 * Embeddable widgets by the name in their embed URL, `/embed/<name>/`, in the order the embed
 * index lists them: the four above, then each chapter group from `./embeds/`.
 */
export const EMBED_WIDGETS = {
  'dalle-generator': {
    title: 'DALL·E-mini, one token at a time',
    description: 'Type a prompt and draw one sample, token by token, then replay it and look at the attention.',
    chapterPath: 'chapters/dalle/',
    chapterTitle: 'DALL·E',
    state: DALLE_GENERATOR_STATE,
    load: () => import('./DalleGenerator.svelte'),
  },
  'diffusion-sampler': {
    title: 'Reverse diffusion',
    description: 'Pick a digit and a sampler, then watch the unCLIP decoder denoise step by step.',
    chapterPath: 'chapters/diffusion/',
    chapterTitle: 'Diffusion',
    state: DIFFUSION_SAMPLER_STATE,
    load: () => import('./DiffusionSampler.svelte'),
  },
  'clip-zero-shot': {
    title: 'CLIP zero-shot classifier',
    description: 'Classify a test digit or a drawing by comparing it with ten prompts.',
    chapterPath: 'chapters/clip/',
    chapterTitle: 'CLIP',
    state: CLIP_ZERO_SHOT_STATE,
    load: () => import('./ClipZeroShot.svelte'),
  },
  'dvae-tokenizer': {
    title: 'dVAE tokenizer',
    description: 'Turn a digit into a 7×7 grid of tokens, edit tokens and decode the grid again.',
    chapterPath: 'chapters/images-as-tokens/',
    chapterTitle: 'Images as tokens',
    state: DVAE_TOKENIZER_STATE,
    load: () => import('./DvaeTokenizer.svelte'),
  },
  ...TRAINER_EMBEDS,
  ...DIFFUSION_EMBEDS,
  ...CAPTION_EMBEDS,
} as const satisfies Record<string, EmbedWidget>;

export type EmbedWidgetName = keyof typeof EMBED_WIDGETS;

/** Query parameters of an embed page besides the widget's own: the controls to lock, and the backend override. */
export const EMBED_PAGE_PARAMETERS = ['lock', 'backend'] as const;

/** Returns the entry of an embed name, or undefined for a name that is not registered. */
export function findEmbedWidget(name: string): EmbedWidget | undefined {
  return Object.hasOwn(EMBED_WIDGETS, name) ? EMBED_WIDGETS[name as EmbedWidgetName] : undefined;
}
