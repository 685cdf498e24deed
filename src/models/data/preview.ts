/**
 * The fixed test digits and captions that training previews show, shared by the worker
 * (which draws them during training) and the widgets (which draw the same pairs for loaded
 * weights). Plain arrays only, so pages import it without TensorFlow.js.
 */
import { captionFor } from './captions';
import { deriveSeed } from './rng';

/** Seed of the preview captions, fixed so reports compare like with like across steps. */
export const PREVIEW_CAPTION_SEED = 7;

/**
 * Returns indices into `labels` of the first digit of each class 0, 1, …, 9, then the
 * second of each, until `count` are picked or no class has another digit.
 */
export function onePerDigit(labels: ArrayLike<number>, count: number): number[] {
  const byDigit: number[][] = Array.from({ length: 10 }, () => []);
  const perDigit = Math.ceil(count / 10);
  for (let i = 0; i < labels.length && byDigit.some((list) => list.length < perDigit); i++) {
    const list = byDigit[labels[i]];
    if (list && list.length < perDigit) list.push(i);
  }
  const picked: number[] = [];
  for (let round = 0; picked.length < count && round < perDigit; round++) {
    for (let digit = 0; digit < 10 && picked.length < count; digit++) {
      if (byDigit[digit][round] !== undefined) picked.push(byDigit[digit][round]);
    }
  }
  return picked;
}

/** Returns the preview caption of each preview digit: row `i` gets caption index `i` of its label. */
export function previewCaptions(labels: ArrayLike<number>): string[] {
  return Array.from(labels, (label, i) => captionFor(label, deriveSeed(PREVIEW_CAPTION_SEED, i), i));
}
