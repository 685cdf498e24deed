/**
 * Digit attributes measured from pixels, and the captions built from them: the data side
 * of the "Better captions" chapter.
 *
 * DALL·E 3 (Betker et al. 2023, "Improving Image Generation with Better Captions") trains
 * its generator on descriptive captions written by a learned captioner instead of short
 * alt-text. Here the descriptive facts are stroke thickness, slant, size and position,
 * read from image moments:
 *
 * - stroke width = 2 · ink area / ink perimeter (exact for a long bar: its width), scaled to
 *   a digit 20 pixels tall so that it describes the pen, not the digit's size;
 * - shear = −μ11 / μ02 from the central second moments (x per y, y pointing down), positive
 *   when the top leans right; the slant in degrees is its arctangent;
 * - size = the longer side of the ink's bounding box, in pixels;
 * - position = the ink's centre of mass against the frame's centre.
 *
 * MNIST itself fits every digit in a 20 × 20 box and centres its centre of mass (LeCun et
 * al. 1998), so size and position hardly vary there. `placeDigit` rescales and moves a digit
 * with a seeded draw so that they do; `normalizeLikeMnist` undoes it for the referee.
 */
import { DIGIT_WORDS } from './captions';
import type { MnistSplit } from './mnist';
import { deriveSeed, Rng } from './rng';

/** Side of an MNIST frame in pixels. */
export const FRAME = 28;
const PIXELS = FRAME * FRAME;
/** Intensity (0–1) from which a pixel counts as ink for area, perimeter and bounding box. */
export const INK_THRESHOLD = 0.5;
/** Height in pixels that MNIST gives a digit's bounding box, and the reference for `thickness`. */
export const MNIST_BOX = 20;

export interface DigitMeasurements {
  /** Sum of intensities. */
  mass: number;
  /** Pixels at or above `INK_THRESHOLD`. */
  inkArea: number;
  /** Intensity-weighted centre, in pixels from the top-left pixel's centre (the frame's centre is 13.5). */
  centroidX: number;
  centroidY: number;
  /** 2 · area / perimeter of the thresholded ink, in pixels. */
  strokeWidth: number;
  /** `strokeWidth` scaled to a 20-pixel-tall digit. */
  thickness: number;
  /** −μ11 / μ02: horizontal shift per pixel down; positive leans right. */
  shear: number;
  slantDegrees: number;
  /** Bounding box of the ink, in pixels. */
  top: number;
  left: number;
  height: number;
  width: number;
  /** max(height, width). */
  size: number;
}

/**
 * Measures one 28×28 digit with intensities in [0, 1] at `pixels[offset …]`. Returns null
 * when no pixel reaches `INK_THRESHOLD` (a blank or nearly blank canvas).
 */
