/**
 * Byte-pair encoding (Sennrich, Haddow and Birch, "Neural Machine Translation of Rare Words
 * with Subword Units", ACL 2016) learned from the caption corpus, over Unicode code points,
 * not bytes.
 *
 * Text is normalised first: NFKC, lowercase, runs of whitespace collapsed to one space,
 * and no leading or trailing space. The normalised text gets one leading space, as
 * SentencePiece does with its default `add_dummy_prefix`, so a word is tokenised the same
 * way at the start of a caption and after a space. Pre-tokenisation splits it into words
 * (a letter followed by letters and combining marks), numbers (runs of digits) and single
 * punctuation characters, each keeping the space before it, if any.
 *
 * That space becomes the word-boundary marker "▁" (U+2581), the first symbol of the
 * pre-token, so "a handwritten 7" becomes "▁a", "▁handwritten", "▁7" before any merge.
 * Merges never cross pre-tokens, and no token contains a real space. A literal "▁" in the
 * text is encoded as `<unk>`, so decoding never mistakes it for a space.
 */

export const BPE_FORMAT = 'universe-of-dalle/bpe';
export const BPE_FORMAT_VERSION = 1;

/** Word-boundary marker that replaces the single space before a pre-token. */
export const BOUNDARY_MARKER = '\u2581';

export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';
export const BOS_TOKEN = '<bos>';
export const EOS_TOKEN = '<eos>';
/** Special tokens, in id order: `<pad>` must be 0 so zero-filled id tensors are padding. */
export const SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN] as const;
export const PAD_ID = 0;
export const UNK_ID = 1;
export const BOS_ID = 2;
export const EOS_ID = 3;

/** Text that `decode` writes for each `<unk>` id: the Unicode replacement character. */
export const UNKNOWN_CHARACTER_TEXT = '\ufffd';

/** Maximum number of pre-tokens kept in the per-word encoding cache before it is cleared. */
const WORD_CACHE_LIMIT = 50_000;

/** Words, numbers and single punctuation characters, each with its preceding space, if any. */
const PRE_TOKEN_PATTERN = / ?(?:\p{L}[\p{L}\p{M}]*|\p{N}+|[^\s\p{L}\p{N}])/gu;
/** Pre-tokens that count as words for `EncodeResult.unknownWords` (no punctuation). */
const WORD_PATTERN = /^[\p{L}\p{N}]/u;

/** Normalises text for encoding: NFKC, lowercase, single spaces, trimmed. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Splits normalised text into pre-tokens. A leading space marks a word boundary. */
export function preTokenize(normalized: string): string[] {
  if (normalized.length === 0) return [];
  return (' ' + normalized).match(PRE_TOKEN_PATTERN) ?? [];
}

/** Splits a pre-token into its initial symbols: the boundary marker, then code points. */
function initialSymbols(preToken: string): string[] {
  const symbols: string[] = [];
  let rest = preToken;
  if (rest.startsWith(' ')) {
    symbols.push(BOUNDARY_MARKER);
    rest = rest.slice(1);
  }
  for (const character of rest) symbols.push(character);
  return symbols;
}

/** Returns the pre-token without its boundary space. */
function wordOf(preToken: string): string {
  return preToken.startsWith(' ') ? preToken.slice(1) : preToken;
}

/** Key of a symbol pair in maps. Safe because no symbol contains a space. */
function pairKey(left: string, right: string): string {
  return `${left} ${right}`;
}

export interface BpeTrainOptions {
  /** Maximum vocabulary size, special tokens included. */
  vocabSize: number;
  /** Training stops when the most frequent pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
}

export interface EncodeOptions {
  /**
   * Length of the returned ids. Longer encodings are truncated (keeping `<eos>` last when
   * `eos` is on) and shorter ones are padded with `<pad>`. Without it, nothing is truncated
   * or padded.
   */
  maxLength?: number;
  /** Prepend `<bos>`. Default true. */
  bos?: boolean;
  /** Append `<eos>`. Default true. */
  eos?: boolean;
}

export interface EncodeResult {
  ids: number[];
  /** Whether tokens of the text were dropped to fit `maxLength`. */
  truncated: boolean;
  /**
   * Distinct characters outside the learned alphabet, in order of first appearance. Each
   * occurrence is encoded as `<unk>`. Computed on the whole text, truncated part included.
   */
  unknown: string[];
  /**
   * Distinct words and numbers that never occur in the training corpus, in order of first
   * appearance. Those made of known characters are still encoded from subword tokens, but
   * the models have never seen them. Computed on the whole text, truncated part included.
   */
  unknownWords: string[];
}

