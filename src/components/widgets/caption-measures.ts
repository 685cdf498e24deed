/**
 * Words and numbers of the "Better captions" widgets: what each attribute word of a
 * descriptive caption stands for, in pixels and degrees, and the reader-facing messages
 * the widgets and their tests share. No TensorFlow.js here, so pages import it for free.
 */
import {
  ATTRIBUTE_NAMES,
  ATTRIBUTE_THRESHOLDS,
  attributesOf,
  FRAME,
  measureDigit,
  MNIST_BOX,
  normalizeLikeMnist,
  POSITION_PHRASES,
  SIZE_WORDS,
  SLANT_WORDS,
  THICKNESS_WORDS,
  type AttributeConflict,
  type AttributeName,
  type DigitAttributes,
  type DigitMeasurements,
} from '../../models/data/attributes';
import { DIGIT_WORDS } from '../../models/data/captions';
import { SERIES_COLORS } from '../charts/theme';

/** Side of an MNIST frame in pixels. */
const PIXELS = FRAME * FRAME;
/** The frame's centre in pixel coordinates (pixel centres at integers). */
export const FRAME_CENTRE = (FRAME - 1) / 2;

export const ATTRIBUTE_TITLES: Record<AttributeName, string> = {
  thickness: 'Thickness',
  slant: 'Slant',
  size: 'Size',
  position: 'Position',
};

/** One theme colour per attribute, shared by the caption's words, the table and the shapes drawn over the digit. */
export const ATTRIBUTE_COLORS: Record<AttributeName, string> = {
  thickness: SERIES_COLORS[0],
  slant: SERIES_COLORS[1],
  size: SERIES_COLORS[2],
  position: SERIES_COLORS[3],
};

/** Returns the words a descriptive caption uses for an attribute value: "thick", "right-slanted", "medium-sized", "in the upper left". */
export function attributeWords(name: AttributeName, attributes: DigitAttributes): string {
  switch (name) {
    case 'thickness':
      return THICKNESS_WORDS[attributes.thickness];
    case 'slant':
      return SLANT_WORDS[attributes.slant];
    case 'size':
      return SIZE_WORDS[attributes.size];
    case 'position':
      return POSITION_PHRASES[attributes.position];
  }
}

const px = (value: number) => `${value.toFixed(1)} px`;

/** Describes the measurement behind an attribute word, with units: "-12.4° (top leans left)". */
export function measuredText(name: AttributeName, m: DigitMeasurements): string {
  switch (name) {
    case 'thickness':
      return `stroke ${px(m.strokeWidth)} wide; ${px(m.thickness)} scaled to a digit ${MNIST_BOX} px tall`;
    case 'slant': {
      let lean = 'vertical';
      if (m.slantDegrees > 0) lean = 'top leans right';
      if (m.slantDegrees < 0) lean = 'top leans left';
      return `${m.slantDegrees.toFixed(1)}° (${lean})`;
    }
    case 'size':
      return `ink box ${m.width} × ${m.height} px, longer side ${m.size} px`;
    case 'position':
      return `centre of mass ${signed(m.centroidX - FRAME_CENTRE)} px across, ${signed(m.centroidY - FRAME_CENTRE)} px down from the frame's centre`;
  }
}

function signed(value: number): string {
  const rounded = value.toFixed(1);
  return value > 0 && rounded !== '0.0' ? `+${rounded}` : rounded;
}

/** States the bucket edges of an attribute as a rule a reader can check the measurement against. */
export function bucketRule(name: AttributeName): string {
  const t = ATTRIBUTE_THRESHOLDS;
  switch (name) {
    case 'thickness':
      return `scaled width: thin below ${t.thickness[0]} px, thick from ${t.thickness[1]} px`;
    case 'slant':
      return `left-slanted below ${t.slantDegrees[0]}°, right-slanted from ${t.slantDegrees[1]}°`;
    case 'size':
      return `small below ${t.size[0]} px, large from ${t.size[1]} px`;
    case 'position':
      return `off-centre on an axis beyond ${t.positionOffset} px`;
  }
}

/** One row of the table behind a descriptive caption. */
export interface AttributeRow {
  name: AttributeName;
  title: string;
  words: string;
  measured: string;
  rule: string;
}

export function attributeRows(m: DigitMeasurements, attributes: DigitAttributes): AttributeRow[] {
  return ATTRIBUTE_NAMES.map((name) => ({
    name,
    title: ATTRIBUTE_TITLES[name],
    words: attributeWords(name, attributes),
    measured: measuredText(name, m),
    rule: bucketRule(name),
  }));
}

/** Measures the attributes of each of `count` images, null where an image is blank. */
export function measureImages(images: Float32Array, count: number): (DigitAttributes | null)[] {
  return Array.from({ length: count }, (_, i) => {
    const m = measureDigit(images, i * PIXELS);
    return m === null ? null : attributesOf(m);
  });
}

/** Redraws the images as MNIST frames its digits, the input the referee classifier was trained on. */
export function normalizeImages(images: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count * PIXELS);
  for (let i = 0; i < count; i++) out.set(normalizeLikeMnist(images, i * PIXELS), i * PIXELS);
  return out;
}

export function digitWord(digit: number): string {
  return DIGIT_WORDS[digit] ?? String(digit);
}

/** Reader-facing messages of the "Better captions" widgets. */
export const CAPTION_MESSAGES = {
  blankDrawing: 'The pad is empty, so there is nothing to caption. Draw a digit anywhere on the pad, at any size.',
  drawingTooSmall: 'Draw a larger digit: this mark is too small to read as one.',
  faintDrawing: 'No pixel of the drawing is dark enough to measure, so there is nothing to caption. Draw with firmer strokes.',
  conflict: (conflicts: AttributeConflict[]) =>
    `The prompt contradicts itself: ${conflicts
      .map((conflict) => `${conflict.words.map((word) => `“${word}”`).join(' and ')} ask for different ${conflict.attribute}`)
      .join('; ')}. Neither is scored, and the generators get the words as written.`,
  severalDigits: 'The prompt names more than one digit, so no digit is scored. The generators were trained on captions of one digit each.',
  noAttributes: 'The prompt names none of the four attributes (thickness, slant, size, position), so only the digit is checked.',
  upsampleNeedsDigit: 'Name one digit first ("seven" or "7"): upsampling keeps the digit and fills in the rest.',
  notTrained: (name: string) => `Not trained yet: public/models/${name}/ is missing from this build, so it has no samples.`,
} as const;

/** A piece of a descriptive caption: plain text, or the words of one attribute. */
export interface CaptionSegment {
  text: string;
  attribute: AttributeName | null;
}

/**
 * Splits a descriptive caption into its attribute words and the text between them, so a
 * widget can mark each word. The words are found in caption order (thickness, slant, size,
 * position), as `descriptiveCaption` writes them.
 */
export function captionSegments(text: string, attributes: DigitAttributes): CaptionSegment[] {
  const segments: CaptionSegment[] = [];
  let cursor = 0;
  for (const name of ATTRIBUTE_NAMES) {
    const words = attributeWords(name, attributes);
    const at = text.indexOf(words, cursor);
    if (at < 0) continue;
    if (at > cursor) segments.push({ text: text.slice(cursor, at), attribute: null });
    segments.push({ text: words, attribute: name });
    cursor = at + words.length;
  }
  if (cursor < text.length) segments.push({ text: text.slice(cursor), attribute: null });
  return segments;
}
