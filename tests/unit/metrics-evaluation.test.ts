import { describe, expect, it } from 'vitest';
import { clipScore, kNearestRadiiSquared, meanPooledCosine, precisionRecall, wilsonInterval, Z_95 } from '../../src/models/metrics';
import { Rng } from '../../src/models/data/rng';

/** `count` rows of `dim` standard normal values plus `offset`, row-major. */
function gaussianRows(count: number, dim: number, rng: Rng, offset = 0): Float64Array {
  const rows = new Float64Array(count * dim);
  for (let i = 0; i < rows.length; i++) rows[i] = rng.normal() + offset;
  return rows;
}

describe('kNearestRadiiSquared', () => {
  it('returns the k-th neighbour distance on a line', () => {
    // Points 0, 1, 3, 7: nearest neighbours at 1, 1, 2, 4; second nearest at 3, 2, 3, 6.
    const points = [0, 1, 3, 7];
    expect(Array.from(kNearestRadiiSquared(points, 4, 1, 1))).toEqual([1, 1, 4, 16]);
    expect(Array.from(kNearestRadiiSquared(points, 4, 1, 2))).toEqual([9, 4, 9, 36]);
  });

  it('counts a duplicate as a neighbour at distance 0', () => {
    expect(Array.from(kNearestRadiiSquared([2, 2, 5], 3, 1, 1))).toEqual([0, 0, 9]);
  });

  it('rejects k not below the count', () => {
    expect(() => kNearestRadiiSquared([0, 1, 2], 3, 1, 3)).toThrow(/1 ≤ k < count, got k = 3 for 3 vectors/);
    expect(() => kNearestRadiiSquared([0, 1, 2], 3, 1, 0)).toThrow(/1 ≤ k < count/);
  });
});

describe('precisionRecall', () => {
  it('is 1 and 1 for a set against itself', () => {
    const rows = gaussianRows(200, 8, new Rng(1));
    expect(precisionRecall(rows, 200, rows, 200, 8)).toEqual({ precision: 1, recall: 1 });
  });

  it('is 1 and 1 for a set against a copy in another order', () => {
    const rng = new Rng(2);
    const rows = gaussianRows(100, 4, rng);
    const order = Array.from({ length: 100 }, (_, i) => i);
    rng.shuffle(order);
    const shuffled = new Float64Array(rows.length);
    order.forEach((source, target) => shuffled.set(rows.subarray(source * 4, source * 4 + 4), target * 4));
    expect(precisionRecall(rows, 100, shuffled, 100, 4)).toEqual({ precision: 1, recall: 1 });
  });

  it('is 0 and 0 for a far-away set', () => {
    const rng = new Rng(3);
    const real = gaussianRows(150, 8, rng);
    const far = gaussianRows(120, 8, rng, 1000);
    expect(precisionRecall(real, 150, far, 120, 8)).toEqual({ precision: 0, recall: 0 });
  });

  it('matches a hand-worked 1-D case', () => {
    // k = 1. Real 0, 1, 2, 3 have radius 1, so of the generated 0.5, 10, 3.9, 4.1 only 0.5
    // and 3.9 fall inside: precision 2/4. The generated radii are 3.4, 5.9, 0.2, 0.2 (0.5's
    // nearest is 3.9, 10's is 4.1), and the ball of 0.5 already covers every real point.
    const real = [0, 1, 2, 3];
    const generated = [0.5, 10, 3.9, 4.1];
    const { precision, recall } = precisionRecall(real, 4, generated, 4, 1, 1);
    expect(precision).toBe(0.5);
    expect(recall).toBe(1);
  });

  it('keeps precision but loses recall under mode collapse', () => {
    // Fifty copies of one real vector: every copy lies on the real manifold, but their balls
    // have radius 0, so they cover only the one real vector they copy.
    const real = gaussianRows(100, 6, new Rng(4));
    const collapsed = new Float64Array(50 * 6);
    for (let row = 0; row < 50; row++) collapsed.set(real.subarray(0, 6), row * 6);
    expect(precisionRecall(real, 100, collapsed, 50, 6)).toEqual({ precision: 1, recall: 1 / 100 });
  });

  it('is near 1 for two samples of one distribution', () => {
    const rng = new Rng(5);
    const { precision, recall } = precisionRecall(gaussianRows(400, 4, rng), 400, gaussianRows(400, 4, rng), 400, 4);
    expect(precision).toBeGreaterThan(0.9);
    expect(recall).toBeGreaterThan(0.9);
  });

  it('drops precision for a shifted distribution', () => {
    const rng = new Rng(6);
    const { precision } = precisionRecall(gaussianRows(400, 4, rng), 400, gaussianRows(400, 4, rng, 2), 400, 4);
    expect(precision).toBeLessThan(0.6);
  });

  it('rejects mismatched lengths and too few vectors', () => {
    expect(() => precisionRecall([0, 1, 2, 3], 2, [0, 1], 1, 2)).toThrow(/generated set\) needs count|at least|k < count/);
    expect(() => precisionRecall([0, 1, 2], 2, [0, 1, 2, 3], 2, 2)).toThrow(/real set\) expected 2 × 2 = 4 values, got 3/);
  });
});

