/**
 * Spherical linear interpolation (slerp) between unit vectors, as unCLIP uses it to move
 * between CLIP embeddings: interpolations between two image embeddings and text diffs
 * (Ramesh et al. 2022, "Hierarchical Text-Conditional Image Generation with CLIP Latents",
 * Sections 3.2 and 3.3). No dependencies, so pages and tests use it without TensorFlow.js.
 *
 *   slerp(a, b, t) = sin((1 − t) Ω) / sin Ω · a + sin(t Ω) / sin Ω · b,   cos Ω = a · b
 */

/** Below this angle (radians) between the inputs, slerp falls back to a normalised lerp, which agrees with it to rounding. */
const PARALLEL_ANGLE = 1e-6;
/** Above π minus this angle the great circle through the inputs is not unique, so slerp is rejected. */
const ANTIPODAL_MARGIN = 1e-4;

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Vectors of different lengths: ${a.length} and ${b.length}.`);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += a[i] * b[i];
  return sum;
}

/** Returns `vector` scaled to length 1. Raises a RangeError for a zero or non-finite vector. */
export function normalize(vector: ArrayLike<number>): Float32Array {
  const length = Math.sqrt(dot(vector, vector));
  if (!Number.isFinite(length) || length === 0) {
    throw new RangeError(`Cannot normalise a vector of length ${length}: it must be finite and non-zero.`);
  }
  return Float32Array.from(vector, (value) => value / length);
}

/**
 * Returns the point at fraction `t` of the great-circle arc from `a` to `b`: t = 0 gives a
 * and t = 1 gives b, and t outside [0, 1] continues along the same circle. Both inputs are
 * normalised first, so embeddings with rounding error are accepted. Raises a RangeError for
 * antipodal inputs, where the arc is not unique.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  if (!Number.isFinite(t)) throw new RangeError(`The slerp fraction must be a finite number, got ${t}.`);
  const unitA = normalize(a);
  const unitB = normalize(b);
  const cosine = Math.min(1, Math.max(-1, dot(unitA, unitB)));
  const omega = Math.acos(cosine);

  if (omega > Math.PI - ANTIPODAL_MARGIN) {
    throw new RangeError('Cannot slerp between opposite vectors (cosine −1): every great circle joins them. Pick another pair.');
  }

  let weightA = 1 - t;
  let weightB = t;
  if (omega >= PARALLEL_ANGLE) {
    const sinOmega = Math.sin(omega);
    weightA = Math.sin((1 - t) * omega) / sinOmega;
    weightB = Math.sin(t * omega) / sinOmega;
  }

  const mixed = new Float32Array(unitA.length);
  for (let i = 0; i < mixed.length; i += 1) mixed[i] = weightA * unitA[i] + weightB * unitB[i];
  return normalize(mixed);
}

/**
 * Returns `count` evenly spaced points of the arc from `a` to `b`, both ends included, as
 * one row-major [count, dim] array (count ≥ 2).
 */
export function slerpPath(a: ArrayLike<number>, b: ArrayLike<number>, count: number): Float32Array {
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`A slerp path needs a whole number of at least 2 points, got ${count}.`);
  const dim = a.length;
  const path = new Float32Array(count * dim);
  for (let i = 0; i < count; i += 1) path.set(slerp(a, b, i / (count - 1)), i * dim);
  return path;
}

/**
 * Returns the text diff direction z_d = norm(z_to − z_from) of two text embeddings (Ramesh
 * et al. 2022, Section 3.3). Raises a RangeError when the two embeddings are equal.
 */
export function normalizedDifference(from: ArrayLike<number>, to: ArrayLike<number>): Float32Array {
  if (from.length !== to.length) throw new RangeError(`Vectors of different lengths: ${from.length} and ${to.length}.`);
  const difference = Float32Array.from(to, (value, i) => value - from[i]);
  if (difference.every((value) => Math.abs(value) < 1e-9)) {
    throw new RangeError('The two text embeddings are equal, so their difference has no direction. Use two different prompts.');
  }
  return normalize(difference);
}
