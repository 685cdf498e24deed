import { describe, expect, it } from 'vitest';
import {
  DIGIT_WORDS,
  captionCorpus,
  captionFor,
  captionTemplates,
  captionsFor,
  sampleCaption,
  type CaptionAttributes,
} from '../../src/models/data/captions';
import { deriveSeed } from '../../src/models/data/rng';

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const TEMPLATE_COUNT = captionTemplates.length;

/** Digit words and numerals that occur as whole words in `caption`. */
function digitsMentioned(caption: string): Set<number> {
  const mentioned = new Set<number>();
  for (const digit of DIGITS) {
    const pattern = new RegExp(`(^|[^a-z0-9])(${DIGIT_WORDS[digit]}|${digit})([^a-z0-9]|$)`);
    if (pattern.test(caption)) mentioned.add(digit);
  }
  return mentioned;
}

describe('captions', () => {
  it('digit words are zero to nine', () => {
    expect(DIGIT_WORDS).toEqual(['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']);
  });

  it('same seed and index repeat', () => {
    for (const digit of DIGITS) {
      for (let index = 0; index < 40; index++) {
        expect(captionFor(digit, 123, index)).toBe(captionFor(digit, 123, index));
      }
      expect(captionsFor(digit, 9, 30)).toEqual(captionsFor(digit, 9, 30));
    }
  });

  it('different seeds give different captions', () => {
    const first = captionsFor(7, 1, 30);
    const second = captionsFor(7, 2, 30);
    expect(first).not.toEqual(second);
  });

  it('captions vary across indices', () => {
    for (const digit of DIGITS) {
      const captions = captionsFor(digit, 5, TEMPLATE_COUNT);
      expect(new Set(captions).size).toBe(TEMPLATE_COUNT);
    }
  });

  it('each index block covers all templates', () => {
    for (const digit of DIGITS) {
      for (const block of [0, 1, 17]) {
        const used = Array.from({ length: TEMPLATE_COUNT }, (_, position) => {
          return sampleCaption(digit, 77, block * TEMPLATE_COUNT + position).templateIndex;
        });
        expect([...used].sort((a, b) => a - b)).toEqual([...captionTemplates.keys()]);
      }
    }
  });

  it('template order differs between blocks', () => {
    const orderOf = (block: number) =>
      Array.from({ length: TEMPLATE_COUNT }, (_, position) => sampleCaption(3, 11, block * TEMPLATE_COUNT + position).templateIndex);
    const orders = new Set([0, 1, 2, 3].map((block) => orderOf(block).join(',')));
    expect(orders.size).toBeGreaterThan(1);
  });

  it('captions mention their digit only', () => {
    for (const digit of DIGITS) {
      for (const seed of [0, 1, 2024]) {
        for (const caption of captionsFor(digit, seed, 4 * TEMPLATE_COUNT)) {
          expect(digitsMentioned(caption), caption).toEqual(new Set([digit]));
        }
      }
    }
  });

  it('each template mentions the digit', () => {
    const firstOption = (options: readonly string[]) => options[0];
    captionTemplates.forEach((template, templateIndex) => {
      for (const digit of DIGITS) {
        const caption = template({ digit }, firstOption);
        expect(digitsMentioned(caption), `template ${templateIndex}: ${caption}`).toEqual(new Set([digit]));
      }
    });
  });

  it('articles agree with the next word', () => {
    const captions = DIGITS.flatMap((digit) => captionsFor(digit, 3, 5 * TEMPLATE_COUNT));
    for (const caption of captions) {
      expect(caption, caption).not.toMatch(/(^| )a (8|eight|image|upright)( |$)/);
      expect(caption, caption).not.toMatch(/(^| )an (?!8|eight|image|upright)/);
    }
    expect(captions.some((caption) => /\ban (8|eight)\b/.test(caption))).toBe(true);
    expect(captions.some((caption) => /\ba (1|one)\b/.test(caption))).toBe(true);
  });

  it('captions are lowercase and trimmed', () => {
    for (const caption of DIGITS.flatMap((digit) => captionsFor(digit, 8, TEMPLATE_COUNT))) {
      expect(caption).toBe(caption.toLowerCase());
      expect(caption).toBe(caption.trim());
      expect(caption).not.toMatch(/\s{2}/);
    }
  });

  it('described template uses attributes', () => {
    const describedIndex = TEMPLATE_COUNT - 1;
    const choose = (options: readonly string[]) => options[0];
    const attributes: CaptionAttributes = { digit: 8, size: 'small', thickness: 'thick', slant: 'right', position: 'top' };
    expect(captionTemplates[describedIndex](attributes, choose)).toBe('a small, thick eight slanted to the right at the top');
    expect(captionTemplates[describedIndex]({ digit: 8, slant: 'upright' }, choose)).toBe('an upright eight');
    expect(captionTemplates[describedIndex]({ digit: 8 }, choose)).toBe('a neat eight');

    const index = Array.from({ length: TEMPLATE_COUNT }, (_, i) => i).find(
      (i) => sampleCaption(4, 6, i).templateIndex === describedIndex,
    )!;
    expect(captionFor(4, 6, index, { thickness: 'thin', position: 'center' })).toBe('a thin four in the middle');
  });

  it('corpus has perImage captions per label', () => {
    const labels = Uint8Array.from([7, 2, 1, 0, 4]);
    const corpus = captionCorpus(labels, 31, 3);
    expect(corpus).toHaveLength(15);
    labels.forEach((label, image) => {
      const captions = corpus.slice(3 * image, 3 * image + 3);
      expect(captions).toEqual(captionsFor(label, deriveSeed(31, image), 3));
      for (const caption of captions) expect(digitsMentioned(caption)).toEqual(new Set([label]));
    });
  });

  it('corpus covers every template', () => {
    const labels = Array.from({ length: 200 }, (_, i) => i % 10);
    const corpus = new Set(captionCorpus(labels, 4, 2));
    const used = new Set<number>();
    labels.forEach((label, image) => {
      for (let index = 0; index < 2; index++) used.add(sampleCaption(label, deriveSeed(4, image), index).templateIndex);
    });
    expect(used.size).toBe(TEMPLATE_COUNT);
    expect(corpus.size).toBeGreaterThan(100);
  });

  it('rejects invalid labels and counts', () => {
    expect(() => captionFor(10, 1, 0)).toThrow(/label must be an integer digit 0–9, got 10/);
    expect(() => captionFor(-1, 1, 0)).toThrow(/got -1/);
    expect(() => captionFor(2.5, 1, 0)).toThrow(/got 2.5/);
    expect(() => captionFor(2, 1, -1)).toThrow(/Caption index must be an integer/);
    expect(() => captionsFor(2, 1, 1.5)).toThrow(/Caption count must be a non-negative integer/);
    expect(() => captionCorpus([1, 2], 1, -2)).toThrow(/Captions per image must be a non-negative integer/);
    expect(() => captionCorpus([1, 12], 1, 2)).toThrow(/got 12/);
  });
});
