/**
 * Digit measurements on constructed images with known answers, the buckets and captions
 * built from them, reading attributes back from prompts, and placement on real MNIST.
 */
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_NAMES,
  ATTRIBUTE_VALUES,
  attributeIndices,
  attributesFromIndices,
  attributesOf,
  descriptiveCaption,
  FRAME,
  measureDigit,
  normalizeLikeMnist,
  placeDigit,
  placeSplit,
  PLACEMENT_SEED,
  readAttributes,
  shortCaption,
  upsamplePrompt,
  type DigitAttributes,
} from '../../src/models/data/attributes';
import { Rng } from '../../src/models/data/rng';
import { mnist } from './helpers';

/** Draws a 28×28 frame with ink 1 wherever `inked(x, y)` holds. */
function draw(inked: (x: number, y: number) => boolean): Float32Array {
  const pixels = new Float32Array(FRAME * FRAME);
  for (let y = 0; y < FRAME; y++) for (let x = 0; x < FRAME; x++) pixels[y * FRAME + x] = inked(x, y) ? 1 : 0;
  return pixels;
}

/** Draws a bar `width` pixels wide from row `top` to row `bottom` around the line x = cx + shear · (centreY − y). */
function bar(width: number, top: number, bottom: number, shear: number, cx = 13.5): Float32Array {
  const centreY = (top + bottom) / 2;
  return draw((x, y) => y >= top && y <= bottom && Math.abs(x - (cx + shear * (centreY - y))) < width / 2);
}

describe('measureDigit', () => {
  it('returns null for a blank or nearly blank frame', () => {
    expect(measureDigit(new Float32Array(784))).toBeNull();
    expect(measureDigit(new Float32Array(784).fill(0.2))).toBeNull();
  });

  it('measures a vertical bar: stroke width, no shear, bounding box, centre', () => {
    const m = measureDigit(bar(4, 4, 23, 0))!;
    // 4 × 20 pixels: 2 · 80 / (2 · (4 + 20)) = 3.33, close to the width of 4.
    expect(m.inkArea).toBe(80);
    expect(m.strokeWidth).toBeCloseTo(160 / 48, 6);
    expect(m.thickness).toBeCloseTo(160 / 48, 6);
    expect(m.shear).toBeCloseTo(0, 6);
    expect(m.height).toBe(20);
    expect(m.width).toBe(4);
    expect(m.size).toBe(20);
    expect(m.centroidX).toBeCloseTo(13.5, 6);
    expect(m.centroidY).toBeCloseTo(13.5, 6);
  });

  it('reads the shear of a slanted bar with its sign: positive leans right', () => {
    const right = measureDigit(bar(2, 4, 23, 0.4))!;
    const left = measureDigit(bar(2, 4, 23, -0.4))!;
    expect(right.shear).toBeGreaterThan(0.3);
    expect(right.shear).toBeLessThan(0.5);
    expect(left.shear).toBeCloseTo(-right.shear, 6);
    expect(right.slantDegrees).toBeCloseTo((Math.atan(right.shear) * 180) / Math.PI, 6);
  });

  it('scales stroke width to a 20-pixel digit for thickness', () => {
    const short = measureDigit(bar(2, 9, 18, 0))!;
    expect(short.height).toBe(10);
    expect(short.thickness).toBeCloseTo((short.strokeWidth * 20) / 10, 6);
  });
});

describe('attributesOf', () => {
  it('buckets constructed digits as a reader would name them', () => {
    expect(attributesOf(measureDigit(bar(4, 4, 23, 0.1))!)).toEqual({ thickness: 'thick', slant: 'upright', size: 'large', position: 'centre' });
    expect(attributesOf(measureDigit(bar(1, 4, 23, 0.5))!).slant).toBe('right');
    expect(attributesOf(measureDigit(bar(1, 4, 23, -0.3))!).slant).toBe('left');
    expect(attributesOf(measureDigit(bar(1, 4, 23, 0.1))!).thickness).toBe('thin');
    const corner = attributesOf(measureDigit(draw((x, y) => x >= 1 && x < 9 && y >= 2 && y < 12 && (x === 2 || x === 7 || y === 3)))!);
    expect(corner.position).toBe('upper left');
    expect(corner.size).toBe('small');
    const lowerRight = attributesOf(measureDigit(draw((x, y) => x >= 18 && x < 26 && y >= 14 && y < 27 && (x === 19 || x === 24)))!);
    expect(lowerRight.position).toBe('lower right');
    expect(lowerRight.size).toBe('small');
    expect(attributesOf(measureDigit(draw((x, y) => y >= 12 && y < 16 && x >= 2 && x < 12))!).position).toBe('left');
    expect(attributesOf(measureDigit(bar(2, 6, 21, 0))!).size).toBe('medium');
  });

  it('round-trips through bucket indices', () => {
    const a: DigitAttributes = { thickness: 'thin', slant: 'right', size: 'medium', position: 'lower left' };
    expect(attributesFromIndices(attributeIndices(a))).toEqual(a);
  });
});

