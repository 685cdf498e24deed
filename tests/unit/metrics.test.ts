import { describe, expect, it } from 'vitest';
import { featureStatistics, frechetDistance, meanCosineSimilarity, psdSqrt, symmetricEigen, type FeatureStatistics } from '../../src/models/metrics';
import { Rng } from '../../src/models/data/rng';

function multiply(a: ArrayLike<number>, b: ArrayLike<number>, dim: number): Float64Array {
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) sum += a[i * dim + k] * b[k * dim + j];
      result[i * dim + j] = sum;
    }
  }
  return result;
}

function transpose(a: ArrayLike<number>, dim: number): Float64Array {
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) result[j * dim + i] = a[i * dim + j];
  return result;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function identity(dim: number): Float64Array {
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) result[i * dim + i] = 1;
  return result;
}

function diagonal(values: number[]): Float64Array {
  const dim = values.length;
  const result = new Float64Array(dim * dim);
  values.forEach((value, i) => (result[i * dim + i] = value));
  return result;
}

/** A random symmetric matrix with standard normal entries on and above the diagonal. */
function randomSymmetric(dim: number, rng: Rng): Float64Array {
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = rng.normal();
      result[i * dim + j] = value;
      result[j * dim + i] = value;
    }
  }
  return result;
}

/** B Bᵀ for a random [dim, rank] B: positive semi-definite of rank `rank`. */
function randomPsd(dim: number, rank: number, rng: Rng): Float64Array {
  const b = new Float64Array(dim * rank);
  for (let i = 0; i < b.length; i++) b[i] = rng.normal();
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += b[i * rank + k] * b[j * rank + k];
      result[i * dim + j] = sum;
    }
  }
  return result;
}

function trace(a: ArrayLike<number>, dim: number): number {
  let sum = 0;
  for (let i = 0; i < dim; i++) sum += a[i * dim + i];
  return sum;
}

/** Exact statistics object from a given mean and covariance (no sampling). */
function stats(mean: number[], covariance: Float64Array): FeatureStatistics {
  return { count: 2, dim: mean.length, mean: Float64Array.from(mean), covariance };
}

/** `count` draws of N(mean, diag(variances)), row-major. */
function gaussianSamples(mean: number[], variances: number[], count: number, rng: Rng): Float64Array {
  const dim = mean.length;
  const samples = new Float64Array(count * dim);
  for (let row = 0; row < count; row++) {
    for (let i = 0; i < dim; i++) samples[row * dim + i] = mean[i] + Math.sqrt(variances[i]) * rng.normal();
  }
  return samples;
}

describe('featureStatistics', () => {
  it('matches a hand-computed mean and covariance', () => {
    // Rows (1, 2), (3, 6), (5, 4): mean (3, 4), centred rows (−2, −2), (0, 2), (2, 0).
    // Unbiased covariance: xx = 8/2, xy = 4/2, yy = 8/2.
    const { mean, covariance } = featureStatistics(Float32Array.from([1, 2, 3, 6, 5, 4]), 3, 2);
    expect(Array.from(mean)).toEqual([3, 4]);
    expect(Array.from(covariance)).toEqual([4, 2, 2, 4]);
  });

  it('rejects mismatched or too few rows', () => {
    expect(() => featureStatistics(new Float32Array(5), 3, 2)).toThrow(/expected 3 × 2 = 6 values, got 5/);
    expect(() => featureStatistics(new Float32Array(2), 1, 2)).toThrow(/at least 2 vectors/);
  });
});

