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

/** Mean [dim] and unbiased covariance [dim, dim] (row-major) of a set of feature vectors. */
export interface FeatureStatistics {
  count: number;
  dim: number;
  mean: Float64Array;
  covariance: Float64Array;
}

/**
 * Computes the mean and the unbiased covariance (divided by count − 1) of `count` feature
 * vectors of width `dim`, stored row-major in `features`. Sums run in float64.
 */
export function featureStatistics(features: Float32Array | Float64Array, count: number, dim: number): FeatureStatistics {
  if (!Number.isInteger(count) || !Number.isInteger(dim) || count < 2 || dim < 1) {
    throw new Error(`Feature statistics need at least 2 vectors of width ≥ 1, got count ${count} and dim ${dim}.`);
  }
  if (features.length !== count * dim) {
    throw new Error(`Feature statistics expected ${count} × ${dim} = ${count * dim} values, got ${features.length}.`);
  }

  const mean = new Float64Array(dim);
  for (let row = 0; row < count; row++) {
    for (let i = 0; i < dim; i++) mean[i] += features[row * dim + i];
  }
  for (let i = 0; i < dim; i++) mean[i] /= count;

  // Centre each row first: the textbook E[xxᵀ] − μμᵀ loses digits when |μ| ≫ spread.
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let row = 0; row < count; row++) {
    for (let i = 0; i < dim; i++) centred[i] = features[row * dim + i] - mean[i];
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      if (ci === 0) continue;
      for (let j = i; j < dim; j++) covariance[i * dim + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = covariance[i * dim + j] / (count - 1);
      covariance[i * dim + j] = value;
      covariance[j * dim + i] = value;
    }
  }
  return { count, dim, mean, covariance };
}

/** Eigenvalues in descending order and the matching unit eigenvectors as the columns of `vectors` [dim, dim]. */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/** Off-diagonal Frobenius norm, relative to the whole matrix's, at which Jacobi stops. */
const JACOBI_TOLERANCE = 1e-12;
const JACOBI_MAX_SWEEPS = 100;

/**
 * Eigendecomposition A = V diag(λ) Vᵀ of a symmetric matrix [dim, dim] (row-major) by the
 * cyclic Jacobi method: sweeps of plane rotations, each zeroing one off-diagonal entry,
 * until the off-diagonal part is below 1e-12 of the matrix's Frobenius norm. Each sweep
 * costs O(dim³), so this suits the small matrices of FID (dim ≤ a few hundred). Only the
 * upper triangle is read, so a matrix that is symmetric up to rounding is fine.
 */
export function symmetricEigen(matrix: ArrayLike<number>, dim: number): SymmetricEigen {
  if (matrix.length !== dim * dim) {
    throw new Error(`Eigendecomposition expected a ${dim} × ${dim} matrix (${dim * dim} values), got ${matrix.length}.`);
  }

  const a = new Float64Array(dim * dim);
  let squaredNorm = 0;
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = matrix[i * dim + j];
      if (!Number.isFinite(value)) throw new Error(`Eigendecomposition input has a non-finite entry ${value} at (${i}, ${j}).`);
      a[i * dim + j] = value;
      a[j * dim + i] = value;
      squaredNorm += i === j ? value * value : 2 * value * value;
    }
  }
  const v = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) v[i * dim + i] = 1;

  const threshold = JACOBI_TOLERANCE * JACOBI_TOLERANCE * squaredNorm;
  let converged = false;
  for (let sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++) {
    let offDiagonal = 0;
    for (let p = 0; p < dim; p++) {
      for (let q = p + 1; q < dim; q++) offDiagonal += 2 * a[p * dim + q] * a[p * dim + q];
    }
    if (offDiagonal <= threshold) {
      converged = true;
      break;
    }
    for (let p = 0; p < dim; p++) {
      for (let q = p + 1; q < dim; q++) jacobiRotate(a, v, dim, p, q);
    }
  }
  if (!converged) {
    throw new Error(`Jacobi eigendecomposition of a ${dim} × ${dim} matrix did not converge in ${JACOBI_MAX_SWEEPS} sweeps.`);
  }

  const order = Array.from({ length: dim }, (_, i) => i).sort((i, j) => a[j * dim + j] - a[i * dim + i]);
  const values = new Float64Array(dim);
  const vectors = new Float64Array(dim * dim);
  order.forEach((source, column) => {
    values[column] = a[source * dim + source];
    for (let row = 0; row < dim; row++) vectors[row * dim + column] = v[row * dim + source];
  });
  return { values, vectors };
}

