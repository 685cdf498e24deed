/** URL state and embed entries of the diffusion and unCLIP chapters, besides the diffusion sampler. */
import { config as decoderConfig } from '../../../../public/models/decoder/card.json';
import { config as priorConfig } from '../../../../public/models/prior/card.json';
import { MAX_DIFFUSION_SAMPLES, MAX_GUIDANCE_SCALE, MAX_PRIOR_CANDIDATES, MAX_PROMPT_CHARACTERS, type DiffusionSettings } from '../../../models/runtime/protocol';
import { SEED, TEST_DIGIT, type EmbedWidget, type WidgetUrlState } from './params';

/**
 * The decoder's sampling settings, as DiffusionSettings.svelte edits them. The maximum of
 * `steps` is the shipped decoder's number of diffusion steps T.
 */
const DECODER_SETTINGS = {
  method: { kind: 'enum', values: ['ddpm', 'ddim'] },
  steps: { kind: 'integer', min: 1, max: decoderConfig.diffusionSteps },
  eta: { kind: 'number', min: 0, max: 1 },
  guidanceScale: { kind: 'number', min: 0, max: MAX_GUIDANCE_SCALE },
  seed: SEED,
} as const;

/** Names of the decoder settings, for the `locked` list of DiffusionSettings.svelte. */
export const DECODER_SETTING_NAMES = ['method', 'steps', 'eta', 'guidanceScale', 'seed'] as const satisfies readonly (keyof DiffusionSettings)[];

/**
 * Returns the decoder settings among a widget's checked values, leaving out the names that
 * are absent, so that spreading the result keeps every other setting as it was.
 */
export function pickDecoderSettings(values: Partial<Record<string, unknown>>): Partial<DiffusionSettings> {
  const picked: Partial<Record<keyof DiffusionSettings, unknown>> = {};
  for (const name of DECODER_SETTING_NAMES) {
    if (values[name] !== undefined) picked[name] = values[name];
  }
  return picked as Partial<DiffusionSettings>;
}

/**
 * Timesteps of DiffusionSchedule's charts unless a page passes its own `steps`: T = 1000, as in
 * Ho et al. 2020 (DDPM), whose linear schedule the widget draws.
 */
export const SCHEDULE_STEPS = 1000;

/** Frames of UnclipInterpolation's strip, both ends included: at least one frame between the ends. */
export const INTERPOLATION_FRAMES = { kind: 'integer', min: 3, max: 11 } as const;

/** Frames of UnclipTextDiff's strip: θ = 0 and the largest θ at least. */
export const TEXT_DIFF_FRAMES = { kind: 'integer', min: 2, max: 11 } as const;

/**
 * Largest rotation θ of UnclipTextDiff, as a fraction of the arc from the image embedding to
 * the text diff. The minimum is one step of the widget's field.
 */
export const TEXT_DIFF_THETA = { kind: 'number', min: 0.05, max: 1 } as const;

/** Candidates the prior draws per image in UnclipPipeline, up to the model worker's maximum. */
export const PRIOR_CANDIDATES = { kind: 'integer', min: 1, max: MAX_PRIOR_CANDIDATES } as const;

/** DiffusionForward: the picked test digit, the timestep of the noised row and the noise seed. */
export const DIFFUSION_FORWARD_STATE = {
  prefix: 'forward',
  schema: {
    testDigit: TEST_DIGIT,
    timestep: { kind: 'integer', min: 0, max: decoderConfig.diffusionSteps - 1 },
    seed: SEED,
  },
} as const satisfies WidgetUrlState;

/** DiffusionSchedule: the marked timestep. A page with a smaller `steps` clamps it with a note. */
export const DIFFUSION_SCHEDULE_STATE = {
  prefix: 'schedule',
  schema: {
    timestep: { kind: 'integer', min: 0, max: SCHEDULE_STEPS - 1 },
  },
} as const satisfies WidgetUrlState;

/** UnclipPipeline: the prompt, the images per run, the prior's settings and the decoder's. */
export const UNCLIP_PIPELINE_STATE = {
  prefix: 'pipeline',
  schema: {
    prompt: { kind: 'string', maxLength: MAX_PROMPT_CHARACTERS },
    count: { kind: 'integer', min: 1, max: MAX_DIFFUSION_SAMPLES },
    priorSteps: { kind: 'integer', min: 1, max: priorConfig.diffusionSteps },
    priorGuidanceScale: { kind: 'number', min: 0, max: MAX_GUIDANCE_SCALE },
    priorCandidates: PRIOR_CANDIDATES,
    ...DECODER_SETTINGS,
  },
} as const satisfies WidgetUrlState;

