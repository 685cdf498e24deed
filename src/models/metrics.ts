/**
 * Metrics for `npm run evaluate`, over plain arrays so they run the same on any backend.
 */

/** Share of positions where `predicted` equals `labels`. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length || labels.length === 0) {
    throw new Error(`accuracy needs two non-empty arrays of one length, got ${predicted.length} and ${labels.length}.`);
  }
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct += 1;
  return correct / labels.length;
}

/** Streaming mean of squared differences, for reconstructions evaluated batch by batch. */
export class MeanSquaredError {
  private sum = 0;
  private count = 0;

  add(a: ArrayLike<number>, b: ArrayLike<number>): void {
    if (a.length !== b.length) throw new Error(`MSE inputs differ in length: ${a.length} and ${b.length}.`);
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - b[i];
      this.sum += d * d;
    }
    this.count += a.length;
  }

  value(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }
}
