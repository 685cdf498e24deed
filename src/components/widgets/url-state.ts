/**
 * A widget's settings in the page URL's query string, under a per-widget prefix
 * (`dalle.prompt=…&dalle.seed=…`), and the instructor's presets and locked controls.
 *
 * Every value is checked against a schema before a widget sees it. A value that cannot be
 * used is ignored, and one outside its range is clamped. Each such case yields a note that
 * the widget shows, so a tampered or outdated link changes nothing silently and never throws.
 * Strings are returned as plain text: a widget renders them with Svelte's text escaping.
 */

/** A whole number in [min, max]; out-of-range values are clamped. */
export interface IntegerParam {
  kind: 'integer';
  min: number;
  max: number;
}

/** A finite decimal number in [min, max]; out-of-range values are clamped. */
export interface NumberParam {
  kind: 'number';
  min: number;
  max: number;
}

/** Free text of at most `maxLength` characters (Unicode code points); longer text is cut. */
export interface StringParam {
  kind: 'string';
  maxLength: number;
}

/** One of a fixed list of names. */
export interface EnumParam<Value extends string = string> {
  kind: 'enum';
  values: readonly Value[];
}

export type ParamSpec = IntegerParam | NumberParam | StringParam | EnumParam;

/** The settings of one widget that a URL or a preset may set, by name. */
export type UrlSchema = Readonly<Record<string, ParamSpec>>;

/** The value type a parameter spec accepts. */
export type ParamValue<Spec extends ParamSpec> = Spec extends EnumParam<infer Value>
  ? Value
  : Spec extends StringParam
    ? string
    : number;

/** Checked values of a schema; a key is absent when nothing usable was given for it. */
export type UrlValues<Schema extends UrlSchema> = { -readonly [Name in keyof Schema]?: ParamValue<Schema[Name]> };

export interface CheckedValues<Schema extends UrlSchema> {
  values: UrlValues<Schema>;
  /** One sentence per value that was ignored or changed, in the order the input listed them. */
  notes: string[];
}

/** Visible hint next to a control that the instructor locked. */
export const LOCKED_HINT = 'Set by the instructor';

/** Query parameter of an embed page that lists the controls to lock, separated by commas. */
export const LOCK_PARAMETER = 'lock';

/** Notes shown at most; the rest are counted in one closing note, so a flood of junk parameters stays readable. */
export const MAX_NOTES = 8;

/** Characters of an offending value quoted in a note. */
const QUOTED_VALUE_LENGTH = 40;

const INTEGER_PATTERN = /^[+-]?\d+$/;
const DECIMAL_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// ---------------------------------------------------------------------------------------------
// Checking one value

/** Quotes a raw value for a note, cut to a readable length. */
function quote(raw: string): string {
  const characters = Array.from(raw);
  const shown = characters.length > QUOTED_VALUE_LENGTH ? `${characters.slice(0, QUOTED_VALUE_LENGTH).join('')}…` : raw;
  return JSON.stringify(shown);
}

function formatRange(spec: IntegerParam | NumberParam): string {
  return `${spec.kind === 'integer' ? 'a whole number ' : 'a number '}from ${spec.min} to ${spec.max}`;
}

/** Describes the values a parameter accepts, for documentation: "a whole number from 0 to 128". */
export function describeParam(spec: ParamSpec): string {
  switch (spec.kind) {
    case 'integer':
    case 'number':
      return formatRange(spec);
    case 'string':
      return `text of at most ${spec.maxLength} characters`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
  }
}

/** Clamps a parsed number into its range and explains a change. */
function clampNumber(spec: IntegerParam | NumberParam, value: number, name: string, shown: string): { value: number; note?: string } {
  if (value < spec.min) return { value: spec.min, note: `${name} ${shown} is below ${spec.min}, so ${spec.min} is used instead.` };
  if (value > spec.max) return { value: spec.max, note: `${name} ${shown} is above ${spec.max}, so ${spec.max} is used instead.` };
  // Number('-0') is -0, which String() writes as "0" but Object.is distinguishes from 0.
  return { value: value === 0 ? 0 : value };
}

/**
 * Checks one value given as text (from a URL). `name` is how notes refer to it, e.g.
 * "Link parameter dalle.seed". Returns the value to use, if any, and a note when the value
 * was ignored or changed.
 */
export function checkText(spec: ParamSpec, raw: string, name: string): { value?: number | string; note?: string } {
  if (spec.kind === 'string') {
    const characters = Array.from(raw);
    if (characters.length <= spec.maxLength) return { value: raw };
    return {
      value: characters.slice(0, spec.maxLength).join(''),
      note: `${name} is ${characters.length} characters long, so only its first ${spec.maxLength} are used.`,
    };
  }

  const text = raw.trim();
  if (text === '') return { note: `${name} is empty, so it was ignored.` };

  if (spec.kind === 'enum') {
    if ((spec.values as readonly string[]).includes(text)) return { value: text };
    return { note: `${name} ${quote(raw)} is not one of ${spec.values.join(', ')}, so it was ignored.` };
  }

  if (!DECIMAL_PATTERN.test(text)) {
    return { note: `${name} ${quote(raw)} is not a number (expected ${formatRange(spec)}), so it was ignored.` };
  }
  if (spec.kind === 'integer' && !INTEGER_PATTERN.test(text)) {
    return { note: `${name} ${quote(raw)} is not a whole number (expected ${formatRange(spec)}), so it was ignored.` };
  }
  // Digits only, so Number() cannot return NaN here; a huge value becomes Infinity and is clamped.
  return clampNumber(spec, Number(text), name, quote(raw));
}