describe('placeDigit and normalizeLikeMnist', () => {
  const square = draw((x, y) => x >= 4 && x < 24 && y >= 4 && y < 24 && (x < 7 || x > 20 || y < 7 || y > 20));

  it('places the same digit the same way for the same seed, inside the frame', () => {
    const a = placeDigit(square, new Rng(5));
    const b = placeDigit(square, new Rng(5));
    expect(Array.from(a)).toEqual(Array.from(b));
    const m = measureDigit(a)!;
    expect(m.size).toBeGreaterThanOrEqual(10);
    expect(m.size).toBeLessThanOrEqual(20);
  });

  it('keeps an empty frame empty and still consumes its draws', () => {
    const rng = new Rng(9);
    expect(placeDigit(new Float32Array(784), rng).every((v) => v === 0)).toBe(true);
    const reference = new Rng(9);
    reference.next();
    reference.next();
    reference.next();
    expect(rng.next()).toBe(reference.next());
  });

  it('normalises a small digit in a corner back to 20 pixels, centred by mass', () => {
    const small = draw((x, y) => x >= 1 && x < 9 && y >= 1 && y < 11 && (x < 3 || y < 3));
    const m = measureDigit(normalizeLikeMnist(small))!;
    expect(m.height).toBe(20);
    expect(Math.abs(m.centroidX - 13.5)).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(Math.abs(m.centroidY - 13.5)).toBeLessThanOrEqual(0.5 + 1e-9);
  });

  it('ignores the faint haze a decoder leaves around a digit', () => {
    const hazy = draw((x, y) => x >= 1 && x < 9 && y >= 1 && y < 11 && (x < 3 || y < 3)).map((v) => Math.max(v, 0.002));
    expect(measureDigit(normalizeLikeMnist(hazy))!.height).toBe(20);
  });
});

describe('captions', () => {
  it('renders short and descriptive captions', () => {
    expect(shortCaption(7)).toBe('a handwritten seven');
    expect(descriptiveCaption(7, { thickness: 'thick', slant: 'right', size: 'small', position: 'upper left' })).toBe(
      'a thick, right-slanted seven, small, in the upper left',
    );
    expect(descriptiveCaption(8, { thickness: 'regular', slant: 'upright', size: 'medium', position: 'centre' })).toBe(
      'a regular, upright eight, medium-sized, in the centre',
    );
  });

  it('reads back every attribute combination and the digit from its descriptive caption', () => {
    for (const thickness of ATTRIBUTE_VALUES.thickness) {
      for (const slant of ATTRIBUTE_VALUES.slant) {
        for (const size of ATTRIBUTE_VALUES.size) {
          for (const position of ATTRIBUTE_VALUES.position) {
            const attributes = { thickness, slant, size, position };
            const reading = readAttributes(descriptiveCaption(3, attributes));
            expect(reading).toEqual({ digit: 3, attributes, conflicts: [] });
          }
        }
      }
    }
  });

  it('reads other phrasings, ignores unknown words and reports contradictions', () => {
    expect(readAttributes('a bold 4 slanted to the left, big, top-right corner')).toEqual({
      digit: 4,
      attributes: { thickness: 'thick', slant: 'left', size: 'large', position: 'upper right' },
      conflicts: [],
    });
    expect(readAttributes('a sparkly purple two in the middle').attributes).toEqual({ position: 'centre' });
    const contradiction = readAttributes('a thick thin seven');
    expect(contradiction.attributes.thickness).toBeUndefined();
    expect(contradiction.conflicts).toEqual([{ attribute: 'thickness', words: ['thick', 'thin'] }]);
    expect(readAttributes('a seven or a one').digit).toBeNull();
    expect(readAttributes('').digit).toBeNull();
  });

  it('upsamples a short prompt: keeps what it names, fills the rest by seed', () => {
    const a = upsamplePrompt('a thick seven', 1)!;
    const b = upsamplePrompt('a thick seven', 1)!;
    expect(a).toEqual(b);
    expect(a.filled).toEqual(['slant', 'size', 'position']);
    const reading = readAttributes(a.text);
    expect(reading.digit).toBe(7);
    expect(reading.attributes.thickness).toBe('thick');
    for (const name of ATTRIBUTE_NAMES) expect(reading.attributes[name]).toBeDefined();
    expect(upsamplePrompt('a cat', 1)).toBeNull();
    const texts = new Set(Array.from({ length: 20 }, (_, seed) => upsamplePrompt('seven', seed)!.text));
    expect(texts.size).toBeGreaterThan(5);
  });
});

describe('placed MNIST', () => {
  it('puts about a third of real digits in each bucket of the three-way attributes', async () => {
    const train = await mnist('train', 6000);
    const placed = placeSplit(train, PLACEMENT_SEED);
    for (const [k, name] of ['thickness', 'slant', 'size'].entries()) {
      const counts = [0, 0, 0];
      for (let i = 0; i < placed.split.count; i++) counts[placed.attributes[i * 4 + k]] += 1;
      for (const count of counts) {
        expect(count / placed.split.count, `${name} bucket share`).toBeGreaterThan(0.25);
        expect(count / placed.split.count, `${name} bucket share`).toBeLessThan(0.42);
      }
    }
    const positions = new Array(9).fill(0);
    for (let i = 0; i < placed.split.count; i++) positions[placed.attributes[i * 4 + 3]] += 1;
    for (const count of positions) expect(count / placed.split.count).toBeGreaterThan(0.05);
  });

  it('stores attributes measured from the stored bytes, digit by digit', async () => {
    const train = await mnist('train', 40);
    const all = placeSplit(train, 3);
    const some = placeSplit(train, 3, 10);
    expect(Array.from(some.attributes)).toEqual(Array.from(all.attributes.slice(0, 40)));
    const pixels = Float32Array.from(all.split.images.subarray(7 * 784, 8 * 784), (v) => v / 255);
    expect(attributeIndices(attributesOf(measureDigit(pixels)!))).toEqual(Array.from(all.attributes.slice(28, 32)));
  });
});
