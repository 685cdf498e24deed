/**
 * Metrics over plain arrays, so they run the same on any backend and load without
 * TensorFlow.js in the page bundle (the trainer widget imports `codebookUsage`).
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

/**
 * Code-usage counts of token grids and the perplexity exp(H) of their distribution: K when
 * every code of a K-code codebook is used equally, 1 when one code is used everywhere.
 * Codes outside [0, codebookSize) are not counted.
 */
export function codebookUsage(tokens: ArrayLike<number>, codebookSize: number): { counts: Int32Array; perplexity: number; codesUsed: number } {
  const counts = new Int32Array(codebookSize);
  let total = 0;
  for (let i = 0; i < tokens.length; i++) {
    const code = tokens[i];
    if (code >= 0 && code < codebookSize) {
      counts[code] += 1;
      total += 1;
    }
  }

  let entropy = 0;
  let codesUsed = 0;
  for (const count of counts) {
    if (count === 0) continue;
    codesUsed += 1;
    const probability = count / total;
    entropy -= probability * Math.log(probability);
  }
  return { counts, perplexity: Math.exp(entropy), codesUsed };
}
