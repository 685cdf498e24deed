import { describe, expect, it } from 'vitest';

import {
  CLIP_ZERO_SHOT_STATE,
  DALLE_GENERATOR_STATE,
  DIFFUSION_SAMPLER_STATE,
  EMBED_WIDGETS,
  findEmbedWidget,
  TEST_SPLIT_SIZE,
  testStripStart,
} from '../../src/components/widgets/embed-registry';
import {
  checkPreset,
  limitNotes,
  MAX_NOTES,
  mergeInitialState,
  parseLockList,
  readUrlState,
  resolveLocks,
  unclaimedParameterNotes,
  writeUrlState,
  type UrlSchema,
} from '../../src/components/widgets/url-state';
import dalleCard from '../../public/models/dalle/card.json';

const SCHEMA = {
  prompt: { kind: 'string', maxLength: 20 },
  temperature: { kind: 'number', min: 0, max: 5 },
  topK: { kind: 'integer', min: 0, max: 128 },
  method: { kind: 'enum', values: ['ddpm', 'ddim'] },
} as const satisfies UrlSchema;

describe('writeUrlState and readUrlState', () => {
  it('round trip keeps every value', () => {
    const values = { prompt: 'a thick seven', temperature: 0.7, topK: 8, method: 'ddpm' as const };

    const search = writeUrlState('', 'dalle', SCHEMA, values);
    const read = readUrlState(search, 'dalle', SCHEMA);

    expect(read.values).toEqual(values);
    expect(read.notes).toEqual([]);
  });

  it('round trip keeps unicode and reserved characters', () => {
    const values = { prompt: 'a 7 & a ⑦ = ?#%+' };

    const read = readUrlState(writeUrlState('', 'dalle', SCHEMA, values), 'dalle', SCHEMA);

    expect(read.values.prompt).toBe(values.prompt);
  });

  it('writes parameters in schema order under the prefix', () => {
    const search = writeUrlState('', 'dalle', SCHEMA, { topK: 8, prompt: 'seven' });

    expect(search).toBe('dalle.prompt=seven&dalle.topK=8');
  });

  it('keeps other parameters and replaces its own', () => {
    const search = writeUrlState('?backend=wasm&dalle.topK=3&clip.digit=5&dalle.bogus=1', 'dalle', SCHEMA, { topK: 9 });

    expect(search).toBe('backend=wasm&clip.digit=5&dalle.topK=9');
  });

  it('skips missing, null and non-finite values', () => {
    const values = { topK: Number.NaN, temperature: null as unknown as number, prompt: undefined };

    expect(writeUrlState('', 'dalle', SCHEMA, values)).toBe('');
  });

  it('reads only its own prefix', () => {
    const read = readUrlState('clip.topK=3&dalle2.topK=4&topK=5&backend=cpu', 'dalle', SCHEMA);

    expect(read.values).toEqual({});
    expect(read.notes).toEqual([]);
  });
});

