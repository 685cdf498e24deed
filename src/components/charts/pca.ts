/**
 * Principal component analysis for plotting high-dimensional points in 2-D, with no
 * dependencies. The covariance matrix is diagonalised with the cyclic Jacobi eigenvalue
 * method, which is accurate to rounding error for small symmetric matrices such as the
 * 64×64 covariance of CLIP embeddings.
 */

export interface PcaResult {
  /** Rows projected onto the components: [rows, components] row-major. */
  projected: Float64Array;
  /** Unit-length principal axes, largest variance first: [components, columns] row-major. */
  components: Float64Array;
  /** Mean of each column, subtracted before projecting: [columns]. */
  mean: Float64Array;
  /** Variance along each component, the eigenvalue of the sample covariance (which divides by rows − 1): [components]. */
  variance: Float64Array;
  /** Share of the total variance along each component, in [0, 1], or 0 when the data have no variance. */
  varianceRatio: Float64Array;
}

/** Sweeps of the Jacobi method before it stops unconverged. A 64×64 covariance of Gaussian data takes 8. */
const MAX_SWEEPS = 60;

/**
 * Eigen-decomposition of a symmetric `n`×`n` matrix (row-major, left unchanged). Returns the
 * eigenvalues in descending order and the matching unit eigenvectors as the rows of
 * `vectors` [n, n].
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (!Number.isInteger(n) || n < 1 || matrix.length !== n * n) {
    throw new Error(`symmetricEigen needs an n×n matrix with n ≥ 1, got ${matrix.length} values for n = ${n}.`);
  }
  const a = Float64Array.from(matrix);
  // Columns of v are the eigenvectors as they accumulate.
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i += 1) v[i * n + i] = 1;

  let scale = 0;
  for (let i = 0; i < n * n; i += 1) scale = Math.max(scale, Math.abs(a[i]));
  const tolerance = scale * 1e-15;

  for (let sweep = 0; sweep < MAX_SWEEPS; sweep += 1) {
    let offDiagonal = 0;
    for (let p = 0; p < n; p += 1) for (let q = p + 1; q < n; q += 1) offDiagonal = Math.max(offDiagonal, Math.abs(a[p * n + q]));
    if (offDiagonal <= tolerance) break;

    for (let p = 0; p < n - 1; p += 1) {
      for (let q = p + 1; q < n; q += 1) {
        const apq = a[p * n + q];
        if (Math.abs(apq) <= tolerance) continue;
        rotate(a, v, n, p, q);
      }
    }
  }

  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((column, rank) => {
    values[rank] = a[column * n + column];
    for (let row = 0; row < n; row += 1) vectors[rank * n + row] = v[row * n + column];
  });
  return { values, vectors };
}

/**
 * Applies one Jacobi rotation J in the (p, q) plane in place: the symmetric `a` becomes
 * Jᵀ·a·J, whose (p, q) entry is zero, and `v` becomes v·J. The angle is the smaller of the
 * two that zero the entry, which keeps the method stable.
 */
function rotate(a: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = a[p * n + q];
  const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;

  for (let k = 0; k < n; k += 1) {
    const akp = a[k * n + p];
    const akq = a[k * n + q];
    a[k * n + p] = c * akp - s * akq;
    a[k * n + q] = s * akp + c * akq;
  }
  for (let k = 0; k < n; k += 1) {
    const apk = a[p * n + k];
    const aqk = a[q * n + k];
    a[p * n + k] = c * apk - s * aqk;
    a[q * n + k] = s * apk + c * aqk;
  }
  for (let k = 0; k < n; k += 1) {
    const vkp = v[k * n + p];
    const vkq = v[k * n + q];
    v[k * n + p] = c * vkp - s * vkq;
    v[k * n + q] = s * vkp + c * vkq;
  }
}

/**
 * Projects `rows` points of `columns` values each (row-major) onto their first
 * `components` principal axes. Each axis is signed so that its largest-magnitude loading
 * is positive, which makes the picture the same from run to run for the same data.
 */
export function pca(data: ArrayLike<number>, rows: number, columns: number, components = 2): PcaResult {
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 2 || columns < 1) {
    throw new Error(`PCA needs at least 2 rows and 1 column, got ${rows} rows of ${columns} columns.`);
  }
  if (data.length !== rows * columns) {
    throw new Error(`PCA data has ${data.length} values, expected ${rows} rows × ${columns} columns = ${rows * columns}.`);
  }
  if (!Number.isInteger(components) || components < 1 || components > columns) {
    throw new Error(`PCA components must be an integer from 1 to ${columns} (the column count), got ${components}.`);
  }
  for (let i = 0; i < data.length; i += 1) {
    if (!Number.isFinite(data[i])) {
      throw new Error(`PCA data value ${i} (row ${Math.floor(i / columns)}, column ${i % columns}) is ${data[i]}, not a finite number.`);
    }
  }

  const mean = columnMeans(data, rows, columns);
  const covariance = covarianceMatrix(data, mean, rows, columns);
  const { values, vectors } = symmetricEigen(covariance, columns);

  const axes = new Float64Array(components * columns);
  for (let k = 0; k < components; k += 1) {
    const axis = vectors.subarray(k * columns, (k + 1) * columns);
    let largest = 0;
    for (let j = 1; j < columns; j += 1) if (Math.abs(axis[j]) > Math.abs(axis[largest])) largest = j;
    const sign = axis[largest] < 0 ? -1 : 1;
    for (let j = 0; j < columns; j += 1) axes[k * columns + j] = sign * axis[j];
  }

  const projected = new Float64Array(rows * components);
  for (let i = 0; i < rows; i += 1) {
    for (let k = 0; k < components; k += 1) {
      let sum = 0;
      for (let j = 0; j < columns; j += 1) sum += (data[i * columns + j] - mean[j]) * axes[k * columns + j];
      projected[i * components + k] = sum;
    }
  }

  // Rounding can leave tiny negative eigenvalues for directions without variance.
  const variance = Float64Array.from(values.subarray(0, components), (value) => Math.max(0, value));
  const total = values.reduce((sum, value) => sum + Math.max(0, value), 0);
  const varianceRatio = Float64Array.from(variance, (value) => (total > 0 ? value / total : 0));
  return { projected, components: axes, mean, variance, varianceRatio };
}

function columnMeans(data: ArrayLike<number>, rows: number, columns: number): Float64Array {
  const mean = new Float64Array(columns);
  for (let i = 0; i < rows; i += 1) for (let j = 0; j < columns; j += 1) mean[j] += data[i * columns + j];
  for (let j = 0; j < columns; j += 1) mean[j] /= rows;
  return mean;
}

/** Sample covariance [columns, columns] of the centred data, divided by rows − 1. */
function covarianceMatrix(data: ArrayLike<number>, mean: Float64Array, rows: number, columns: number): Float64Array {
  const covariance = new Float64Array(columns * columns);
  const centred = new Float64Array(columns);
  for (let i = 0; i < rows; i += 1) {
    for (let j = 0; j < columns; j += 1) centred[j] = data[i * columns + j] - mean[j];
    for (let p = 0; p < columns; p += 1) {
      const cp = centred[p];
      if (cp === 0) continue;
      for (let q = p; q < columns; q += 1) covariance[p * columns + q] += cp * centred[q];
    }
  }
  for (let p = 0; p < columns; p += 1) {
    for (let q = p; q < columns; q += 1) {
      const value = covariance[p * columns + q] / (rows - 1);
      covariance[p * columns + q] = value;
      covariance[q * columns + p] = value;
    }
  }
  return covariance;
}
