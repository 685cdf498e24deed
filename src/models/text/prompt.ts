/**
 * Prompt reading for the caption models: the input ids, the tokens as text, the words the
 * synthetic captions never use, the digit the prompt names, and whether anything was cut.
 * Pure and DOM-free, so the worker runs it and the page displays the result.
 */
import { DIGIT_WORDS } from '../data/captions';
import { BOUNDARY_MARKER, BOS_ID, EOS_ID, normalizeText, PAD_ID, preTokenize, UNK_ID, type BpeTokenizer } from './bpe';
import { MAX_PROMPT_CHARACTERS, type PromptReading, type PromptToken } from '../runtime/protocol';

const SPECIAL_TEXT: Record<number, string> = { [BOS_ID]: '<bos>', [EOS_ID]: '<eos>', [UNK_ID]: '<unk>' };

/** Words and numbers, without punctuation, as the tokenizer's pre-tokenizer splits them. */
const WORD = /^[\p{L}\p{N}]/u;

/**
 * Reads `text` as a caption model with `tokenizer` and `maxLength` ids would. The text is
 * first cut to `MAX_PROMPT_CHARACTERS` code points (`clipped`); the ids are then cut to
 * `maxLength` with `<eos>` kept last (`truncated`).
 */
export function readPrompt(tokenizer: BpeTokenizer, text: string, maxLength: number): PromptReading {
  const input = typeof text === 'string' ? text : String(text ?? '');
  const characters = Array.from(input);
  const clipped = characters.length > MAX_PROMPT_CHARACTERS;
  const read = clipped ? characters.slice(0, MAX_PROMPT_CHARACTERS).join('') : input;
  const normalized = normalizeText(read);

  const full = tokenizer.encode(read); // unpadded, to count what does not fit
  const encoding = tokenizer.encode(read, { maxLength });
  const ids = Int32Array.from(encoding.ids);
  const tokens: PromptToken[] = [];
  for (const id of ids) {
    if (id === PAD_ID) break;
    tokens.push({ id, text: SPECIAL_TEXT[id] ?? tokenizer.idToToken(id).replaceAll(BOUNDARY_MARKER, ' '), unknown: id === UNK_ID });
  }

  const vocabulary = new Set(tokenizer.corpusWords);
  const words = preTokenize(normalized)
    .map((preToken) => preToken.trimStart())
    .filter((word) => WORD.test(word))
    .map((word) => ({ text: word, known: vocabulary.has(word) }));
  const unknownWords = [...new Set(words.filter((word) => !word.known).map((word) => word.text))];

  return {
    text: read,
    normalized,
    ids,
    tokens,
    words,
    unknownWords,
    vocabularyWords: [...tokenizer.corpusWords].sort(),
    digit: namedDigit(words.filter((word) => word.known).map((word) => word.text)),
    truncated: encoding.truncated,
    droppedTokens: Math.max(0, full.ids.length - ids.filter((id) => id !== PAD_ID).length),
    maxLength,
    empty: normalized.length === 0,
    clipped,
  };
}

/** Returns the first digit named by a word ("seven") or a one-character numeral ("7"), or null. */
export function namedDigit(words: readonly string[]): number | null {
  for (const word of words) {
    const byWord = (DIGIT_WORDS as readonly string[]).indexOf(word);
    if (byWord >= 0) return byWord;
    if (/^[0-9]$/.test(word)) return Number(word);
  }
  return null;
}