describe('readUrlState with bad values', () => {
  it('unknown key is ignored with a note', () => {
    const read = readUrlState('dalle.bogus=1&dalle.topK=4', 'dalle', SCHEMA);

    expect(read.values).toEqual({ topK: 4 });
    expect(read.notes).toHaveLength(1);
    expect(read.notes[0]).toContain('dalle.bogus is not a setting of this widget');
    expect(read.notes[0]).toContain('prompt, temperature, topK, method');
  });

  it('inherited object keys count as unknown', () => {
    const read = readUrlState('dalle.constructor=1&dalle.__proto__=2&dalle.toString=3', 'dalle', SCHEMA);

    expect(read.values).toEqual({});
    expect(read.notes).toHaveLength(3);
  });

  it.each([
    ['abc', 'is not a number'],
    ['12abc', 'is not a number'],
    ['0x10', 'is not a number'],
    ['NaN', 'is not a number'],
    ['Infinity', 'is not a number'],
    ['1,5', 'is not a number'],
    ['3.5', 'is not a whole number'],
    ['1e2', 'is not a whole number'],
    ['', 'is empty'],
    ['   ', 'is empty'],
  ])('malformed integer %j is ignored', (raw, reason) => {
    const read = readUrlState(new URLSearchParams([['dalle.topK', raw]]), 'dalle', SCHEMA);

    expect(read.values).toEqual({});
    expect(read.notes).toHaveLength(1);
    expect(read.notes[0]).toContain(reason);
  });

  it.each([
    ['0.5', 0.5],
    ['.5', 0.5],
    ['+2', 2],
    ['2.', 2],
    ['1e-1', 0.1],
    [' 3 ', 3],
  ])('decimal %j is read as %d', (raw, expected) => {
    const read = readUrlState(new URLSearchParams([['dalle.temperature', raw]]), 'dalle', SCHEMA);

    expect(read.values.temperature).toBe(expected);
    expect(read.notes).toEqual([]);
  });

  it('above the maximum is clamped with a note', () => {
    const read = readUrlState('dalle.topK=99999', 'dalle', SCHEMA);

    expect(read.values.topK).toBe(128);
    expect(read.notes).toEqual(['Link parameter dalle.topK "99999" is above 128, so 128 is used instead.']);
  });

  it('below the minimum is clamped with a note', () => {
    const read = readUrlState('dalle.temperature=-2.5', 'dalle', SCHEMA);

    expect(read.values.temperature).toBe(0);
    expect(read.notes[0]).toContain('is below 0, so 0 is used instead');
  });

  it('huge number is clamped, not Infinity', () => {
    const read = readUrlState(`dalle.topK=${'9'.repeat(400)}`, 'dalle', SCHEMA);

    expect(read.values.topK).toBe(128);
    expect(read.notes[0]).toContain('…');
  });

  it('negative zero reads as zero', () => {
    const read = readUrlState('dalle.topK=-0', 'dalle', SCHEMA);

    expect(Object.is(read.values.topK, 0)).toBe(true);
  });

  it('unknown enum value is ignored', () => {
    const read = readUrlState('dalle.method=DDIM', 'dalle', SCHEMA);

    expect(read.values).toEqual({});
    expect(read.notes[0]).toContain('is not one of ddpm, ddim');
  });

  it('over-long string is cut to its maximum', () => {
    const read = readUrlState(`dalle.prompt=${'seven '.repeat(10)}`, 'dalle', SCHEMA);

    expect(read.values.prompt).toBe('seven seven seven se');
    expect(read.notes[0]).toBe('Link parameter dalle.prompt is 60 characters long, so only its first 20 are used.');
  });

  it('cutting a string keeps whole code points', () => {
    const faces = '😀'.repeat(25);

    const read = readUrlState(new URLSearchParams([['dalle.prompt', faces]]), 'dalle', SCHEMA);

    expect(read.values.prompt).toBe('😀'.repeat(20));
    expect(read.values.prompt!.isWellFormed()).toBe(true);
  });

  it('HTML in a string is kept as text', () => {
    const markup = '<img src=x onerror=1>';

    const read = readUrlState(new URLSearchParams([['dalle.prompt', markup.slice(0, 20)]]), 'dalle', SCHEMA);

    expect(read.values.prompt).toBe(markup.slice(0, 20));
    expect(read.notes).toEqual([]);
  });

  it('quoted values in notes are JSON strings', () => {
    const read = readUrlState(new URLSearchParams([['dalle.topK', '<b>"x"</b>']]), 'dalle', SCHEMA);

    expect(read.notes[0]).toContain(JSON.stringify('<b>"x"</b>'));
  });

  it('repeated key uses the first value', () => {
    const read = readUrlState('dalle.topK=4&dalle.topK=7&dalle.topK=9', 'dalle', SCHEMA);

    expect(read.values.topK).toBe(4);
    expect(read.notes).toHaveLength(1);
    expect(read.notes[0]).toContain('appears more than once');
  });

  it('malformed percent-encoding does not throw', () => {
    expect(() => readUrlState('dalle.prompt=%E0%A4%A&dalle.topK=%', 'dalle', SCHEMA)).not.toThrow();
  });

  it('tampered DALL·E link keeps what is usable', () => {
    const read = readUrlState('?dalle.seed=abc&dalle.topK=99999&bogus=1', 'dalle', DALLE_GENERATOR_STATE.schema);

    expect(read.values).toEqual({ topK: dalleCard.config.imageVocabSize });
    expect(read.notes).toHaveLength(2);
    expect(read.notes[0]).toContain('dalle.seed "abc" is not a number');
    expect(read.notes[1]).toContain(`so ${dalleCard.config.imageVocabSize} is used instead`);
  });
});

