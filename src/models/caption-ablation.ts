/**
 * The caption ablation of the "Better captions" chapter: one DALL·E-mini recipe trained
 * three ways, after DALL·E 3's comparison of caption types (Betker et al. 2023, Section 3,
 * where the baseline is human alt-text): on short captions only, on descriptive synthetic
 * captions only, and on a blend of 95 % descriptive and 5 % short captions, the share
 * DALL·E 3 itself trains with (Section 4) so that short prompts keep working.
 *
 * All three see the same placed digits (`placeSplit`) in the same order, and share one
 * BPE vocabulary learned from both kinds of captions, so the captions are the only
 * difference between them.
 */
import { captionFor, captionTemplates } from './data/captions';
import { deriveSeed, Rng } from './data/rng';

export const CAPTION_GENERATORS = ['captions-short', 'captions-descriptive', 'captions-blend'] as const;
export type CaptionGeneratorName = (typeof CAPTION_GENERATORS)[number];
export type CaptionRegime = 'short' | 'descriptive' | 'blend';

export const CAPTION_REGIMES: Record<CaptionGeneratorName, CaptionRegime> = {
  'captions-short': 'short',
  'captions-descriptive': 'descriptive',
  'captions-blend': 'blend',
};

/** Share of short captions in the blend: DALL·E 3 trains on 95 % synthetic captions (Betker et al. 2023, Section 4). */
export const BLEND_SHORT_SHARE = 0.05;

/** Vocabulary size of the BPE tokenizer shared by the three generators. */
export const ABLATION_VOCAB_SIZE = 256;

/** Caption tokens, with <bos> and <eos>; the longest descriptive caption needs 18 with the shared vocabulary. */
export const ABLATION_TEXT_LENGTH = 20;

export function isCaptionGenerator(name: string): name is CaptionGeneratorName {
  return (CAPTION_GENERATORS as readonly string[]).includes(name);
}

/** Returns the short caption of image `index` at a step: one of the digit-only templates, redrawn every step. */
export function shortTrainingCaption(index: number, label: number, step: number, seed: number): string {
  const k = deriveSeed(deriveSeed(seed, step), index) % captionTemplates.length;
  return captionFor(label, deriveSeed(seed, index), k);
}

/**
 * The caption a generator trained under `regime` reads for image `index` at `step`.
 * `descriptive[index]` is the captioner's caption of that image.
 */
export function regimeCaption(regime: CaptionRegime, index: number, label: number, step: number, descriptive: readonly string[], seed: number): string {
  if (regime === 'short') return shortTrainingCaption(index, label, step, seed);
  if (regime === 'descriptive') return descriptive[index];
  const useShort = new Rng(deriveSeed(deriveSeed(seed ^ 0x5b1e, step), index)).next() < BLEND_SHORT_SHARE;
  return useShort ? shortTrainingCaption(index, label, step, seed) : descriptive[index];
}

/** Corpus for the shared tokenizer: every descriptive caption and `shortPerImage` short ones per image. */
export function ablationCorpus(labels: ArrayLike<number>, descriptive: readonly string[], seed: number, shortPerImage = 2): string[] {
  const corpus = [...descriptive];
  for (let i = 0; i < labels.length; i++) {
    for (let k = 0; k < shortPerImage; k++) corpus.push(captionFor(labels[i], deriveSeed(seed, i), k));
  }
  return corpus;
}