/** The serialised tokenizer, shipped next to a checkpoint. */
export interface BpeJson {
  format: typeof BPE_FORMAT;
  formatVersion: number;
  /** Token strings indexed by id. Ids 0–3 are the special tokens. */
  vocab: string[];
  /** Merges in the order they were learned, which is also their priority when encoding. */
  merges: [string, string][];
  /** Sorted distinct words and numbers of the training corpus, for `unknownWords`. */
  corpusWords: string[];
}

export class TokenizerFormatError extends Error {
  override name = 'TokenizerFormatError';
}

interface WordEncoding {
  ids: number[];
  unknownCharacters: string[];
}

export class BpeTokenizer {
  private readonly tokenToIdMap = new Map<string, number>();
  /** Merge priority by `pairKey`. Lower ranks merge first. */
  private readonly mergeRanks = new Map<string, number>();
  private readonly alphabet = new Set<string>();
  private readonly corpusWordSet: Set<string>;
  private readonly wordCache = new Map<string, WordEncoding>();

  private constructor(
    readonly vocab: readonly string[],
    readonly merges: readonly (readonly [string, string])[],
    readonly corpusWords: readonly string[],
  ) {
    vocab.forEach((token, id) => this.tokenToIdMap.set(token, id));
    merges.forEach(([left, right], rank) => this.mergeRanks.set(pairKey(left, right), rank));

    // Base symbols are single code points, and merged tokens always have two or more.
    for (const token of vocab.slice(SPECIAL_TOKENS.length)) {
      if (token !== BOUNDARY_MARKER && [...token].length === 1) this.alphabet.add(token);
    }
    this.corpusWordSet = new Set(corpusWords);
  }

  /**
   * Learns a vocabulary from `corpus`. Each step merges the most frequent adjacent pair of
   * symbols within pre-tokens, weighted by pre-token frequency. Ties go to the pair whose
   * left symbol, then right symbol, comes first in UTF-16 code unit order, so the result does
   * not depend on the order of the corpus. Training stops at `vocabSize` tokens, when the
   * best pair is rarer than `minFrequency`, or when every pre-token is one token.
   */
  static train(corpus: Iterable<string>, options: BpeTrainOptions): BpeTokenizer {
    const minFrequency = options.minFrequency ?? 2;
    if (!Number.isInteger(minFrequency) || minFrequency < 1) {
      throw new Error(`BPE minFrequency must be a positive integer, got ${minFrequency}.`);
    }

    const preTokenCounts = countPreTokens(corpus);
    const words = [...preTokenCounts.keys()].map((preToken) => initialSymbols(preToken));
    const counts = [...preTokenCounts.values()];

    const vocab = baseVocab(words, options.vocabSize);
    const known = new Set(vocab);
    const merges: [string, string][] = [];

    while (vocab.length < options.vocabSize) {
      const best = mostFrequentPair(words, counts);
      if (best === undefined || best.count < minFrequency) break;

      merges.push([best.left, best.right]);
      const merged = best.left + best.right;
      for (let i = 0; i < words.length; i++) words[i] = applyMerge(words[i], best.left, best.right, merged);
      // Two merges can produce the same string ("a"+"bc" and "ab"+"c"), which keeps its first id.
      if (!known.has(merged)) {
        known.add(merged);
        vocab.push(merged);
      }
    }

    const corpusWords = [...new Set([...preTokenCounts.keys()].map(wordOf))].filter((word) => WORD_PATTERN.test(word));
    return new BpeTokenizer(vocab, merges, corpusWords.sort());
  }

  /** Rebuilds a tokenizer from `toJSON()` output (an object or its JSON text), validating it. */
  static fromJSON(json: unknown): BpeTokenizer {
    const data = validateBpeJson(json);
    return new BpeTokenizer(data.vocab, data.merges, data.corpusWords);
  }