/** UnclipVariations: the picked test digit and the decoder's settings. */
export const UNCLIP_VARIATIONS_STATE = {
  prefix: 'variations',
  schema: {
    testDigit: TEST_DIGIT,
    ...DECODER_SETTINGS,
  },
} as const satisfies WidgetUrlState;

/** UnclipInterpolation: the two picked test digits, the number of frames and the decoder's settings. */
export const UNCLIP_INTERPOLATION_STATE = {
  prefix: 'interp',
  schema: {
    startTestDigit: TEST_DIGIT,
    endTestDigit: TEST_DIGIT,
    frames: INTERPOLATION_FRAMES,
    ...DECODER_SETTINGS,
  },
} as const satisfies WidgetUrlState;

/** UnclipTextDiff: the picked test digit, both prompts, the largest θ, the frames and the decoder's settings. */
export const UNCLIP_TEXT_DIFF_STATE = {
  prefix: 'textdiff',
  schema: {
    testDigit: TEST_DIGIT,
    fromPrompt: { kind: 'string', maxLength: MAX_PROMPT_CHARACTERS },
    toPrompt: { kind: 'string', maxLength: MAX_PROMPT_CHARACTERS },
    maxTheta: TEXT_DIFF_THETA,
    frames: TEXT_DIFF_FRAMES,
    ...DECODER_SETTINGS,
  },
} as const satisfies WidgetUrlState;

/** Embeddable widgets of this group by the name in their embed URL; `../embed-registry.ts` merges every group. */
export const DIFFUSION_EMBEDS = {
  'diffusion-forward': {
    title: 'Forward diffusion',
    description: 'Noise test digits to any timestep of the decoder’s schedule and follow one digit from clean to pure noise.',
    chapterPath: 'chapters/diffusion/',
    chapterTitle: 'Diffusion',
    state: DIFFUSION_FORWARD_STATE,
    load: () => import('../DiffusionForward.svelte'),
  },
  'diffusion-schedule': {
    title: 'Noise schedules',
    description: 'Compare how much signal the linear and the cosine noise schedules keep at each timestep.',
    chapterPath: 'chapters/diffusion/',
    chapterTitle: 'Diffusion',
    state: DIFFUSION_SCHEDULE_STATE,
    load: () => import('../DiffusionSchedule.svelte'),
  },
  'unclip-pipeline': {
    title: 'unCLIP pipeline',
    description: 'Follow a prompt through CLIP’s text encoder, the prior and the decoder to an image.',
    chapterPath: 'chapters/unclip/',
    chapterTitle: 'unCLIP (DALL·E 2)',
    state: UNCLIP_PIPELINE_STATE,
    load: () => import('../UnclipPipeline.svelte'),
  },
  'unclip-variations': {
    title: 'unCLIP variations',
    description: 'Decode one digit’s CLIP image embedding from different starting noises.',
    chapterPath: 'chapters/unclip/',
    chapterTitle: 'unCLIP (DALL·E 2)',
    state: UNCLIP_VARIATIONS_STATE,
    load: () => import('../UnclipVariations.svelte'),
  },
  'unclip-interpolation': {
    title: 'unCLIP interpolation',
    description: 'Decode the great circle between two digits’ CLIP image embeddings, frame by frame.',
    chapterPath: 'chapters/unclip/',
    chapterTitle: 'unCLIP (DALL·E 2)',
    state: UNCLIP_INTERPOLATION_STATE,
    load: () => import('../UnclipInterpolation.svelte'),
  },
  'unclip-text-diff': {
    title: 'unCLIP text diff',
    description: 'Rotate a digit’s CLIP image embedding toward the difference of two captions and decode each step.',
    chapterPath: 'chapters/unclip/',
    chapterTitle: 'unCLIP (DALL·E 2)',
    state: UNCLIP_TEXT_DIFF_STATE,
    load: () => import('../UnclipTextDiff.svelte'),
  },
} as const satisfies Record<string, EmbedWidget>;
