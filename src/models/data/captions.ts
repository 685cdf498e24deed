/**
 * Synthetic captions for MNIST digits, the text side of the CLIP and DALL·E chapters.
 *
 * Each image gets several captions built from templates and synonyms ("a handwritten
 * seven", "the digit 7", "a 7 written in ink"). Every choice comes from a seeded `Rng`, so
 * the same label, seed and caption index give the same caption on every machine.
 */
import { Rng, deriveSeed } from './rng';

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

export type DigitWord = (typeof DIGIT_WORDS)[number];

/**
 * Facts about one image that a caption may mention. Templates read the optional fields when
 * they are set and fall back to plain wording when they are not.
 *
 * NOTE: only `digit` is filled in today. Thickness, slant, size and position need
 * measurements of the image, which no caller computes yet.
 */
export interface CaptionAttributes {
  /** The MNIST label, 0–9. */
  digit: number;
  thickness?: 'thin' | 'thick';
  slant?: 'left' | 'right' | 'upright';
  size?: 'small' | 'large';
  /** Position of the ink's centre of mass in the 28×28 frame. */
  position?: 'left' | 'right' | 'top' | 'bottom' | 'center';
}

/** Optional attributes a caller may add to the digit. */
export type CaptionDetails = Omit<CaptionAttributes, 'digit'>;

/** Returns one of `options`, drawn from the caption's seeded stream. */
export type ChooseWord = (options: readonly string[]) => string;

/** Builds one caption from the image's attributes, drawing synonyms with `choose`. */
export type CaptionTemplate = (attributes: CaptionAttributes, choose: ChooseWord) => string;

const HANDWRITTEN = ['handwritten', 'hand-written', 'hand-drawn', 'scribbled'];
const NUMBER_NOUNS = ['digit', 'number', 'numeral'];
const IMAGE_NOUNS = ['picture', 'photo', 'image', 'drawing', 'sketch'];
const WRITING_TOOLS = ['ink', 'pen', 'pencil', 'black ink', 'marker'];
const HANDWRITING_STYLES = ['neat', 'messy', 'careful', 'quick', 'sloppy'];

const POSITION_PHRASES: Record<NonNullable<CaptionAttributes['position']>, string> = {
  left: 'on the left',
  right: 'on the right',
  top: 'at the top',
  bottom: 'at the bottom',
  center: 'in the middle',
};

function digitWord(attributes: CaptionAttributes): DigitWord {
  return DIGIT_WORDS[attributes.digit];
}

function numeral(attributes: CaptionAttributes): string {
  return String(attributes.digit);
}

/** Prefixes the indefinite article that English uses before `phrase` when spoken. */
function withArticle(phrase: string): string {
  // "one" starts with a consonant sound ("a one"), and "8" is read "eight" ("an 8").
  const vowelSound = /^(?:[aeiu]|o(?!ne\b)|8|eight)/.test(phrase);
  return `${vowelSound ? 'an' : 'a'} ${phrase}`;
}

/**
 * Describes the digit with whichever attributes are set, for example "a small, thick seven
 * slanted to the right at the top". With none set, it draws a handwriting style instead:
 * "a messy seven".
 */
function describedDigit(attributes: CaptionAttributes, choose: ChooseWord): string {
  const adjectives: string[] = [];
  if (attributes.size) adjectives.push(attributes.size);
  if (attributes.thickness) adjectives.push(attributes.thickness);
  if (attributes.slant === 'upright') adjectives.push('upright');
  if (adjectives.length === 0) adjectives.push(choose(HANDWRITING_STYLES));

  let caption = withArticle(`${adjectives.join(', ')} ${digitWord(attributes)}`);
  if (attributes.slant === 'left' || attributes.slant === 'right') {
    caption += ` slanted to the ${attributes.slant}`;
  }
  if (attributes.position) caption += ` ${POSITION_PHRASES[attributes.position]}`;
  return caption;
}

/**
 * Caption templates. Every template mentions the digit as a word or a numeral and no other
 * digit, and `captionFor` uses each one exactly once in every run of
 * `captionTemplates.length` consecutive indices that starts at a multiple of that length.
 */