/**
 * Applies the rotation J in the (p, q) plane that zeroes a[p][q]: A ← Jᵀ A J, V ← V J.
 * tan θ is the smaller root of t² + 2ζt − 1 = 0 with ζ = (a_qq − a_pp) / (2 a_pq). That
 * root keeps the angle at most π/4, so the rest of the matrix changes as little as possible.
 */
function jacobiRotate(a: Float64Array, v: Float64Array, dim: number, p: number, q: number): void {
  const apq = a[p * dim + q];
  if (apq === 0) return;
  const zeta = (a[q * dim + q] - a[p * dim + p]) / (2 * apq);
  const t = Math.abs(zeta) > 1e150 ? 1 / (2 * zeta) : Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(zeta * zeta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;

  for (let k = 0; k < dim; k++) {
    const akp = a[k * dim + p];
    const akq = a[k * dim + q];
    a[k * dim + p] = c * akp - s * akq;
    a[k * dim + q] = s * akp + c * akq;
  }
  for (let k = 0; k < dim; k++) {
    const apk = a[p * dim + k];
    const aqk = a[q * dim + k];
    a[p * dim + k] = c * apk - s * aqk;
    a[q * dim + k] = s * apk + c * aqk;
  }
  a[p * dim + q] = 0;
  a[q * dim + p] = 0;
  for (let k = 0; k < dim; k++) {
    const vkp = v[k * dim + p];
    const vkq = v[k * dim + q];
    v[k * dim + p] = c * vkp - s * vkq;
    v[k * dim + q] = s * vkp + c * vkq;
  }
}

/**
 * Square root S = V diag(√max(λ, 0)) Vᵀ of a symmetric positive semi-definite matrix, so
 * that S S = A. Eigenvalues below zero can only be rounding error of a PSD matrix and
 * are clamped to 0.
 */
export function psdSqrt(matrix: ArrayLike<number>, dim: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, dim);
  const roots = values.map((value) => Math.sqrt(Math.max(value, 0)));
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) sum += vectors[i * dim + k] * roots[k] * vectors[j * dim + k];
      result[i * dim + j] = sum;
      result[j * dim + i] = sum;
    }
  }
  return result;
}

/** Product of two row-major [dim, dim] matrices. */
function matMul(a: Float64Array, b: Float64Array, dim: number): Float64Array {
  const result = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let k = 0; k < dim; k++) {
      const aik = a[i * dim + k];
      if (aik === 0) continue;
      for (let j = 0; j < dim; j++) result[i * dim + j] += aik * b[k * dim + j];
    }
  }
  return result;
}

/**
 * Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017, "GANs
 * Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", the FID):
 *
 *   d² = |μa − μb|² + Tr(Σa + Σb − 2 (Σa Σb)^½)
 *
 * Σa Σb is not symmetric, but it has the eigenvalues of the symmetric PSD matrix
 * Σa^½ Σb Σa^½, so Tr (Σa Σb)^½ is the sum of the square roots of that matrix's
 * eigenvalues, with rounding-level negative eigenvalues clamped to 0. The result is not
 * clamped: identical sets give 0 up to rounding, which may be a tiny negative number.
 */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics): number {
  if (a.dim !== b.dim) throw new Error(`Fréchet distance needs features of one width, got ${a.dim} and ${b.dim}.`);
  const dim = a.dim;

  let meanTerm = 0;
  let traceA = 0;
  let traceB = 0;
  for (let i = 0; i < dim; i++) {
    const d = a.mean[i] - b.mean[i];
    meanTerm += d * d;
    traceA += a.covariance[i * dim + i];
    traceB += b.covariance[i * dim + i];
  }

  const sqrtA = psdSqrt(a.covariance, dim);
  const product = matMul(matMul(sqrtA, b.covariance, dim), sqrtA, dim); // Σa^½ Σb Σa^½
  let traceSqrt = 0;
  for (const value of symmetricEigen(product, dim).values) traceSqrt += Math.sqrt(Math.max(value, 0));

  return meanTerm + traceA + traceB - 2 * traceSqrt;
}

/**
 * Mean over rows of the cosine similarity between row i of `a` and row i of `b`, both
 * [count, dim] row-major. A row with zero norm counts as cosine 0.
 */