describe('symmetricEigen', () => {
  it('decomposes a known 3×3 matrix', () => {
    // [[2, 1, 0], [1, 2, 0], [0, 0, 5]] has eigenvalues 5, 3, 1 with eigenvectors
    // e3, (e1 + e2)/√2 and (e1 − e2)/√2.
    const { values, vectors } = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
    expect(values[0]).toBeCloseTo(5, 12);
    expect(values[1]).toBeCloseTo(3, 12);
    expect(values[2]).toBeCloseTo(1, 12);

    const column = (c: number) => [vectors[c], vectors[3 + c], vectors[6 + c]];
    const expected = [[0, 0, 1], [Math.SQRT1_2, Math.SQRT1_2, 0], [Math.SQRT1_2, -Math.SQRT1_2, 0]];
    expected.forEach((vector, c) => {
      // An eigenvector is defined up to sign: compare |⟨v, expected⟩| with 1.
      const dot = column(c).reduce((sum, value, i) => sum + value * vector[i], 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 12);
    });
  });

  it('reconstructs a random 64×64 matrix', () => {
    const dim = 64;
    const matrix = randomSymmetric(dim, new Rng(7));
    const { values, vectors } = symmetricEigen(matrix, dim);

    const reconstructed = multiply(multiply(vectors, diagonal(Array.from(values)), dim), transpose(vectors, dim), dim);
    expect(maxAbsDifference(reconstructed, matrix)).toBeLessThan(1e-10);
    expect(maxAbsDifference(multiply(transpose(vectors, dim), vectors, dim), identity(dim))).toBeLessThan(1e-10);
    for (let i = 1; i < dim; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
  });

  it('rejects a matrix of the wrong size', () => {
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/2 × 2 matrix \(4 values\), got 3/);
  });
});

describe('psdSqrt', () => {
  it('takes the root of a diagonal matrix entrywise', () => {
    expect(Array.from(psdSqrt(diagonal([4, 9, 0]), 3))).toEqual([2, 0, 0, 0, 3, 0, 0, 0, 0]);
  });

  it('squares back to a full-rank matrix', () => {
    const dim = 32;
    const matrix = randomPsd(dim, dim + 8, new Rng(11));
    const root = psdSqrt(matrix, dim);
    expect(maxAbsDifference(multiply(root, root, dim), matrix) / trace(matrix, dim)).toBeLessThan(1e-12);
    expect(maxAbsDifference(root, transpose(root, dim))).toBe(0);
  });

  it('squares back to a rank-deficient matrix', () => {
    const dim = 24;
    const matrix = randomPsd(dim, 5, new Rng(12));
    const root = psdSqrt(matrix, dim);
    expect(maxAbsDifference(multiply(root, root, dim), matrix) / trace(matrix, dim)).toBeLessThan(1e-10);
  });
});

