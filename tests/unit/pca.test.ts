import { describe, expect, it } from 'vitest';

import { pca, symmetricEigen } from '../../src/components/charts/pca';
import { Rng } from '../../src/models/data/rng';

/** Multiplies row-major [n, m] by [m, k]. */
function matMul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, m: number, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j < k; j += 1) {
      let sum = 0;
      for (let l = 0; l < m; l += 1) sum += a[i * m + l] * b[l * k + j];
      out[i * k + j] = sum;
    }
  }
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += a[i] * b[i];
  return sum;
}

function gaussians(rng: Rng, count: number): Float64Array {
  return Float64Array.from({ length: count }, () => rng.normal());
}

/** A random symmetric n×n matrix with entries in [−1, 1]. */
function randomSymmetric(rng: Rng, n: number): Float64Array {
  const matrix = new Float64Array(n * n);
  for (let i = 0; i < n; i += 1) {
    for (let j = i; j < n; j += 1) {
      const value = 2 * rng.next() - 1;
      matrix[i * n + j] = value;
      matrix[j * n + i] = value;
    }
  }
  return matrix;
}

describe('symmetricEigen', () => {
  it('diagonal matrix gives sorted entries', () => {
    const { values, vectors } = symmetricEigen([1, 0, 0, 0, 5, 0, 0, 0, 3], 3);

    expect(Array.from(values)).toEqual([5, 3, 1]);
    expect(Math.abs(vectors[0 * 3 + 1])).toBe(1);
    expect(Math.abs(vectors[1 * 3 + 2])).toBe(1);
    expect(Math.abs(vectors[2 * 3 + 0])).toBe(1);
  });

  it('2×2 matrix matches the closed form', () => {
    // [[2, 1], [1, 2]] has eigenvalues 3 and 1 with eigenvectors (1, 1)/√2 and (1, −1)/√2.
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);

    expect(values[0]).toBeCloseTo(3, 12);
    expect(values[1]).toBeCloseTo(1, 12);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(vectors[0] * vectors[1]).toBeGreaterThan(0);
    expect(vectors[2] * vectors[3]).toBeLessThan(0);
  });

  it('64×64 random matrix satisfies A·v = λ·v', () => {
    const n = 64;
    const matrix = randomSymmetric(new Rng(7), n);

    const { values, vectors } = symmetricEigen(matrix, n);

    for (let k = 0; k < n; k += 1) {
      const vector = vectors.subarray(k * n, (k + 1) * n);
      const product = matMul(matrix, vector, n, n, 1);
      for (let i = 0; i < n; i += 1) expect(product[i]).toBeCloseTo(values[k] * vector[i], 9);
      if (k > 0) expect(values[k]).toBeLessThanOrEqual(values[k - 1]);
    }
  });

  it('eigenvectors are orthonormal', () => {
    const n = 16;
    const { vectors } = symmetricEigen(randomSymmetric(new Rng(3), n), n);

    for (let i = 0; i < n; i += 1) {
      for (let j = 0; j < n; j += 1) {
        const expected = i === j ? 1 : 0;
        expect(dot(vectors.subarray(i * n, (i + 1) * n), vectors.subarray(j * n, (j + 1) * n))).toBeCloseTo(expected, 12);
      }
    }
  });

  it('trace equals the sum of eigenvalues', () => {
    const n = 32;
    const matrix = randomSymmetric(new Rng(11), n);
    let trace = 0;
    for (let i = 0; i < n; i += 1) trace += matrix[i * n + i];

    const { values } = symmetricEigen(matrix, n);

    expect(values.reduce((sum, value) => sum + value, 0)).toBeCloseTo(trace, 10);
  });

  it('rejects a matrix of the wrong size', () => {
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/n×n matrix/);
    expect(() => symmetricEigen([], 0)).toThrow(/n ≥ 1/);
  });
});