describe('checkPreset', () => {
  it('accepts typed values', () => {
    const checked = checkPreset({ prompt: 'seven', topK: 4, temperature: 0.5, method: 'ddim' }, SCHEMA);

    expect(checked.values).toEqual({ prompt: 'seven', topK: 4, temperature: 0.5, method: 'ddim' });
    expect(checked.notes).toEqual([]);
  });

  it('accepts numbers written as text', () => {
    expect(checkPreset({ topK: '4' }, SCHEMA).values).toEqual({ topK: 4 });
  });

  it('notes wrong types, fractions and unknown names', () => {
    const checked = checkPreset({ topK: 2.5, prompt: 7, method: true, seeed: 1, temperature: Number.NaN }, SCHEMA);

    expect(checked.values).toEqual({});
    expect(checked.notes).toHaveLength(5);
    expect(checked.notes[0]).toContain('Preset value topK 2.5 is not a whole number');
    expect(checked.notes[1]).toContain('Preset value prompt has the wrong type (number; expected text of at most 20 characters)');
    expect(checked.notes[2]).toContain('Preset value method has the wrong type');
    expect(checked.notes[3]).toContain('Preset value seeed is not a setting of this widget');
    expect(checked.notes[4]).toContain('Preset value temperature is NaN');
  });

  it('clamps out-of-range numbers', () => {
    const checked = checkPreset({ topK: 1000, temperature: Number.POSITIVE_INFINITY }, SCHEMA);

    expect(checked.values).toEqual({ topK: 128, temperature: 5 });
    expect(checked.notes).toHaveLength(2);
  });

  it('takes true and false for an on/off setting only', () => {
    const schema = { rerank: { kind: 'enum', values: ['false', 'true'] }, method: SCHEMA.method } as const satisfies UrlSchema;

    expect(checkPreset({ rerank: true }, schema)).toEqual({ values: { rerank: 'true' }, notes: [] });
    expect(checkPreset({ rerank: false }, schema).values).toEqual({ rerank: 'false' });
    const checked = checkPreset({ method: false }, schema);
    expect(checked.values).toEqual({});
    expect(checked.notes[0]).toContain('Preset value method has the wrong type (boolean');
  });

  it('missing preset gives nothing', () => {
    expect(checkPreset(undefined, SCHEMA)).toEqual({ values: {}, notes: [] });
  });
});

describe('locks', () => {
  it('parses a comma list', () => {
    expect(parseLockList(' prompt, seed,,topK ')).toEqual(['prompt', 'seed', 'topK']);
    expect(parseLockList(null)).toEqual([]);
    expect(parseLockList('')).toEqual([]);
  });

  it('keeps known controls and notes the rest', () => {
    const { locked, notes } = resolveLocks(['prompt', 'Seed', 'toString'], Object.keys(SCHEMA));

    expect([...locked]).toEqual(['prompt']);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain('"Seed" does not exist in this widget');
  });
});

