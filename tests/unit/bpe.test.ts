import { describe, expect, it } from 'vitest';
import { captionCorpus } from '../../src/models/data/captions';
import { Rng } from '../../src/models/data/rng';
import {
  BOS_ID,
  BOUNDARY_MARKER,
  BPE_FORMAT,
  BpeTokenizer,
  EOS_ID,
  PAD_ID,
  SPECIAL_TOKENS,
  TokenizerFormatError,
  UNK_ID,
  normalizeText,
  preTokenize,
  type BpeJson,
} from '../../src/models/text/bpe';

/** 2,000 images, 200 of each digit, 3 captions each. */
const labels = Array.from({ length: 2000 }, (_, i) => i % 10);
const corpus = captionCorpus(labels, 2024, 3);
const tokenizer = BpeTokenizer.train(corpus, { vocabSize: 160 });

describe('BPE text normalisation', () => {
  it('lowercases and collapses whitespace', () => {
    expect(normalizeText('  A\tHandwritten\n\nSEVEN  ')).toBe('a handwritten seven');
    expect(normalizeText('ＳＥＶＥＮ　７')).toBe('seven 7'); // full-width forms and ideographic space (NFKC)
  });

  it('pre-tokenises words, numbers and punctuation', () => {
    expect(preTokenize('seven (7), hand-drawn')).toEqual([' seven', ' (', '7', ')', ',', ' hand', '-', 'drawn']);
    expect(preTokenize('')).toEqual([]);
  });
});