describe('wilsonInterval', () => {
  it('contains 0.5 for 5 of 10 and matches the closed form', () => {
    // p̂ = 1/2, so the centre is 1/2 and the half-width is z/(1 + z²/n) · √(1/4n + z²/4n²).
    const { proportion, lower, upper } = wilsonInterval(5, 10);
    const n = 10;
    const z2 = Z_95 * Z_95;
    const halfWidth = (Z_95 / (1 + z2 / n)) * Math.sqrt(0.25 / n + z2 / (4 * n * n));
    expect(proportion).toBe(0.5);
    expect(lower).toBeLessThan(0.5);
    expect(upper).toBeGreaterThan(0.5);
    expect(lower).toBeCloseTo(0.5 - halfWidth, 12);
    expect(upper).toBeCloseTo(0.5 + halfWidth, 12);
    // The textbook value for 5 of 10 at 95 %: [0.2366, 0.7634].
    expect(lower).toBeCloseTo(0.2366, 4);
    expect(upper).toBeCloseTo(0.7634, 4);
  });

  it('stays in [0, 1] at 0 of n and n of n', () => {
    for (const n of [1, 2, 10, 1000]) {
      const none = wilsonInterval(0, n);
      const all = wilsonInterval(n, n);
      // Closed forms: 0 of n gives [0, z²/(n + z²)], n of n gives [n/(n + z²), 1].
      expect(none.lower).toBe(0);
      expect(none.upper).toBeCloseTo((Z_95 * Z_95) / (n + Z_95 * Z_95), 12);
      expect(all.upper).toBe(1);
      expect(all.lower).toBeCloseTo(n / (n + Z_95 * Z_95), 12);
      for (const bound of [none.lower, none.upper, all.lower, all.upper]) {
        expect(bound).toBeGreaterThanOrEqual(0);
        expect(bound).toBeLessThanOrEqual(1);
      }
    }
  });

  it('mirrors successes and failures', () => {
    const left = wilsonInterval(3, 17);
    const right = wilsonInterval(14, 17);
    expect(left.lower).toBeCloseTo(1 - right.upper, 12);
    expect(left.upper).toBeCloseTo(1 - right.lower, 12);
  });

  it('narrows as trials grow', () => {
    const small = wilsonInterval(6, 20);
    const large = wilsonInterval(600, 2000);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
  });

  it('covers the true share about 95 % of the time', () => {
    // 4,000 binomial experiments of 40 trials at p = 0.3. The Wilson interval's coverage
    // near this p and n is close to the nominal 95 %.
    const rng = new Rng(7);
    const p = 0.3;
    const trials = 40;
    let covered = 0;
    const experiments = 4000;
    for (let experiment = 0; experiment < experiments; experiment++) {
      let successes = 0;
      for (let trial = 0; trial < trials; trial++) if (rng.next() < p) successes += 1;
      const { lower, upper } = wilsonInterval(successes, trials);
      if (lower <= p && p <= upper) covered += 1;
    }
    expect(covered / experiments).toBeGreaterThan(0.92);
    expect(covered / experiments).toBeLessThan(0.98);
  });

  it('returns [0, 1] for no trials', () => {
    const { proportion, lower, upper } = wilsonInterval(0, 0);
    expect(proportion).toBeNaN();
    expect([lower, upper]).toEqual([0, 1]);
  });

  it('rejects impossible counts', () => {
    expect(() => wilsonInterval(11, 10)).toThrow(/0 ≤ successes ≤ trials, got 11 of 10/);
    expect(() => wilsonInterval(-1, 10)).toThrow(/got -1 of 10/);
    expect(() => wilsonInterval(1.5, 10)).toThrow(/whole numbers/);
  });
});

describe('clipScore', () => {
  it('is 2.5 times the mean of the positive cosines', () => {
    // Cosines 0.4, 0.2 and −0.3: the negative one counts as 0, so 2.5 · (0.4 + 0.2 + 0) / 3.
    expect(clipScore([0.4, 0.2, -0.3])).toBeCloseTo((2.5 * 0.6) / 3, 12);
  });

  it('uses a given weight', () => {
    expect(clipScore([0.5, 0.5], 1)).toBe(0.5);
  });

  it('rejects an empty list', () => {
    expect(() => clipScore([])).toThrow(/at least one cosine/);
  });
});

describe('meanPooledCosine', () => {
  it('scores a set against its own mean image as 1', () => {
    // Three different rows and three copies of their mean share one mean vector.
    const rows = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const mean = [1 / 3, 1 / 3, 1 / 3];
    const copies = [...mean, ...mean, ...mean];
    expect(meanPooledCosine(rows, 3, copies, 3, 3)).toBeCloseTo(1, 12);
  });

  it('ignores scale and spread', () => {
    // Means (2, 3.5) and (4, 7) point the same way, though the second set's rows are far apart.
    expect(meanPooledCosine([1, 2, 3, 5], 2, [8, 14, 0, 0], 2, 2)).toBeCloseTo(1, 12);
  });

  it('is 0 for orthogonal means and for a zero mean', () => {
    expect(meanPooledCosine([1, 0], 1, [0, 2], 1, 2)).toBe(0);
    expect(meanPooledCosine([1, 0, -1, 0], 2, [1, 1], 1, 2)).toBe(0);
  });
});
