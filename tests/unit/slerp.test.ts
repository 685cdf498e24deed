import { describe, expect, it } from 'vitest';

import { dot, normalize, normalizedDifference, slerp, slerpPath } from '../../src/components/charts/slerp';
import { Rng } from '../../src/models/data/rng';

function randomUnit(rng: Rng, dim: number): Float32Array {
  return normalize(Float64Array.from({ length: dim }, () => rng.normal()));
}

function norm(vector: ArrayLike<number>): number {
  return Math.sqrt(dot(vector, vector));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i += 1) expect(actual[i], `coordinate ${i}`).toBeCloseTo(expected[i], digits);
}

describe('slerp', () => {
  it('endpoints equal the inputs', () => {
    const rng = new Rng(7);
    const a = randomUnit(rng, 64);
    const b = randomUnit(rng, 64);

    expectClose(slerp(a, b, 0), a);
    expectClose(slerp(a, b, 1), b);
  });

  it('keeps unit norm along the arc', () => {
    const rng = new Rng(11);
    const a = randomUnit(rng, 64);
    const b = randomUnit(rng, 64);

    for (const t of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1, -0.3, 1.4]) {
      expect(norm(slerp(a, b, t)), `norm at t = ${t}`).toBeCloseTo(1, 6);
    }
  });

  it('midpoint of orthogonal vectors', () => {
    const a = [1, 0, 0];
    const b = [0, 1, 0];

    const middle = slerp(a, b, 0.5);

    expectClose(middle, [Math.SQRT1_2, Math.SQRT1_2, 0]);
  });

  it('moves at constant angular speed', () => {
    const a = [1, 0];
    const b = [0, 1];

    const point = slerp(a, b, 1 / 3);

    // A third of the way along a quarter circle is 30 degrees from a.
    expectClose(point, [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)]);
  });

  it('normalises inputs that are not unit length', () => {
    const middle = slerp([3, 0], [0, 0.5], 0.5);

    expectClose(middle, [Math.SQRT1_2, Math.SQRT1_2]);
  });

  it('nearly parallel vectors stay finite', () => {
    const a = [1, 0, 0];
    const b = normalize([1, 1e-9, 0]);

    const middle = slerp(a, b, 0.5);

    expect(Array.from(middle).every(Number.isFinite)).toBe(true);
    expect(norm(middle)).toBeCloseTo(1, 6);
  });

  it('rejects opposite vectors', () => {
    expect(() => slerp([1, 0], [-1, 0], 0.5)).toThrow(/opposite vectors/);
  });

  it('rejects zero vectors and mismatched lengths', () => {
    expect(() => slerp([0, 0], [1, 0], 0.5)).toThrow(/length 0/);
    expect(() => slerp([1, 0], [1, 0, 0], 0.5)).toThrow(/different lengths/);
    expect(() => slerp([1, 0], [0, 1], Number.NaN)).toThrow(/finite number/);
  });
});

describe('slerpPath', () => {
  it('starts at a, ends at b, with unit rows', () => {
    const rng = new Rng(3);
    const a = randomUnit(rng, 16);
    const b = randomUnit(rng, 16);

    const path = slerpPath(a, b, 5);

    expect(path.length).toBe(5 * 16);
    expectClose(path.subarray(0, 16), a);
    expectClose(path.subarray(4 * 16), b);
    for (let row = 0; row < 5; row += 1) expect(norm(path.subarray(row * 16, (row + 1) * 16)), `row ${row}`).toBeCloseTo(1, 6);
  });

  it('spaces the points by equal angles', () => {
    const path = slerpPath([1, 0], [0, 1], 4);

    const angles = [0, 1, 2, 3].map((row) => Math.atan2(path[row * 2 + 1], path[row * 2]));

    expect(angles[1] - angles[0]).toBeCloseTo(Math.PI / 6, 6);
    expect(angles[2] - angles[1]).toBeCloseTo(Math.PI / 6, 6);
    expect(angles[3] - angles[2]).toBeCloseTo(Math.PI / 6, 6);
  });

  it('rejects fewer than two points', () => {
    expect(() => slerpPath([1, 0], [0, 1], 1)).toThrow(/at least 2 points/);
  });
});

describe('normalizedDifference', () => {
  it('is the unit vector from one embedding to the other', () => {
    const direction = normalizedDifference([1, 0], [0, 1]);

    expectClose(direction, [-Math.SQRT1_2, Math.SQRT1_2]);
  });

  it('rejects equal embeddings', () => {
    expect(() => normalizedDifference([0.6, 0.8], [0.6, 0.8])).toThrow(/equal/);
  });
});