describe('BPE tokenizer', () => {
  it('round-trips the whole corpus', () => {
    for (const caption of corpus) {
      const { ids, truncated, unknown, unknownWords } = tokenizer.encode(caption);
      expect(tokenizer.decode(ids)).toBe(caption);
      expect(ids).not.toContain(UNK_ID);
      expect(truncated).toBe(false);
      expect(unknown).toEqual([]);
      expect(unknownWords).toEqual([]);
    }
  });

  it('round-trips case and whitespace to normal form', () => {
    const text = '  The DIGIT\t7,   written  by hand ';
    expect(tokenizer.decode(tokenizer.encode(text).ids)).toBe('the digit 7, written by hand');
  });

  it('round-trips new words of known characters', () => {
    const text = 'a zebra, drawn (quickly) by 42 hands: 9-8';
    const result = tokenizer.encode(text);
    expect(result.unknown).toEqual([]);
    expect(tokenizer.decode(result.ids)).toBe(text);
  });

  it('frames ids with bos and eos', () => {
    const { ids } = tokenizer.encode('a handwritten seven');
    expect(ids[0]).toBe(BOS_ID);
    expect(ids[ids.length - 1]).toBe(EOS_ID);
    expect(ids.slice(1, -1).map((id) => tokenizer.idToToken(id))).toEqual([
      `${BOUNDARY_MARKER}a`,
      `${BOUNDARY_MARKER}handwritten`,
      `${BOUNDARY_MARKER}seven`,
    ]);
    expect(tokenizer.encode('seven', { bos: false, eos: false }).ids).toEqual([tokenizer.tokenToId(`${BOUNDARY_MARKER}seven`)]);
  });

  it('encodes empty text as bos and eos', () => {
    expect(tokenizer.encode('   ').ids).toEqual([BOS_ID, EOS_ID]);
    expect(tokenizer.decode([BOS_ID, EOS_ID])).toBe('');
  });

  it('reports unknown characters', () => {
    const result = tokenizer.encode('a ☃ seven! ☃');
    expect(result.unknown).toEqual(['☃', '!']);
    expect(result.ids.filter((id) => id === UNK_ID)).toHaveLength(3);
    expect(tokenizer.decode(result.ids)).toBe('a \ufffd seven\ufffd \ufffd');
  });

  it('treats a literal marker as unknown', () => {
    const result = tokenizer.encode(`seven ${BOUNDARY_MARKER}7`);
    expect(result.unknown).toEqual([BOUNDARY_MARKER]);
    expect(tokenizer.decode(result.ids)).toBe('seven \ufffd7');
  });

  it('keeps known characters around unknown ones', () => {
    const result = tokenizer.encode('sévén');
    expect(result.unknown).toEqual(['é']);
    expect(tokenizer.decode(result.ids)).toBe('s\ufffdv\ufffdn');
  });

  it('reports unknown words', () => {
    const result = tokenizer.encode('A handwritten ELEPHANT, number 12 and elephant again');
    expect(result.unknownWords).toEqual(['elephant', '12', 'and', 'again']);
    expect(result.unknown).toEqual([]);
    expect(result.ids).not.toContain(UNK_ID);
    expect(tokenizer.encode('the digit 7').unknownWords).toEqual([]);
  });

  it('reports truncation at maxLength', () => {
    const text = 'a picture of the number seven, written by hand in black ink';
    const full = tokenizer.encode(text).ids;
    const maxLength = 6;
    expect(full.length).toBeGreaterThan(maxLength);

    const result = tokenizer.encode(text, { maxLength });
    expect(result.truncated).toBe(true);
    expect(result.ids).toHaveLength(maxLength);
    expect(result.ids[0]).toBe(BOS_ID);
    expect(result.ids[maxLength - 1]).toBe(EOS_ID);
    expect(result.ids.slice(1, -1)).toEqual(full.slice(1, maxLength - 1));
    expect(result.ids).not.toContain(PAD_ID);
  });

  it('fits exactly without truncation', () => {
    const full = tokenizer.encode('the digit 7').ids;
    const result = tokenizer.encode('the digit 7', { maxLength: full.length });
    expect(result.truncated).toBe(false);
    expect(result.ids).toEqual(full);
  });

  it('pads to maxLength with id 0', () => {
    const result = tokenizer.encode('seven', { maxLength: 8 });
    expect(result.truncated).toBe(false);
    expect(result.ids).toHaveLength(8);
    expect(result.ids.slice(0, 3)).toEqual([BOS_ID, tokenizer.tokenToId(`${BOUNDARY_MARKER}seven`), EOS_ID]);
    expect(result.ids.slice(3)).toEqual([0, 0, 0, 0, 0]);
    expect(PAD_ID).toBe(0);
    expect(tokenizer.decode(result.ids)).toBe('seven');
  });

  it('rejects a maxLength too small', () => {
    expect(() => tokenizer.encode('seven', { maxLength: 1 })).toThrow(/maxLength must be an integer of at least 2/);
    expect(() => tokenizer.encode('seven', { maxLength: 4.5 })).toThrow(/got 4.5/);
    expect(tokenizer.encode('seven', { maxLength: 1, bos: false, eos: false }).ids).toHaveLength(1);
  });

  it('puts special tokens first', () => {
    expect(tokenizer.vocab.slice(0, 4)).toEqual(['<pad>', '<unk>', '<bos>', '<eos>']);
    expect(SPECIAL_TOKENS.map((token) => tokenizer.tokenToId(token))).toEqual([0, 1, 2, 3]);
  });

  it('fills the requested vocabSize', () => {
    expect(tokenizer.vocabSize).toBe(160);
    expect(tokenizer.toJSON().vocab).toHaveLength(160);
    expect(new Set(tokenizer.vocab).size).toBe(160);

    const small = BpeTokenizer.train(corpus, { vocabSize: 64 });
    expect(small.vocabSize).toBe(64);
    for (const caption of corpus.slice(0, 300)) expect(small.decode(small.encode(caption).ids)).toBe(caption);
  });

  it('stops when pairs run out', () => {
    const large = BpeTokenizer.train(corpus, { vocabSize: 5000 });
    expect(large.vocabSize).toBeLessThan(5000);
    // Every corpus word is then one token.
    expect(large.encode('a handwritten seven', { bos: false, eos: false }).ids).toHaveLength(3);
  });

  it('rejects a vocabSize below the alphabet', () => {
    expect(() => BpeTokenizer.train(['ab cd'], { vocabSize: 8 })).toThrow(
      /vocabSize 8 cannot hold the 4 special tokens, the boundary marker and the 4 characters of the corpus: use at least 9/,
    );
    expect(() => BpeTokenizer.train(['ab'], { vocabSize: 100, minFrequency: 0 })).toThrow(/minFrequency must be a positive integer/);
  });

  it('learns merges by frequency', () => {
    // Pairs: (a,b)×3, (▁,a)×3, (c,d)×1, (▁,c)×1. The tie at 3 goes to (a,b) because "a" < "▁".
    const learned = BpeTokenizer.train(['ab ab', 'ab cd'], { vocabSize: 100 });
    expect(learned.merges).toEqual([
      ['a', 'b'],
      [BOUNDARY_MARKER, 'ab'],
    ]);
    expect(learned.vocab.slice(4)).toEqual([BOUNDARY_MARKER, 'a', 'b', 'c', 'd', 'ab', `${BOUNDARY_MARKER}ab`]);
  });

  it('breaks ties lexicographically', () => {
    const learned = BpeTokenizer.train(['cd ab'], { vocabSize: 11, minFrequency: 1 });
    expect(learned.merges).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    const all = BpeTokenizer.train(['cd ab'], { vocabSize: 100, minFrequency: 1 });
    expect(all.merges).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      [BOUNDARY_MARKER, 'ab'],
      [BOUNDARY_MARKER, 'cd'],
    ]);
  });

  it('applies merges in learned order', () => {
    // Learned: (b,c), (▁,bc), (a,b), (▁,ab). In "abc", (b,c) outranks (a,b) although it comes later.
    const learned = BpeTokenizer.train(['bc bc bc', 'ab ab'], { vocabSize: 100 });
    expect(learned.merges).toEqual([
      ['b', 'c'],
      [BOUNDARY_MARKER, 'bc'],
      ['a', 'b'],
      [BOUNDARY_MARKER, 'ab'],
    ]);
    const { ids } = learned.encode('abc', { bos: false, eos: false });
    expect(ids.map((id) => learned.idToToken(id))).toEqual([BOUNDARY_MARKER, 'a', 'bc']);
  });

  it('learns the same vocabulary every time', () => {
    const again = BpeTokenizer.train(corpus, { vocabSize: 160 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(tokenizer));

    const shuffled = [...corpus];
    new Rng(99).shuffle(shuffled);
    expect(JSON.stringify(BpeTokenizer.train(shuffled, { vocabSize: 160 }))).toBe(JSON.stringify(tokenizer));
  });

  it('round-trips through JSON', () => {
    const text = JSON.stringify(tokenizer);
    const restored = BpeTokenizer.fromJSON(JSON.parse(text));
    expect(restored.toJSON()).toEqual(tokenizer.toJSON());
    expect(BpeTokenizer.fromJSON(text).toJSON()).toEqual(tokenizer.toJSON());
    for (const caption of corpus.slice(0, 500)) {
      expect(restored.encode(caption, { maxLength: 12 })).toEqual(tokenizer.encode(caption, { maxLength: 12 }));
    }
    expect(restored.encode('a ☃ elephant')).toEqual(tokenizer.encode('a ☃ elephant'));
  });

  describe('rejects corrupt JSON', () => {
    const good = tokenizer.toJSON();
    const swapped = [...good.vocab];
    [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
    const cases: [string, unknown, RegExp][] = [
      ['invalid JSON text', '{"format": ', /not JSON/],
      ['an array', [], /expected a JSON object/],
      ['null', null, /expected a JSON object/],
      ['another format', { ...good, format: 'gpt2' }, /format is "gpt2", expected "universe-of-dalle\/bpe"/],
      ['a newer version', { ...good, formatVersion: 2 }, /formatVersion 2 is not supported, this code reads version 1/],
      ['a missing vocab', { ...good, vocab: undefined }, /vocab must be an array of strings/],
      ['special tokens out of place', { ...good, vocab: swapped }, /vocab\[0\] is "<unk>", expected "<pad>"/],
      ['a duplicate token', { ...good, vocab: [...good.vocab, 'a'] }, /token "a" appears at ids/],
      ['a token with a space', { ...good, vocab: [...good.vocab, 'a b'] }, /contains whitespace/],
      ['no boundary marker', { ...good, vocab: good.vocab.filter((token) => token !== BOUNDARY_MARKER) }, /lacks the boundary marker/],
      ['a malformed merge', { ...good, merges: [...good.merges, ['a']] }, /merges\[\d+\] is not a \[left, right\] pair/],
      ['a merge outside vocab', { ...good, merges: [...good.merges, ['q', 'z']] }, /makes "qz", which is not in vocab/],
      ['a missing corpusWords', { ...good, corpusWords: 'seven' }, /corpusWords must be an array of strings/],
    ];
    for (const [name, json, message] of cases) {
      it(name, () => {
        expect(() => BpeTokenizer.fromJSON(json)).toThrow(TokenizerFormatError);
        expect(() => BpeTokenizer.fromJSON(json)).toThrow(message);
      });
    }
  });

  it('names the format in JSON', () => {
    const json: BpeJson = tokenizer.toJSON();
    expect(json.format).toBe(BPE_FORMAT);
    expect(json.formatVersion).toBe(1);
    expect(json.corpusWords).toContain('seven');
    expect(json.corpusWords).toContain('7');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tokenizer.decode([BOS_ID, 9999])).toThrow(/Token id 9999 is outside the vocabulary of 160 tokens/);
  });

  // The bound is the tokenizer's speed target, with room for slow CI machines.
  it('encodes 60,000 captions within 2 s', () => {
    const captions = captionCorpus(Array.from({ length: 60_000 }, (_, i) => i % 10), 7, 1);
    const fresh = BpeTokenizer.fromJSON(tokenizer.toJSON()); // empty word cache
    const start = performance.now();
    for (const caption of captions) fresh.encode(caption, { maxLength: 16 });
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