/**
 * Checks one value given as a JavaScript value (an instructor's preset in MDX). Accepts
 * the value's own type, text in the form a URL would carry it, and `true` or `false` for an
 * on/off setting (an enum of 'false' and 'true').
 */
export function checkValue(spec: ParamSpec, raw: unknown, name: string): { value?: number | string; note?: string } {
  if (typeof raw === 'string') return checkText(spec, raw, name);
  // An on/off setting is the enum 'false' | 'true' in a link; in MDX, `true` is the natural way to write it.
  if (typeof raw === 'boolean' && spec.kind === 'enum' && spec.values.includes(String(raw))) return { value: String(raw) };
  if (typeof raw !== 'number' || spec.kind === 'string' || spec.kind === 'enum') {
    return { note: `${name} has the wrong type (${typeof raw}; expected ${describeParam(spec)}), so it was ignored.` };
  }
  if (Number.isNaN(raw)) return { note: `${name} is NaN (expected ${formatRange(spec)}), so it was ignored.` };
  if (spec.kind === 'integer' && Number.isFinite(raw) && !Number.isInteger(raw)) {
    return { note: `${name} ${raw} is not a whole number (expected ${formatRange(spec)}), so it was ignored.` };
  }
  return clampNumber(spec, raw, name, String(raw));
}

// ---------------------------------------------------------------------------------------------
// Reading and writing a query string

/** Closes a list of notes: at most MAX_NOTES of them, then one note that counts the rest. */
export function limitNotes(notes: readonly string[]): string[] {
  if (notes.length <= MAX_NOTES) return [...notes];
  const hidden = notes.length - (MAX_NOTES - 1);
  return [...notes.slice(0, MAX_NOTES - 1), `${hidden} more link or preset values were ignored or changed.`];
}

function toParams(search: string | URLSearchParams): URLSearchParams {
  return typeof search === 'string' ? new URLSearchParams(search) : search;
}

/**
 * Reads the parameters `<prefix>.<name>` of a query string and checks each against the
 * schema. Parameters without the prefix belong to the page or to other widgets and are
 * skipped without a note. Never throws.
 */
export function readUrlState<Schema extends UrlSchema>(search: string | URLSearchParams, prefix: string, schema: Schema): CheckedValues<Schema> {
  const params = toParams(search);
  const values: Record<string, number | string> = {};
  const notes: string[] = [];
  const seen = new Map<string, number>();

  for (const [key, raw] of params) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const name = key.slice(prefix.length + 1);
    const label = `Link parameter ${key}`;

    if (!Object.hasOwn(schema, name)) {
      notes.push(`${label} is not a setting of this widget, so it was ignored. Its settings are ${Object.keys(schema).join(', ')}.`);
      continue;
    }
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    if (count > 1) {
      if (count === 2) notes.push(`${label} appears more than once; only its first value is used.`);
      continue;
    }

    const checked = checkText(schema[name], raw, label);
    if (checked.note) notes.push(checked.note);
    if (checked.value !== undefined) values[name] = checked.value;
  }

  return { values: values as UrlValues<Schema>, notes };
}

/**
 * Checks an instructor's preset against the schema. Unknown names and unusable values are
 * ignored with a note, so a typo in an MDX page shows up in the widget instead of failing.
 */
export function checkPreset<Schema extends UrlSchema>(preset: Readonly<Record<string, unknown>> | undefined, schema: Schema): CheckedValues<Schema> {
  const values: Record<string, number | string> = {};
  const notes: string[] = [];
  for (const [name, raw] of Object.entries(preset ?? {})) {
    if (raw === undefined) continue;
    const label = `Preset value ${name}`;
    if (!Object.hasOwn(schema, name)) {
      notes.push(`${label} is not a setting of this widget, so it was ignored. Its settings are ${Object.keys(schema).join(', ')}.`);
      continue;
    }
    const checked = checkValue(schema[name], raw, label);
    if (checked.note) notes.push(checked.note);
    if (checked.value !== undefined) values[name] = checked.value;
  }
  return { values: values as UrlValues<Schema>, notes };
}

/**
 * Returns `search` with this widget's parameters replaced by `values`, in schema order.
 * Other parameters keep their values and order. The result has no leading "?".
 */