export function measureDigit(pixels: ArrayLike<number>, offset = 0): DigitMeasurements | null {
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  let inkArea = 0;
  let perimeter = 0;
  let top = FRAME;
  let bottom = -1;
  let left = FRAME;
  let right = -1;
  const ink = (x: number, y: number) => x >= 0 && y >= 0 && x < FRAME && y < FRAME && pixels[offset + y * FRAME + x] >= INK_THRESHOLD;
  for (let y = 0; y < FRAME; y++) {
    for (let x = 0; x < FRAME; x++) {
      const value = pixels[offset + y * FRAME + x];
      mass += value;
      sumX += value * x;
      sumY += value * y;
      if (value >= INK_THRESHOLD) {
        inkArea += 1;
        // Each side of an ink pixel that faces background (or the frame's edge) is one unit of perimeter.
        perimeter += (ink(x - 1, y) ? 0 : 1) + (ink(x + 1, y) ? 0 : 1) + (ink(x, y - 1) ? 0 : 1) + (ink(x, y + 1) ? 0 : 1);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (inkArea === 0 || mass <= 0) return null;
  const centroidX = sumX / mass;
  const centroidY = sumY / mass;
  let mu11 = 0;
  let mu02 = 0;
  for (let y = 0; y < FRAME; y++) {
    for (let x = 0; x < FRAME; x++) {
      const value = pixels[offset + y * FRAME + x];
      mu11 += value * (x - centroidX) * (y - centroidY);
      mu02 += value * (y - centroidY) * (y - centroidY);
    }
  }
  const shear = mu02 > 0 ? -mu11 / mu02 : 0;
  const height = bottom - top + 1;
  const width = right - left + 1;
  const strokeWidth = (2 * inkArea) / perimeter;
  return {
    mass,
    inkArea,
    centroidX,
    centroidY,
    strokeWidth,
    thickness: (strokeWidth * MNIST_BOX) / Math.max(height, 1),
    shear,
    slantDegrees: (Math.atan(shear) * 180) / Math.PI,
    top,
    left,
    height,
    width,
    size: Math.max(height, width),
  };
}

export const THICKNESSES = ['thin', 'regular', 'thick'] as const;
export const SLANTS = ['left', 'upright', 'right'] as const;
export const SIZES = ['small', 'medium', 'large'] as const;
export const POSITIONS = ['upper left', 'top', 'upper right', 'left', 'centre', 'right', 'lower left', 'bottom', 'lower right'] as const;

export type Thickness = (typeof THICKNESSES)[number];
export type Slant = (typeof SLANTS)[number];
export type Size = (typeof SIZES)[number];
export type Position = (typeof POSITIONS)[number];

/** The four descriptive attributes of a digit, each one bucket of a measurement. */
export interface DigitAttributes {
  thickness: Thickness;
  slant: Slant;
  size: Size;
  position: Position;
}

export type AttributeName = keyof DigitAttributes;
export const ATTRIBUTE_NAMES: readonly AttributeName[] = ['thickness', 'slant', 'size', 'position'];
export const ATTRIBUTE_VALUES: { readonly [K in AttributeName]: readonly DigitAttributes[K][] } = {
  thickness: THICKNESSES,
  slant: SLANTS,
  size: SIZES,
  position: POSITIONS,
};

/**
 * Bucket edges: the terciles of the training split after `placeDigit` (seed
 * `PLACEMENT_SEED`), rounded, so each bucket contains about a third of the digits; a unit test
 * recomputes them from MNIST. Most handwriting leans a little right, so "upright" is the
 * middle third, 0° to 13°. Position splits the centre of mass 2.5 pixels either side of the
 * frame's centre, horizontally and vertically, into nine regions of similar share.
 */
export const ATTRIBUTE_THRESHOLDS = {
  thickness: [1.9, 2.35],
  slantDegrees: [0, 13],
  size: [14, 17],
  positionOffset: 2.5,
} as const;

function bucket<T>(value: number, edges: readonly [number, number], names: readonly [T, T, T]): T {
  if (value < edges[0]) return names[0];
  if (value < edges[1]) return names[1];
  return names[2];
}

/** Buckets measurements into the attributes a descriptive caption names. */
export function attributesOf(m: DigitMeasurements): DigitAttributes {
  const t = ATTRIBUTE_THRESHOLDS;
  const offset = t.positionOffset;
  const centre = (FRAME - 1) / 2;
  const region = (value: number): number => {
    if (value < centre - offset) return 0;
    if (value > centre + offset) return 2;
    return 1;
  };
  const column = region(m.centroidX);
  const row = region(m.centroidY);
  return {
    thickness: bucket(m.thickness, t.thickness, ['thin', 'regular', 'thick']),
    slant: bucket(m.slantDegrees, t.slantDegrees, ['left', 'upright', 'right']),
    size: bucket(m.size, t.size, ['small', 'medium', 'large']),
    position: POSITIONS[row * 3 + column],
  };
}

// ---------------------------------------------------------------------------------------
// Resampling: placement of a digit at a new size and place, and MNIST's normalisation.

/** Bilinear read of a [height, width] image at fractional (x, y); outside the image is 0. */
function bilinear(source: ArrayLike<number>, width: number, height: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < width && yy < height ? source[yy * width + xx] : 0);
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

/**
 * Resizes a [height, width] image to [outHeight, outWidth], averaging 3 × 3 bilinear
 * samples per output pixel so that shrinking by up to 3× does not alias.
 */
export function resize(source: ArrayLike<number>, width: number, height: number, outWidth: number, outHeight: number): Float32Array {
  const out = new Float32Array(outWidth * outHeight);
  const sx = width / outWidth;
  const sy = height / outHeight;
  const taps = [1 / 6, 3 / 6, 5 / 6];
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      let sum = 0;
      for (const ty of taps) {
        for (const tx of taps) sum += bilinear(source, width, height, (ox + tx) * sx - 0.5, (oy + ty) * sy - 0.5);
      }
      out[oy * outWidth + ox] = Math.min(1, sum / 9);
    }
  }
  return out;
}

/** Returns the bounding box of pixels above `floor`, or null when there are none. */
function inkBox(pixels: ArrayLike<number>, offset: number, floor = 0): { top: number; left: number; height: number; width: number } | null {
  let top = FRAME;
  let bottom = -1;
  let left = FRAME;
  let right = -1;
  for (let y = 0; y < FRAME; y++) {
    for (let x = 0; x < FRAME; x++) {
      if (pixels[offset + y * FRAME + x] > floor) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  return bottom < 0 ? null : { top, left, height: bottom - top + 1, width: right - left + 1 };
}

function crop(pixels: ArrayLike<number>, offset: number, box: { top: number; left: number; height: number; width: number }): Float32Array {
  const out = new Float32Array(box.height * box.width);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) out[y * box.width + x] = pixels[offset + (box.top + y) * FRAME + box.left + x];
  }
  return out;
}

/** Range of the scale factor that `placeDigit` draws, relative to the digit's MNIST size. */
export const PLACEMENT_SCALE: readonly [number, number] = [0.5, 1];
/** Seed of the placed training digits behind the shipped captioner and caption-ablation generators. */
export const PLACEMENT_SEED = 20231019;
/** Seed of the placed test digits that the captioner and the generators are evaluated on. */
export const PLACEMENT_TEST_SEED = PLACEMENT_SEED ^ 0x7e57;

/**
 * Redraws a digit (28×28, values in [0, 1]) at a size and place drawn from `rng`: its ink
 * box is scaled by a factor uniform in `PLACEMENT_SCALE`, then put at a uniformly drawn
 * position where it fits inside the frame. An empty frame comes back empty.
 */
export function placeDigit(pixels: ArrayLike<number>, rng: Rng, offset = 0): Float32Array {
  const out = new Float32Array(PIXELS);
  const box = inkBox(pixels, offset);
  // The draws happen even for an empty frame, so one digit's draws never shift the next one's.
  const scale = PLACEMENT_SCALE[0] + (PLACEMENT_SCALE[1] - PLACEMENT_SCALE[0]) * rng.next();
  const u = rng.next();
  const v = rng.next();
  if (box === null) return out;
  const width = Math.max(1, Math.round(box.width * scale));
  const height = Math.max(1, Math.round(box.height * scale));
  const resized = resize(crop(pixels, offset, box), box.width, box.height, width, height);
  const left = Math.floor(u * (FRAME - width + 1));
  const top = Math.floor(v * (FRAME - height + 1));
  for (let y = 0; y < height; y++) out.set(resized.subarray(y * width, (y + 1) * width), (top + y) * FRAME + left);
  return out;
}

/** Intensity above which a pixel counts toward the box that `normalizeLikeMnist` rescales. */
export const NORMALIZE_FLOOR = 0.1;

/**
 * MNIST's own normalisation (LeCun et al. 1998): fit the ink box in 20 × 20 keeping its
 * aspect ratio, then translate by whole pixels so the centre of mass sits at the frame's
 * centre. The referee classifier was trained on digits in this form. An empty frame comes
 * back empty.
 */
export function normalizeLikeMnist(pixels: ArrayLike<number>, offset = 0): Float32Array {
  const out = new Float32Array(PIXELS);
  // A decoder's output is never exactly 0. The box is therefore taken over pixels above a
  // faint floor, because otherwise it would span the whole frame and nothing would be rescaled.
  const box = inkBox(pixels, offset, NORMALIZE_FLOOR);
  if (box === null) return out;
  const scale = MNIST_BOX / Math.max(box.height, box.width);
  const width = Math.max(1, Math.round(box.width * scale));
  const height = Math.max(1, Math.round(box.height * scale));
  const resized = resize(crop(pixels, offset, box), box.width, box.height, width, height);
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  resized.forEach((value, i) => {
    mass += value;
    sumX += value * (i % width);
    sumY += value * Math.floor(i / width);
  });
  const centre = (FRAME - 1) / 2;
  const left = Math.round(centre - (mass > 0 ? sumX / mass : (width - 1) / 2));
  const top = Math.round(centre - (mass > 0 ? sumY / mass : (height - 1) / 2));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const tx = left + x;
      const ty = top + y;
      if (tx >= 0 && ty >= 0 && tx < FRAME && ty < FRAME) out[ty * FRAME + tx] = resized[y * width + x];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Captions: the words for each attribute, rendering, and reading them back from a prompt.

export const THICKNESS_WORDS: Record<Thickness, string> = { thin: 'thin', regular: 'regular', thick: 'thick' };
export const SLANT_WORDS: Record<Slant, string> = { left: 'left-slanted', upright: 'upright', right: 'right-slanted' };
export const SIZE_WORDS: Record<Size, string> = { small: 'small', medium: 'medium-sized', large: 'large' };
export const POSITION_PHRASES: Record<Position, string> = {
  'upper left': 'in the upper left',
  top: 'at the top',
  'upper right': 'in the upper right',
  left: 'on the left',
  centre: 'in the centre',
  right: 'on the right',
  'lower left': 'in the lower left',
  bottom: 'at the bottom',
  'lower right': 'in the lower right',
};

/** "a" or "an" as spoken before `word`. */
function article(word: string): string {
  return /^(?:[aeiou]|eight)/.test(word) && !/^one\b/.test(word) ? 'an' : 'a';
}

/** Renders the short caption of a digit, as alt-text would give it: "a handwritten seven". */
export function shortCaption(digit: number): string {
  return `a handwritten ${DIGIT_WORDS[digit]}`;
}

/**
 * Renders the descriptive caption of a digit: "a thick, right-slanted seven, small, in the upper
 * left". Every attribute is named, so a generator trained on these captions can be asked
 * for any combination.
 */
export function descriptiveCaption(digit: number, a: DigitAttributes): string {
  const thickness = THICKNESS_WORDS[a.thickness];
  return `${article(thickness)} ${thickness}, ${SLANT_WORDS[a.slant]} ${DIGIT_WORDS[digit]}, ${SIZE_WORDS[a.size]}, ${POSITION_PHRASES[a.position]}`;
}

/** Words a reader may use for each attribute value, beyond the ones the captions use. */
const THICKNESS_SYNONYMS: Record<string, Thickness> = { thin: 'thin', fine: 'thin', light: 'thin', regular: 'regular', normal: 'regular', thick: 'thick', bold: 'thick', heavy: 'thick' };
const SIZE_SYNONYMS: Record<string, Size> = { small: 'small', tiny: 'small', little: 'small', medium: 'medium', 'medium-sized': 'medium', large: 'large', big: 'large' };

export interface AttributeConflict {
  attribute: AttributeName;
  /** The words that ask for different values, as written. */
  words: string[];
}

export interface AttributeReading {
  /** The digit named by word or numeral, or null when none or more than one is named. */
  digit: number | null;
  /** Attributes the prompt names. An attribute named twice with different values is left out. */
  attributes: Partial<DigitAttributes>;
  conflicts: AttributeConflict[];
}

interface Match {
  attribute: AttributeName;
  value: string;
  words: string;
}

/**
 * Reads a prompt's digit and attributes, whatever the word order: "thick", "bold",
 * "right-slanted", "slanted to the left", "upper left", "top-right corner", "big". Words it
 * does not know are ignored here; the prompt box reports them. Contradictions ("a thick thin
 * seven") are listed and that attribute is left unset.
 */
export function readAttributes(prompt: string): AttributeReading {
  let text = ` ${prompt.toLowerCase().replace(/[^a-z0-9-]+/g, ' ')} `;
  const matches: Match[] = [];
  const take = (pattern: RegExp, attribute: AttributeName, value: (m: RegExpExecArray) => string) => {
    text = text.replace(pattern, (...args) => {
      const groups = args.slice(0, -2) as string[];
      const match = Object.assign(groups, { index: 0, input: '' }) as unknown as RegExpExecArray;
      matches.push({ attribute, value: value(match), words: groups[0].trim() });
      return ' ';
    });
  };
  // Slant first, so that "left" in "left-slanted" is not read as a position.
  take(/ (left|right)(?:-| )(?:slanted|leaning) /g, 'slant', (m) => m[1]);
  take(/ (?:slanted|leaning|tilted) (?:to (?:the )?)?(left|right) /g, 'slant', (m) => m[1]);
  take(/ (upright|straight|vertical) /g, 'slant', () => 'upright');
  take(/ (?:(upper|top|lower|bottom)(?:-| )(left|right))(?: corner)? /g, 'position', (m) => `${m[1] === 'top' ? 'upper' : m[1] === 'bottom' ? 'lower' : m[1]} ${m[2]}`);
  take(/ (?:in the |at the |on the )?(top|bottom|left|right|centre|center|middle) /g, 'position', (m) =>
    m[1] === 'center' || m[1] === 'middle' ? 'centre' : m[1],
  );
  for (const word of text.trim().split(/\s+/)) {
    if (word in THICKNESS_SYNONYMS) matches.push({ attribute: 'thickness', value: THICKNESS_SYNONYMS[word], words: word });
    else if (word in SIZE_SYNONYMS) matches.push({ attribute: 'size', value: SIZE_SYNONYMS[word], words: word });
  }

  const attributes: Partial<Record<AttributeName, string>> = {};
  const conflicts: AttributeConflict[] = [];
  for (const name of ATTRIBUTE_NAMES) {
    const found = matches.filter((m) => m.attribute === name);
    const values = new Set(found.map((m) => m.value));
    if (values.size === 1) attributes[name] = found[0].value;
    else if (values.size > 1) conflicts.push({ attribute: name, words: found.map((m) => m.words) });
  }

  const digits = new Set<number>();
  for (const word of prompt.toLowerCase().match(/[a-z]+|\d/g) ?? []) {
    const index = (DIGIT_WORDS as readonly string[]).indexOf(word);
    if (index >= 0) digits.add(index);
    else if (/^\d$/.test(word)) digits.add(Number(word));
  }
  return { digit: digits.size === 1 ? [...digits][0] : null, attributes: attributes as Partial<DigitAttributes>, conflicts };
}

/**
 * Returns, for each attribute the prompt names, whether the measured digit matches it.
 * Attributes the prompt leaves unset are not scored.
 */
export function attributeMatches(requested: Partial<DigitAttributes>, measured: DigitAttributes | null): Partial<Record<AttributeName, boolean>> {
  const out: Partial<Record<AttributeName, boolean>> = {};
  for (const name of ATTRIBUTE_NAMES) {
    if (requested[name] !== undefined) out[name] = measured !== null && measured[name] === requested[name];
  }
  return out;
}

/**
 * Prompt upsampling, a stand-in for the language model that DALL·E 3 uses to expand short
 * prompts (Betker et al. 2023): keeps the digit and every attribute the prompt names and
 * fills each missing attribute with a seeded uniform choice. Returns null when the prompt
 * names no single digit.
 */
export function upsamplePrompt(prompt: string, seed: number): { text: string; filled: AttributeName[] } | null {
  const reading = readAttributes(prompt);
  if (reading.digit === null) return null;
  const rng = new Rng(seed);
  const filled: AttributeName[] = [];
  const pick = <K extends AttributeName>(name: K): DigitAttributes[K] => {
    const values = ATTRIBUTE_VALUES[name];
    const choice = values[rng.int(values.length)];
    const requested = reading.attributes[name];
    if (requested !== undefined) return requested;
    filled.push(name);
    return choice;
  };
  const attributes: DigitAttributes = { thickness: pick('thickness'), slant: pick('slant'), size: pick('size'), position: pick('position') };
  return { text: descriptiveCaption(reading.digit, attributes), filled };
}

// ---------------------------------------------------------------------------------------
// A whole split, placed and measured: the training and test data of the captioner and of
// the caption-ablation generators.

/** Attribute buckets as indices into `ATTRIBUTE_VALUES[name]`, in `ATTRIBUTE_NAMES` order. */
export function attributeIndices(a: DigitAttributes): [number, number, number, number] {
  return [THICKNESSES.indexOf(a.thickness), SLANTS.indexOf(a.slant), SIZES.indexOf(a.size), POSITIONS.indexOf(a.position)];
}

export function attributesFromIndices(indices: ArrayLike<number>, offset = 0): DigitAttributes {
  return {
    thickness: THICKNESSES[indices[offset]],
    slant: SLANTS[indices[offset + 1]],
    size: SIZES[indices[offset + 2]],
    position: POSITIONS[indices[offset + 3]],
  };
}

export interface PlacedSplit {
  /** The same digits and labels, each redrawn by `placeDigit` and stored as bytes like MNIST. */
  split: MnistSplit;
  /** Measured attribute indices [count, 4] (`attributeIndices` order) of the stored bytes. */
  attributes: Uint8Array;
}

/**
 * Places every digit of a split with `placeDigit`, digit i drawing from
 * `new Rng(deriveSeed(seed, i))`, and measures the result as stored (rounded to bytes), so
 * a digit's attributes never depend on which others are placed. About 0.5 ms per digit.
 */
export function placeSplit(source: MnistSplit, seed: number, count = source.count): PlacedSplit {
  const images = new Uint8Array(count * PIXELS);
  const attributes = new Uint8Array(count * 4);
  const pixels = new Float32Array(PIXELS);
  const stored = new Float32Array(PIXELS);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < PIXELS; p++) pixels[p] = source.images[i * PIXELS + p] / 255;
    const placed = placeDigit(pixels, new Rng(deriveSeed(seed, i)));
    for (let p = 0; p < PIXELS; p++) {
      const byte = Math.round(placed[p] * 255);
      images[i * PIXELS + p] = byte;
      stored[p] = byte / 255;
    }
    const measured = measureDigit(stored);
    // MNIST has no blank digits; a digit too faint to measure keeps the middle buckets.
    attributes.set(measured ? attributeIndices(attributesOf(measured)) : [1, 1, 1, 4], i * 4);
  }
  return { split: { name: source.name, count, labels: source.labels.slice(0, count), images }, attributes };
}