export const captionTemplates: readonly CaptionTemplate[] = [
  (a, choose) => withArticle(`${choose(HANDWRITTEN)} ${digitWord(a)}`),
  (a, choose) => `the ${choose(NUMBER_NOUNS)} ${numeral(a)}`,
  (a) => digitWord(a),
  (a, choose) => `${withArticle(numeral(a))} written in ${choose(WRITING_TOOLS)}`,
  (a, choose) => `${withArticle(choose(IMAGE_NOUNS))} of the ${choose(NUMBER_NOUNS)} ${digitWord(a)}`,
  (a, choose) => `${choose(HANDWRITTEN)} ${numeral(a)}`,
  (a, choose) => `the ${choose(NUMBER_NOUNS)} ${digitWord(a)}, written by hand`,
  (a) => `${digitWord(a)} (${numeral(a)})`,
  (a) => `number ${numeral(a)}`,
  (a, choose) => `${withArticle(choose(IMAGE_NOUNS))} of ${withArticle(digitWord(a))}`,
  (a, choose) => `${numeral(a)}, ${choose(HANDWRITTEN)}`,
  (a, choose) => `mnist ${choose(NUMBER_NOUNS)}: ${digitWord(a)}`,
  describedDigit,
];

/** Largest caption index: `deriveSeed` reads its counter as an unsigned 32-bit integer. */
const MAX_CAPTION_INDEX = 0xffffffff;

function checkLabel(label: number): void {
  if (!Number.isInteger(label) || label < 0 || label > 9) {
    throw new Error(`Caption label must be an integer digit 0–9, got ${label}.`);
  }
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${value}.`);
  }
}

/** The sampled template and its text, for tests and for widgets that show the template. */
export interface SampledCaption {
  text: string;
  templateIndex: number;
}

/**
 * Samples caption number `index` of an image with label `label`.
 *
 * Indices are grouped in blocks of `captionTemplates.length`. Each block visits the
 * templates in its own seeded order, so consecutive indices never repeat a template within
 * a block, and the synonyms come from a second stream seeded by the index.
 */
export function sampleCaption(label: number, seed: number, index: number, details: CaptionDetails = {}): SampledCaption {
  checkLabel(label);
  if (!Number.isInteger(index) || index < 0 || index > MAX_CAPTION_INDEX) {
    throw new Error(`Caption index must be an integer in [0, ${MAX_CAPTION_INDEX}], got ${index}.`);
  }

  // Two independent streams per label: one orders the templates, one draws the words.
  const labelSeed = deriveSeed(seed, label);
  const templateCount = captionTemplates.length;
  const block = Math.floor(index / templateCount);
  const order = Array.from({ length: templateCount }, (_, i) => i);
  new Rng(deriveSeed(deriveSeed(labelSeed, 0), block)).shuffle(order);
  const templateIndex = order[index % templateCount];

  const wordRng = new Rng(deriveSeed(deriveSeed(labelSeed, 1), index));
  const choose: ChooseWord = (options) => options[wordRng.int(options.length)];
  const text = captionTemplates[templateIndex]({ ...details, digit: label }, choose);
  return { text, templateIndex };
}

/** Returns caption number `index` of an image with label `label` (see `sampleCaption`). */
export function captionFor(label: number, seed: number, index: number, details: CaptionDetails = {}): string {
  return sampleCaption(label, seed, index, details).text;
}

/**
 * Returns captions 0 … count−1 of one image. With `count` up to `captionTemplates.length`
 * they come from distinct templates.
 */
export function captionsFor(label: number, seed: number, count: number): string[] {
  checkCount('Caption count', count);
  return Array.from({ length: count }, (_, index) => captionFor(label, seed, index));
}

/**
 * Returns `perImage` captions for each label, image by image, for tokenizer training.
 * Image i uses the seed `deriveSeed(seed, i)`, so a training loop can draw the same
 * captions later with `captionFor(labels[i], deriveSeed(seed, i), index)`.
 */
export function captionCorpus(labels: ArrayLike<number>, seed: number, perImage: number): string[] {
  checkCount('Captions per image', perImage);
  const corpus: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    corpus.push(...captionsFor(labels[i], deriveSeed(seed, i), perImage));
  }
  return corpus;
}