export function meanCosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, count: number, dim: number): number {
  if (!Number.isInteger(count) || !Number.isInteger(dim) || count < 1 || dim < 1) {
    throw new Error(`Mean cosine similarity needs count ≥ 1 and dim ≥ 1, got count ${count} and dim ${dim}.`);
  }
  if (a.length !== count * dim || b.length !== count * dim) {
    throw new Error(`Mean cosine similarity expected two arrays of ${count} × ${dim} = ${count * dim} values, got ${a.length} and ${b.length}.`);
  }

  let total = 0;
  for (let row = 0; row < count; row++) {
    let dot = 0;
    let squaredA = 0;
    let squaredB = 0;
    for (let i = row * dim; i < (row + 1) * dim; i++) {
      dot += a[i] * b[i];
      squaredA += a[i] * a[i];
      squaredB += b[i] * b[i];
    }
    if (squaredA > 0 && squaredB > 0) total += dot / Math.sqrt(squaredA * squaredB);
  }
  return total / count;
}

/** Share of generated samples on the real manifold (precision) and of real samples on the generated one (recall). */
export interface PrecisionRecall {
  precision: number;
  recall: number;
}

/** Euclidean distance squared between row `i` of `a` and row `j` of `b`, both of width `dim`. */
function squaredDistance(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) {
    const difference = a[i * dim + d] - b[j * dim + d];
    sum += difference * difference;
  }
  return sum;
}

/**
 * Squared distance from each of `count` feature vectors to its k-th nearest neighbour among
 * the others, [count]. A copy of a vector is a neighbour at distance 0, the vector itself is
 * not. Brute force, O(count² · dim).
 */
export function kNearestRadiiSquared(features: ArrayLike<number>, count: number, dim: number, k: number): Float64Array {
  checkFeatureRows('k-NN radii', features, count, dim);
  if (!Number.isInteger(k) || k < 1 || k >= count) {
    throw new Error(`k-NN radii need 1 ≤ k < count, got k = ${k} for ${count} vectors: use more vectors or a smaller k.`);
  }

  const radii = new Float64Array(count);
  // The k smallest distances seen so far, ascending; index k − 1 is the k-th nearest.
  const nearest = new Float64Array(k);
  for (let i = 0; i < count; i++) {
    nearest.fill(Number.POSITIVE_INFINITY);
    for (let j = 0; j < count; j++) {
      if (j === i) continue;
      const distance = squaredDistance(features, i, features, j, dim);
      if (distance >= nearest[k - 1]) continue;
      let slot = k - 1;
      while (slot > 0 && nearest[slot - 1] > distance) {
        nearest[slot] = nearest[slot - 1];
        slot -= 1;
      }
      nearest[slot] = distance;
    }
    radii[i] = nearest[k - 1];
  }
  return radii;
}

/**
 * Share of `queries` rows that fall inside at least one ball of the manifold estimate of
 * `support`: the ball around each support vector whose radius is that vector's distance to
 * its k-th nearest support neighbour. A point on a ball's boundary counts as inside.
 */
function shareInsideManifold(
  queries: ArrayLike<number>,
  queryCount: number,
  support: ArrayLike<number>,
  supportCount: number,
  radiiSquared: Float64Array,
  dim: number,
): number {
  let inside = 0;
  for (let q = 0; q < queryCount; q++) {
    for (let s = 0; s < supportCount; s++) {
      if (squaredDistance(queries, q, support, s, dim) <= radiiSquared[s]) {
        inside += 1;
        break;
      }
    }
  }
  return inside / queryCount;
}

/**
 * Precision and recall of a generative model by k-nearest neighbours in feature space
 * (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative
 * Models"). Each set's manifold is estimated as the union of balls around its vectors, each
 * with the radius of that vector's k-th nearest neighbour in its own set. Precision is the
 * share of generated vectors inside the real manifold, recall the share of real vectors
 * inside the generated one. The paper uses k = 3, the default here.
 *
 * `real` is [realCount, dim] and `generated` [generatedCount, dim], row-major. Both sets
 * need more than k vectors. Cost: O((realCount + generatedCount)² · dim), brute force.
 */
export function precisionRecall(
  real: ArrayLike<number>,
  realCount: number,
  generated: ArrayLike<number>,
  generatedCount: number,
  dim: number,
  k = 3,
): PrecisionRecall {
  checkFeatureRows('Precision and recall (real set)', real, realCount, dim);
  checkFeatureRows('Precision and recall (generated set)', generated, generatedCount, dim);

  const realRadii = kNearestRadiiSquared(real, realCount, dim, k);
  const generatedRadii = kNearestRadiiSquared(generated, generatedCount, dim, k);
  return {
    precision: shareInsideManifold(generated, generatedCount, real, realCount, realRadii, dim),
    recall: shareInsideManifold(real, realCount, generated, generatedCount, generatedRadii, dim),
  };
}