describe('frechetDistance', () => {
  it('is zero for a set against itself', () => {
    // 128-d features with 16 dead (always zero) dimensions, as ReLU features have.
    const count = 600;
    const dim = 128;
    const rng = new Rng(3);
    const features = new Float32Array(count * dim);
    for (let row = 0; row < count; row++) {
      for (let i = 16; i < dim; i++) features[row * dim + i] = Math.max(0, rng.normal() + (i % 7) * 0.3);
    }
    const statistics = featureStatistics(features, count, dim);
    const fid = frechetDistance(statistics, statistics);
    expect(Math.abs(fid)).toBeLessThan(1e-6 * trace(statistics.covariance, dim));
  });

  it('matches the closed form for diagonal covariances', () => {
    // With Σa = diag(a), Σb = diag(b): d² = |μa − μb|² + Σ (√a_i − √b_i)².
    const a = [1, 4, 0.25, 9];
    const b = [4, 1, 1, 9];
    const meanA = [0, 1, 2, 3];
    const meanB = [1, 1, 0, 3];
    const expected = 1 + 0 + 4 + 0 + (1 + 1 + 0.25 + 0);
    expect(frechetDistance(stats(meanA, diagonal(a)), stats(meanB, diagonal(b)))).toBeCloseTo(expected, 10);
  });

  it('is unchanged by a common rotation', () => {
    // Rotating both Gaussians by one orthogonal Q leaves the distance as it was, while
    // making the covariances dense, so this runs the full matrix path.
    const dim = 4;
    const q = symmetricEigen(randomSymmetric(dim, new Rng(5)), dim).vectors;
    const rotate = (covariance: Float64Array) => multiply(multiply(q, covariance, dim), transpose(q, dim), dim);
    const rotateMean = (mean: number[]) => Array.from({ length: dim }, (_, i) => mean.reduce((sum, value, k) => sum + q[i * dim + k] * value, 0));
    const a = stats([0, 1, 2, 3], diagonal([1, 4, 0.25, 9]));
    const b = stats([1, 1, 0, 3], diagonal([4, 1, 1, 9]));
    const rotatedA = stats(rotateMean([0, 1, 2, 3]), rotate(a.covariance));
    const rotatedB = stats(rotateMean([1, 1, 0, 3]), rotate(b.covariance));
    expect(frechetDistance(rotatedA, rotatedB)).toBeCloseTo(frechetDistance(a, b), 10);
  });

  it('matches the closed form for non-commuting 2×2 covariances', () => {
    // For a 2×2 M = Σa Σb with eigenvalues λ1, λ2 ≥ 0: Tr M^½ = √λ1 + √λ2 = √(Tr M + 2√det M).
    const covarianceA = Float64Array.from([2, 1, 1, 2]);
    const covarianceB = Float64Array.from([3, 0, 0, 1]);
    const product = multiply(covarianceA, covarianceB, 2);
    const determinant = (m: ArrayLike<number>) => m[0] * m[3] - m[1] * m[2];
    const traceSqrt = Math.sqrt(trace(product, 2) + 2 * Math.sqrt(determinant(product)));
    const expected = 2 * 2 + trace(covarianceA, 2) + trace(covarianceB, 2) - 2 * traceSqrt;
    const fid = frechetDistance(stats([0, 0], covarianceA), stats([2, 0], covarianceB));
    expect(fid).toBeCloseTo(expected, 10);
    expect(frechetDistance(stats([2, 0], covarianceB), stats([0, 0], covarianceA))).toBeCloseTo(fid, 10);
  });

  it('estimates the closed form from Gaussian samples', () => {
    const count = 20_000;
    const rng = new Rng(9);
    const varianceA = [1, 4, 0.25];
    const varianceB = [4, 1, 1];
    const meanA = [0, 2, 0];
    const meanB = [1, 0, 2];
    const a = featureStatistics(gaussianSamples(meanA, varianceA, count, rng), count, 3);
    const b = featureStatistics(gaussianSamples(meanB, varianceB, count, rng), count, 3);
    const expected = 1 + 4 + 4 + (1 + 1 + 0.25);
    // Sampling error of the estimated means and covariances is about 1% at 20,000 draws.
    expect(Math.abs(frechetDistance(a, b) - expected) / expected).toBeLessThan(0.03);
  });

  it('rejects features of different widths', () => {
    expect(() => frechetDistance(stats([0], diagonal([1])), stats([0, 0], diagonal([1, 1])))).toThrow(/one width, got 1 and 2/);
  });
});

describe('meanCosineSimilarity', () => {
  it('is 1 for identical rows', () => {
    const rows = [0.3, -1.2, 2, 5, 0, 1];
    expect(meanCosineSimilarity(rows, rows, 2, 3)).toBeCloseTo(1, 12);
  });

  it('is 0 for orthogonal rows', () => {
    expect(meanCosineSimilarity([1, 0, 0, 0, 2, 0], [0, 3, 0, 0, 0, -1], 2, 3)).toBe(0);
  });

  it('averages over rows and ignores scale', () => {
    // Row 0: same direction (1). Row 1: opposite (−1). Row 2: 45° apart (√½).
    const a = [2, 0, 0, 1, 1, 0];
    const b = [5, 0, 0, -3, 3, 3];
    expect(meanCosineSimilarity(a, b, 3, 2)).toBeCloseTo((1 - 1 + Math.SQRT1_2) / 3, 12);
  });

  it('counts a zero row as 0', () => {
    expect(meanCosineSimilarity([0, 0, 1, 0], [1, 0, 1, 0], 2, 2)).toBeCloseTo(0.5, 12);
  });

  it('rejects arrays of the wrong length', () => {
    expect(() => meanCosineSimilarity([1, 2, 3], [1, 2, 3, 4], 2, 2)).toThrow(/2 × 2 = 4 values, got 3 and 4/);
  });
});