  toJSON(): BpeJson {
    return {
      format: BPE_FORMAT,
      formatVersion: BPE_FORMAT_VERSION,
      vocab: [...this.vocab],
      merges: this.merges.map(([left, right]) => [left, right]),
      corpusWords: [...this.corpusWords],
    };
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Returns the id of a token string, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  /** Returns the token string of an id, for token grids. Throws on an id outside the vocabulary. */
  idToToken(id: number): string {
    const token = this.vocab[id];
    if (token === undefined) {
      throw new RangeError(`Token id ${id} is outside the vocabulary of ${this.vocab.length} tokens.`);
    }
    return token;
  }

  /** Encodes text into token ids, with `<bos>` and `<eos>` by default (see `EncodeOptions`). */
  encode(text: string, options: EncodeOptions = {}): EncodeResult {
    const { maxLength, bos = true, eos = true } = options;
    const specialCount = (bos ? 1 : 0) + (eos ? 1 : 0);
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < Math.max(specialCount, 1))) {
      throw new RangeError(
        `maxLength must be an integer of at least ${Math.max(specialCount, 1)} to hold the requested special tokens, got ${maxLength}.`,
      );
    }

    const content: number[] = [];
    const unknown = new Set<string>();
    const unknownWords = new Set<string>();
    for (const preToken of preTokenize(normalizeText(text))) {
      const encoding = this.encodePreToken(preToken);
      content.push(...encoding.ids);
      for (const character of encoding.unknownCharacters) unknown.add(character);

      const word = wordOf(preToken);
      if (WORD_PATTERN.test(word) && !this.corpusWordSet.has(word)) unknownWords.add(word);
    }

    const room = maxLength === undefined ? content.length : maxLength - specialCount;
    const truncated = content.length > room;
    const ids = [...(bos ? [BOS_ID] : []), ...content.slice(0, room), ...(eos ? [EOS_ID] : [])];
    if (maxLength !== undefined) while (ids.length < maxLength) ids.push(PAD_ID);

    return { ids, truncated, unknown: [...unknown], unknownWords: [...unknownWords] };
  }

  /**
   * Returns the text of `ids`. `<pad>`, `<bos>` and `<eos>` are dropped and `<unk>` becomes
   * U+FFFD. For text whose characters are all in the alphabet,
   * `decode(encode(text).ids) === normalizeText(text)` unless the encoding was truncated.
   */
  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === PAD_ID || id === BOS_ID || id === EOS_ID) continue;
      text += id === UNK_ID ? UNKNOWN_CHARACTER_TEXT : this.idToToken(id);
    }
    text = text.replaceAll(BOUNDARY_MARKER, ' ');
    // The dummy prefix space that `preTokenize` added to the first word.
    return text.startsWith(' ') ? text.slice(1) : text;
  }

  /** Encodes one pre-token, caching the result because captions repeat the same few words. */
  private encodePreToken(preToken: string): WordEncoding {
    const cached = this.wordCache.get(preToken);
    if (cached) return cached;

    // Characters outside the alphabet become `<unk>` and split the pre-token into segments,
    // so no merge reaches across them. The literal marker character counts as unknown.
    const ids: number[] = [];
    const unknownCharacters: string[] = [];
    let segment: string[] = [];
    const flush = (): void => {
      for (const token of this.applyMerges(segment)) ids.push(this.tokenToIdMap.get(token)!);
      segment = [];
    };
    initialSymbols(preToken).forEach((symbol, position) => {
      const isMarker = position === 0 && symbol === BOUNDARY_MARKER && preToken.startsWith(' ');
      if (isMarker || this.alphabet.has(symbol)) {
        segment.push(symbol);
        return;
      }
      flush();
      ids.push(UNK_ID);
      unknownCharacters.push(symbol);
    });
    flush();

    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    const encoding = { ids, unknownCharacters };
    this.wordCache.set(preToken, encoding);
    return encoding;
  }

  /** Applies merges by rank, lowest first, the order they were learned in. */
  private applyMerges(symbols: string[]): string[] {
    let tokens = symbols;
    while (tokens.length > 1) {
      let bestRank = Infinity;
      let bestPair: [string, string] | undefined;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const rank = this.mergeRanks.get(pairKey(tokens[i], tokens[i + 1]));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestPair = [tokens[i], tokens[i + 1]];
        }
      }
      if (bestPair === undefined) break;
      tokens = applyMerge(tokens, bestPair[0], bestPair[1], bestPair[0] + bestPair[1]);
    }
    return tokens;
  }
}

