/**
 * Colours and motion settings shared by the charts. Colours come from Starlight's CSS
 * custom properties, so every chart follows the reader's light or dark theme.
 */
import { color as parseColor, interpolateSinebow } from 'd3';

/** Series colours for SVG strokes and fills, as CSS values that follow the theme. */
export const SERIES_COLORS = [
  'var(--sl-color-blue)',
  'var(--sl-color-orange)',
  'var(--sl-color-green)',
  'var(--sl-color-purple)',
  'var(--sl-color-red)',
] as const;

export type Rgb = [number, number, number];

/**
 * Reads a Starlight colour property (e.g. `--sl-color-white`) as RGB, resolved against
 * `element` so a local theme override applies. Returns `fallback` outside a browser or
 * when the property is unset.
 */
export function readThemeRgb(element: Element | undefined, property: string, fallback: Rgb): Rgb {
  if (!element || typeof getComputedStyle !== 'function') return fallback;

  const value = getComputedStyle(element).getPropertyValue(property).trim();
  const parsed = value ? parseColor(value)?.rgb() : null;
  if (!parsed || !Number.isFinite(parsed.r)) return fallback;
  return [Math.round(parsed.r), Math.round(parsed.g), Math.round(parsed.b)];
}

/** Ink and paper colours for drawing digits: ink is the strongest text colour of the theme. */
export function readDigitColors(element: Element | undefined): { ink: Rgb; paper: Rgb } {
  return {
    ink: readThemeRgb(element, '--sl-color-white', [20, 20, 24]),
    paper: readThemeRgb(element, '--sl-color-bg', [255, 255, 255]),
  };
}

/**
 * Calls `onChange` when Starlight switches the theme (the `data-theme` attribute on
 * `<html>`) or the system colour scheme changes. Returns the function that stops watching.
 */
export function observeTheme(onChange: () => void): () => void {
  if (typeof MutationObserver === 'undefined' || typeof document === 'undefined') return () => {};

  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  const colorScheme = matchMedia('(prefers-color-scheme: dark)');
  colorScheme.addEventListener('change', onChange);

  return () => {
    observer.disconnect();
    colorScheme.removeEventListener('change', onChange);
  };
}

/** True when the reader asked the system to reduce motion; charts then skip transitions. */
export function prefersReducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

/** Milliseconds for a chart transition, 0 under reduced motion. */
export function transitionMs(duration: number): number {
  return prefersReducedMotion() ? 0 : duration;
}

const GOLDEN_RATIO_CONJUGATE = 0.618033988749895;

/**
 * Categorical colour of codebook entry `code`. Hues step by the golden ratio, so codes
 * with neighbouring ids get distant hues. With 128 codes some distant ids share similar
 * colours, which is why every cell also shows its code id as text.
 */
export function codeColor(code: number): string {
  const hue = (code * GOLDEN_RATIO_CONJUGATE) % 1;
  return interpolateSinebow(hue);
}

/** Relative luminance of an sRGB colour (WCAG 2.x definition). */
function relativeLuminance([r, g, b]: Rgb): number {
  const linear = [r, g, b].map((channel) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}

/**
 * Black or white, whichever contrasts more with `background`. The better of the two is
 * always at least 4.58:1, above WCAG's 4.5:1 for body text.
 */
export function readableTextOn(background: string): '#000000' | '#ffffff' {
  const parsed = parseColor(background)?.rgb();
  if (!parsed) return '#000000';
  const luminance = relativeLuminance([parsed.r, parsed.g, parsed.b]);
  const contrastWithBlack = (luminance + 0.05) / 0.05;
  const contrastWithWhite = 1.05 / (luminance + 0.05);
  return contrastWithBlack >= contrastWithWhite ? '#000000' : '#ffffff';
}

/** Formats a number for chart labels: 3 significant digits, no exponent for common ranges. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}