describe('mergeInitialState', () => {
  const base = { schema: SCHEMA, controls: Object.keys(SCHEMA), prefix: 'dalle' };

  it('link values override the preset', () => {
    const state = mergeInitialState({ ...base, preset: { topK: 4, prompt: 'one' }, search: 'dalle.topK=9' });

    expect(state.values).toEqual({ topK: 9, prompt: 'one' });
    expect(state.notes).toEqual([]);
  });

  it('locked preset wins over the link', () => {
    const state = mergeInitialState({ ...base, preset: { topK: 4 }, locked: ['topK'], search: 'dalle.topK=9' });

    expect(state.values).toEqual({ topK: 4 });
    expect([...state.locked]).toEqual(['topK']);
    expect(state.notes).toEqual(['Link parameter dalle.topK was ignored: the instructor set and locked this control on this page.']);
  });

  it('link sets a locked control without a preset', () => {
    const state = mergeInitialState({ ...base, locked: ['prompt'], search: 'dalle.prompt=a+thick+seven' });

    expect(state.values).toEqual({ prompt: 'a thick seven' });
    expect(state.notes).toEqual([]);
  });

  it('null search reads no link', () => {
    const state = mergeInitialState({ ...base, search: null });

    expect(state.values).toEqual({});
  });

  it('caps the number of notes', () => {
    const junk = Array.from({ length: 50 }, (_, index) => `dalle.junk${index}=1`).join('&');

    const state = mergeInitialState({ ...base, search: junk });

    expect(state.notes).toHaveLength(MAX_NOTES);
    expect(state.notes.at(-1)).toBe(`${50 - (MAX_NOTES - 1)} more link or preset values were ignored or changed.`);
  });
});

describe('limitNotes', () => {
  it('keeps short lists unchanged', () => {
    expect(limitNotes(['a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('unclaimedParameterNotes', () => {
  it('notes each parameter nothing reads once', () => {
    const notes = unclaimedParameterNotes('?dalle.seed=abc&bogus=1&lock=seed&backend=wasm&clip.digit=3&bogus=2', 'dalle', ['lock', 'backend']);

    expect(notes).toHaveLength(2);
    expect(notes[0]).toBe('Link parameter "bogus" is not used on this page, so it was ignored. This page reads dalle.… parameters and lock, backend.');
    expect(notes[1]).toContain('"clip.digit"');
  });

  it('caps the number of notes', () => {
    const junk = Array.from({ length: 30 }, (_, index) => `junk${index}=1`).join('&');

    expect(unclaimedParameterNotes(junk, 'dalle', ['lock'])).toHaveLength(MAX_NOTES);
  });
});

describe('embed registry', () => {
  it('finds registered widgets only', () => {
    expect(findEmbedWidget('dalle-generator')?.state).toBe(DALLE_GENERATOR_STATE);
    expect(findEmbedWidget('no-such-widget')).toBeUndefined();
    expect(findEmbedWidget('toString')).toBeUndefined();
  });

  it('uses distinct prefixes', () => {
    const prefixes = Object.values(EMBED_WIDGETS).map((entry) => entry.state.prefix);

    expect(new Set(prefixes).size).toBe(prefixes.length);
  });

  it('bounds follow the shipped model cards', () => {
    expect(DALLE_GENERATOR_STATE.schema.topK.max).toBe(dalleCard.config.imageVocabSize);
    expect(DIFFUSION_SAMPLER_STATE.schema.steps.max).toBeGreaterThan(1);
    expect(CLIP_ZERO_SHOT_STATE.schema.template.values).toContain('ensemble');
  });
});

describe('testStripStart', () => {
  it.each([
    [0, 0, 12, 0],
    [11, 0, 12, 0],
    [12, 0, 12, 12],
    [37, 0, 12, 36],
    [37, 5, 12, 29],
    [3, 5, 12, 0],
    [TEST_SPLIT_SIZE - 1, 0, 12, TEST_SPLIT_SIZE - 12],
  ])('digit %d from %d in strips of %d starts at %d', (digit, first, size, expected) => {
    const start = testStripStart(digit, first, size);

    expect(start).toBe(expected);
    expect(digit - start).toBeGreaterThanOrEqual(0);
    expect(digit - start).toBeLessThan(size);
  });
});