/** Counts normalised pre-tokens over the corpus. */
function countPreTokens(corpus: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const preToken of preTokenize(normalizeText(text))) {
      counts.set(preToken, (counts.get(preToken) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Returns the starting vocabulary: the special tokens, the boundary marker, then every
 * character of the corpus in code point order. Throws when `vocabSize` cannot hold it.
 */
function baseVocab(words: string[][], vocabSize: number): string[] {
  const characters = new Set<string>();
  for (const symbols of words) for (const symbol of symbols) if (symbol !== BOUNDARY_MARKER) characters.add(symbol);
  const alphabet = [...characters].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = [...SPECIAL_TOKENS, BOUNDARY_MARKER, ...alphabet];

  if (!Number.isInteger(vocabSize) || vocabSize < vocab.length) {
    throw new RangeError(
      `BPE vocabSize ${vocabSize} cannot hold the ${SPECIAL_TOKENS.length} special tokens, the boundary marker ` +
        `and the ${alphabet.length} characters of the corpus: use at least ${vocab.length}.`,
    );
  }
  return vocab;
}

/** Returns the most frequent adjacent pair, ties broken by (left, right) in code unit order. */
function mostFrequentPair(words: string[][], counts: number[]): { left: string; right: string; count: number } | undefined {
  const pairCounts = new Map<string, { left: string; right: string; count: number }>();
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      const entry = pairCounts.get(key);
      if (entry) entry.count += counts[w];
      else pairCounts.set(key, { left: symbols[i], right: symbols[i + 1], count: counts[w] });
    }
  });

  let best: { left: string; right: string; count: number } | undefined;
  for (const entry of pairCounts.values()) {
    const better =
      best === undefined ||
      entry.count > best.count ||
      (entry.count === best.count &&
        (entry.left < best.left || (entry.left === best.left && entry.right < best.right)));
    if (better) best = entry;
  }
  return best;
}

/** Replaces every non-overlapping occurrence of (left, right), scanning left to right. */
function applyMerge(symbols: string[], left: string, right: string, merged: string): string[] {
  const result: string[] = [];
  let i = 0;
  while (i < symbols.length) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      result.push(merged);
      i += 2;
    } else {
      result.push(symbols[i]);
      i += 1;
    }
  }
  return result;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Checks `json` against the format and returns it typed, or throws `TokenizerFormatError`. */
function validateBpeJson(json: unknown): BpeJson {
  const fail = (problem: string): never => {
    throw new TokenizerFormatError(`Invalid BPE vocabulary: ${problem}. Re-export it with BpeTokenizer.toJSON().`);
  };

  let data = json;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch (error) {
      fail(`the text is not JSON (${(error as Error).message})`);
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('expected a JSON object');
  const record = data as Record<string, unknown>;

  if (record.format !== BPE_FORMAT) fail(`format is ${JSON.stringify(record.format)}, expected "${BPE_FORMAT}"`);
  if (record.formatVersion !== BPE_FORMAT_VERSION) {
    fail(`formatVersion ${JSON.stringify(record.formatVersion)} is not supported, this code reads version ${BPE_FORMAT_VERSION}`);
  }

  const { vocab, merges, corpusWords } = record;
  if (!isStringArray(vocab)) fail('vocab must be an array of strings');
  const vocabList = vocab as string[];
  SPECIAL_TOKENS.forEach((token, id) => {
    if (vocabList[id] !== token) fail(`vocab[${id}] is ${JSON.stringify(vocabList[id])}, expected "${token}"`);
  });
  if (!vocabList.includes(BOUNDARY_MARKER)) fail(`vocab lacks the boundary marker "${BOUNDARY_MARKER}"`);
  const ids = new Map<string, number>();
  vocabList.forEach((token, id) => {
    if (token.length === 0) fail(`vocab[${id}] is empty`);
    if (/\s/.test(token)) fail(`vocab[${id}] ${JSON.stringify(token)} contains whitespace`);
    if (ids.has(token)) fail(`token ${JSON.stringify(token)} appears at ids ${ids.get(token)} and ${id}`);
    ids.set(token, id);
  });

  if (!Array.isArray(merges)) fail('merges must be an array of [left, right] pairs');
  (merges as unknown[]).forEach((merge, rank) => {
    if (!isStringArray(merge) || merge.length !== 2) fail(`merges[${rank}] is not a [left, right] pair of strings`);
    const [left, right] = merge as [string, string];
    for (const part of [left, right, left + right]) {
      if (!ids.has(part)) fail(`merges[${rank}] uses or makes ${JSON.stringify(part)}, which is not in vocab`);
    }
  });

  if (!isStringArray(corpusWords)) fail('corpusWords must be an array of strings');

  return record as unknown as BpeJson;
}