function checkFeatureRows(what: string, features: ArrayLike<number>, count: number, dim: number): void {
  if (!Number.isInteger(count) || !Number.isInteger(dim) || count < 1 || dim < 1) {
    throw new Error(`${what} needs count ≥ 1 and dim ≥ 1, got count ${count} and dim ${dim}.`);
  }
  if (features.length !== count * dim) {
    throw new Error(`${what} expected ${count} × ${dim} = ${count * dim} values, got ${features.length}.`);
  }
}

/** A confidence interval [lower, upper] for a proportion, with the observed share. */
export interface ProportionInterval {
  proportion: number;
  lower: number;
  upper: number;
}

/** Two-sided 95 % standard normal quantile, Φ⁻¹(0.975). */
export const Z_95 = 1.959963984540054;

/**
 * Wilson score interval for a binomial proportion (Wilson 1927, "Probable Inference, the Law
 * of Succession, and Statistical Inference"): the p whose normal-approximation test does not
 * reject `successes` of `trials` at the level that `z` sets (95 % by default),
 *
 *   centre = (p̂ + z²/2n) / (1 + z²/n),   half-width = z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).
 *
 * Unlike the Wald interval p̂ ± z√(p̂(1 − p̂)/n) it stays inside [0, 1] and does not collapse
 * to a point at 0 or n successes. With 0 trials the share is NaN and the interval [0, 1],
 * because no vote constrains p.
 */
export function wilsonInterval(successes: number, trials: number, z = Z_95): ProportionInterval {
  if (!Number.isInteger(trials) || trials < 0 || !Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new Error(`Wilson interval needs whole numbers 0 ≤ successes ≤ trials, got ${successes} of ${trials}.`);
  }
  if (!(z > 0)) throw new Error(`Wilson interval needs a positive z, got ${z}.`);
  if (trials === 0) return { proportion: Number.NaN, lower: 0, upper: 1 };

  const n = trials;
  const share = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (share + z2 / (2 * n)) / denominator;
  const halfWidth = (z / denominator) * Math.sqrt((share * (1 - share)) / n + z2 / (4 * n * n));
  // At 0 or n successes one bound is exactly 0 or 1 in exact arithmetic, but not in floating point.
  const lower = successes === 0 ? 0 : Math.max(0, centre - halfWidth);
  const upper = successes === n ? 1 : Math.min(1, centre + halfWidth);
  return { proportion: share, lower, upper };
}

/** Weight w of CLIPScore, which Hessel et al. 2021 chose to rescale the cosines of their CLIP model. */
export const CLIP_SCORE_WEIGHT = 2.5;

/**
 * CLIPScore (Hessel et al. 2021, "CLIPScore: A Reference-free Evaluation Metric for Image
 * Captioning"): the mean over image–text pairs of w · max(cos, 0), given each pair's cosine
 * similarity between the CLIP image and text embeddings. Negative cosines count as 0.
 */
export function clipScore(cosines: ArrayLike<number>, weight = CLIP_SCORE_WEIGHT): number {
  if (cosines.length === 0) throw new Error('CLIP score needs at least one cosine similarity.');
  let total = 0;
  for (let i = 0; i < cosines.length; i++) total += weight * Math.max(cosines[i], 0);
  return total / cosines.length;
}

/**
 * Cosine similarity between the mean vectors of two feature sets ("mean pooling"), [aCount,
 * dim] and [bCount, dim] row-major. It compares first moments only: any two sets with
 * proportional means score 1, however different their spread or their members. Returns 0
 * when either mean is the zero vector.
 */
export function meanPooledCosine(a: ArrayLike<number>, aCount: number, b: ArrayLike<number>, bCount: number, dim: number): number {
  checkFeatureRows('Mean-pooled cosine (first set)', a, aCount, dim);
  checkFeatureRows('Mean-pooled cosine (second set)', b, bCount, dim);

  const meanA = new Float64Array(dim);
  const meanB = new Float64Array(dim);
  for (let row = 0; row < aCount; row++) for (let i = 0; i < dim; i++) meanA[i] += a[row * dim + i] / aCount;
  for (let row = 0; row < bCount; row++) for (let i = 0; i < dim; i++) meanB[i] += b[row * dim + i] / bCount;
  return meanCosineSimilarity(meanA, meanB, 1, dim);
}