describe('pca', () => {
  it('points on a line project onto one axis', () => {
    // Points t·(3, 4)/5 + (1, 2): all variance lies along (0.6, 0.8).
    const ts = [-2, -1, 0, 1, 2, 3];
    const data = ts.flatMap((t) => [1 + 0.6 * t, 2 + 0.8 * t]);

    const result = pca(data, ts.length, 2, 2);

    expect(result.components[0]).toBeCloseTo(0.6, 12);
    expect(result.components[1]).toBeCloseTo(0.8, 12);
    expect(result.varianceRatio[0]).toBeCloseTo(1, 12);
    expect(result.varianceRatio[1]).toBeCloseTo(0, 12);
    const meanT = ts.reduce((sum, t) => sum + t, 0) / ts.length;
    ts.forEach((t, row) => {
      expect(result.projected[row * 2]).toBeCloseTo(t - meanT, 12);
      expect(result.projected[row * 2 + 1]).toBeCloseTo(0, 12);
    });
  });

  it('recovers the axes of a stretched Gaussian', () => {
    // 4,000 points in 3-D with standard deviations 5, 2 and 0.5 along a rotated frame.
    const rows = 4000;
    const rng = new Rng(42);
    const noise = gaussians(rng, rows * 3);
    const angle = Math.PI / 6;
    const frame = [
      [Math.cos(angle), Math.sin(angle), 0],
      [-Math.sin(angle), Math.cos(angle), 0],
      [0, 0, 1],
    ];
    const scales = [5, 2, 0.5];
    const data = new Float64Array(rows * 3);
    for (let i = 0; i < rows; i += 1) {
      for (let axis = 0; axis < 3; axis += 1) {
        for (let j = 0; j < 3; j += 1) data[i * 3 + j] += noise[i * 3 + axis] * scales[axis] * frame[axis][j];
      }
    }

    const result = pca(data, rows, 3, 2);

    for (let k = 0; k < 2; k += 1) {
      const alignment = Math.abs(dot(result.components.subarray(k * 3, (k + 1) * 3), frame[k]));
      expect(alignment, `|cos| between component ${k} and its true axis`).toBeGreaterThan(0.999);
      expect(Math.sqrt(result.variance[k]), `standard deviation along component ${k}`).toBeCloseTo(scales[k], 0);
    }
    const totalVariance = scales.reduce((sum, scale) => sum + scale * scale, 0);
    expect(result.varianceRatio[0]).toBeCloseTo(25 / totalVariance, 1);
  });

  it('projections are centred and uncorrelated', () => {
    const rows = 300;
    const columns = 64;
    const data = gaussians(new Rng(5), rows * columns).map((value, index) => value * (1 + (index % columns) / 8) + 3);

    const result = pca(data, rows, columns, 2);

    const first = Float64Array.from({ length: rows }, (_, i) => result.projected[i * 2]);
    const second = Float64Array.from({ length: rows }, (_, i) => result.projected[i * 2 + 1]);
    expect(first.reduce((sum, value) => sum + value, 0) / rows).toBeCloseTo(0, 10);
    expect(second.reduce((sum, value) => sum + value, 0) / rows).toBeCloseTo(0, 10);
    expect(dot(first, second) / (rows - 1)).toBeCloseTo(0, 8);
    expect(dot(first, first) / (rows - 1)).toBeCloseTo(result.variance[0], 8);
    expect(result.variance[0]).toBeGreaterThanOrEqual(result.variance[1]);
  });

  it('sign convention makes the largest loading positive', () => {
    const data = [0, 0, -1, -3, -2, -6, -3, -9];

    const result = pca(data, 4, 2, 1);

    expect(result.components[1]).toBeGreaterThan(0);
    expect(Math.abs(result.components[1])).toBeGreaterThan(Math.abs(result.components[0]));
  });

  it('identical rows give zero variance without NaN', () => {
    const data = [1, 2, 3, 1, 2, 3, 1, 2, 3];

    const result = pca(data, 3, 3, 2);

    expect(Array.from(result.projected)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(result.varianceRatio)).toEqual([0, 0]);
    expect(Array.from(result.mean)).toEqual([1, 2, 3]);
  });

  it('rejects bad shapes and values', () => {
    expect(() => pca([1, 2], 1, 2)).toThrow(/at least 2 rows/);
    expect(() => pca([1, 2, 3], 2, 2)).toThrow(/has 3 values, expected 2 rows × 2 columns = 4/);
    expect(() => pca([1, 2, 3, 4], 2, 2, 3)).toThrow(/components must be an integer from 1 to 2/);
    expect(() => pca([1, Number.NaN, 3, 4], 2, 2)).toThrow(/value 1 \(row 0, column 1\) is NaN/);
  });
});
