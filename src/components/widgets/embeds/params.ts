/**
 * Shared pieces of the embed registry: parameter specs that several widgets use, and the
 * shape of a registry entry. The per-chapter lists in this folder and `../embed-registry.ts`
 * import them from here, which keeps those modules free of import cycles.
 */
import type { Component } from 'svelte';

import type { IntegerParam, UrlSchema } from '../url-state';

/** Seeds the model worker accepts: unsigned 32-bit integers. */
export const SEED: IntegerParam = { kind: 'integer', min: 0, max: 0xffffffff };

/** Digits in the MNIST test split that the digit pickers page through. */
export const TEST_SPLIT_SIZE = 10_000;

/** An MNIST test digit by the number the pickers' labels show: "Test digit 1" is the first of the split. */
export const TEST_DIGIT: IntegerParam = { kind: 'integer', min: 1, max: TEST_SPLIT_SIZE };

/**
 * Returns the 0-based index of the first test digit in the picker strip that shows the test
 * digit at `index`, counting strips of `stripSize` from `firstTestDigit` as the pickers'
 * "More digits" button does, kept inside the test split. A link's `testDigit` opens the strip
 * that contains it.
 */
export function testStripStart(index: number, firstTestDigit: number, stripSize: number): number {
  const stripStart = firstTestDigit + Math.floor((index - firstTestDigit) / stripSize) * stripSize;
  return Math.min(Math.max(0, stripStart), TEST_SPLIT_SIZE - stripSize);
}

/** The URL prefix and settings of one widget. */
export interface WidgetUrlState<Schema extends UrlSchema = UrlSchema> {
  /** Parameters are named `<prefix>.<setting>`, e.g. `dalle.seed`. */
  prefix: string;
  /** Settings a link or a preset may set; their names are also the controls a page may lock. */
  schema: Schema;
}

/** Props that every embeddable widget accepts, besides its own `preset`. */
export interface EmbeddableProps {
  /** Controls shown but disabled, with a hint; names are the widget's settings. Unknown names get a note. */
  locked?: readonly string[];
  /** Prefix of the widget's URL parameters, or null to neither read nor write the URL. */
  urlPrefix?: string | null;
}

export interface EmbedWidget {
  /** Heading of the embed page. */
  title: string;
  /** One sentence under the heading: what the widget does. */
  description: string;
  /** The chapter that explains the widget, as a path under the site's base. */
  chapterPath: string;
  chapterTitle: string;
  state: WidgetUrlState;
  load: () => Promise<{ default: Component<EmbeddableProps> }>;
}