export function writeUrlState<Schema extends UrlSchema>(search: string | URLSearchParams, prefix: string, schema: Schema, values: UrlValues<Schema>): string {
  const kept = [...toParams(search)].filter(([key]) => !key.startsWith(`${prefix}.`));
  const params = new URLSearchParams(kept);
  for (const name of Object.keys(schema)) {
    // A cleared number field binds null, and a half-typed one can be NaN: neither belongs in a link.
    const value: unknown = values[name];
    if (value === undefined || value === null || (typeof value === 'number' && !Number.isFinite(value))) continue;
    params.append(`${prefix}.${name}`, String(value));
  }
  return params.toString();
}

// ---------------------------------------------------------------------------------------------
// Locked controls

/**
 * Splits the `lock` parameter of an embed page ("prompt,seed") into control names.
 * Blank entries are dropped; names are checked later by `resolveLocks`.
 */
export function parseLockList(raw: string | null): string[] {
  if (raw === null) return [];
  return raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** Keeps the requested control names that the widget has, with a note for each one it lacks. */
export function resolveLocks(requested: readonly string[] | undefined, controls: readonly string[]): { locked: Set<string>; notes: string[] } {
  const locked = new Set<string>();
  const notes: string[] = [];
  for (const name of requested ?? []) {
    if (controls.includes(name)) {
      locked.add(name);
    } else {
      notes.push(`The locked control ${quote(name)} does not exist in this widget, so nothing was locked for it. Its controls are ${controls.join(', ')}.`);
    }
  }
  return { locked, notes };
}

/**
 * Returns a note for each query parameter of an embed page that nothing reads: neither the
 * widget's own (`<prefix>.…`) nor one of the page parameters in `known`.
 */
export function unclaimedParameterNotes(search: string | URLSearchParams, prefix: string, known: readonly string[]): string[] {
  const names = new Set<string>();
  for (const key of toParams(search).keys()) {
    if (!key.startsWith(`${prefix}.`) && !known.includes(key)) names.add(key);
  }
  const expected = `This page reads ${prefix}.… parameters and ${known.join(', ')}.`;
  return limitNotes([...names].map((name) => `Link parameter ${quote(name)} is not used on this page, so it was ignored. ${expected}`));
}

// ---------------------------------------------------------------------------------------------
// Starting values of a widget

export interface InitialState<Schema extends UrlSchema> extends CheckedValues<Schema> {
  /** Controls the reader cannot change. */
  locked: Set<string>;
}

/**
 * Merges the checked preset and the checked URL values of a widget, URL last. A control that
 * is locked and preset keeps the preset value, and its URL value is ignored with a note: the
 * instructor's setting on a page wins over a link. Without a preset value, a locked control
 * takes the URL's value, which is how an embed page's link sets and locks a control at once.
 */
export function mergeInitialState<Schema extends UrlSchema>(options: {
  schema: Schema;
  controls: readonly string[];
  preset?: Readonly<Record<string, unknown>>;
  locked?: readonly string[];
  /** The page's query string, or null where the widget does not read the URL. */
  search: string | null;
  prefix: string;
}): InitialState<Schema> {
  const preset = checkPreset(options.preset, options.schema);
  const locks = resolveLocks(options.locked, options.controls);
  const fromUrl = options.search === null ? { values: {}, notes: [] } : readUrlState(options.search, options.prefix, options.schema);

  const values: Record<string, unknown> = { ...preset.values };
  const notes = [...preset.notes, ...locks.notes, ...fromUrl.notes];
  for (const [name, value] of Object.entries(fromUrl.values)) {
    if (locks.locked.has(name) && Object.hasOwn(preset.values, name)) {
      notes.push(`Link parameter ${options.prefix}.${name} was ignored: the instructor set and locked this control on this page.`);
      continue;
    }
    values[name] = value;
  }
  return { values: values as UrlValues<Schema>, notes: limitNotes(notes), locked: locks.locked };
}

// ---------------------------------------------------------------------------------------------
// Browser

/**
 * Writes `values` into the current page's URL with `history.replaceState` and returns the
 * full URL. The address bar then shows a link to this state, and no history entry is added.
 */
export function replacePageUrlState<Schema extends UrlSchema>(prefix: string, schema: Schema, values: UrlValues<Schema>): string {
  const url = new URL(window.location.href);
  const query = writeUrlState(url.search, prefix, schema, values);
  url.search = query === '' ? '' : `?${query}`;
  window.history.replaceState(window.history.state, '', url);
  return url.href;
}

/**
 * Returns the starting values of a widget in the page: its preset, its locks and, unless
 * `urlPrefix` is null, the page URL's parameters under that prefix. Every lockable control is
 * a setting of `schema`. Call it in the browser only (on mount), because it reads the URL.
 */
export function readWidgetState<Schema extends UrlSchema>(
  schema: Schema,
  props: { preset?: Readonly<Record<string, unknown>>; locked?: readonly string[]; urlPrefix: string | null },
): InitialState<Schema> {
  return mergeInitialState({
    schema,
    controls: Object.keys(schema),
    preset: props.preset,
    locked: props.locked,
    search: props.urlPrefix === null ? null : window.location.search,
    prefix: props.urlPrefix ?? '',
  });
}
