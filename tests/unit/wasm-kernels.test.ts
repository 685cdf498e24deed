import { beforeAll, describe, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients. The project's import map registers them on the
// same tfjs-core instance in Node and in bundles.
import '#tfjs-gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { buildSimdModule, registerWasmTrainingKernels } from '../../src/models/runtime/wasm-kernels';

type BackendName = 'cpu' | 'wasm';
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface Snapshot {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

const REPLACED_KERNELS = ['BatchMatMul', '_FusedMatMul', 'Conv2DBackpropInput', 'Slice', 'SplitV', 'Transpose', 'Identity', 'Cast', 'Sum'];
const ADDED_KERNELS = ['Conv2DBackpropFilter', 'UnsortedSegmentSum'];

/** Uniform values in [-1, 1) from the mulberry32 generator, so both backends see the same inputs. */
function seededValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return values;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(tf.util.sizeFromShape(shape), seed), shape);
}

async function evaluateOn(backendName: BackendName, compute: () => tf.Tensor | tf.Tensor[]): Promise<Snapshot[]> {
  await tf.setBackend(backendName);
  const result = tf.tidy(compute);
  const outputs = Array.isArray(result) ? result : [result];
  const snapshots = outputs.map((t) => ({ shape: t.shape, values: t.dataSync() }));
  tf.dispose(outputs);
  return snapshots;
}

/**
 * Compares every output of `compute` on wasm against the cpu backend. Tolerance (expectClose):
 * the max abs error over a tensor must be ≤ 1e-5 · max(1, max |cpu value|), because float32 sums
 * taken in a different order differ in proportion to the magnitude of the values being summed.
 */
async function expectWasmMatchesCpu(label: string, compute: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const expected = await evaluateOn('cpu', compute);
  const actual = await evaluateOn('wasm', compute);
  expect(actual.length, `${label}: output count`).toBe(expected.length);

  for (let i = 0; i < expected.length; i++) {
    expectClose(`${label}: output ${i}`, actual[i], expected[i]);
  }
}

function expectClose(label: string, actual: Snapshot, expected: Snapshot): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  let maxError = 0;
  let scale = 1;
  for (let k = 0; k < expected.values.length; k++) {
    maxError = Math.max(maxError, Math.abs(actual.values[k] - expected.values[k]));
    scale = Math.max(scale, Math.abs(expected.values[k]));
  }
  expect(maxError, `${label}: max abs error (scale ${scale})`).toBeLessThanOrEqual(1e-5 * scale);
}

function wasmBackend(): BackendWasm {
  return tf.findBackend('wasm') as BackendWasm;
}

let cpuKernelsBefore: Map<string, tf.KernelConfig | undefined>;
let wasmKernelsBefore: Map<string, tf.KernelConfig | undefined>;

beforeAll(async () => {
  // Initialize wasm first, so these tests cover registration after tf.setBackend('wasm').
  await tf.setBackend('wasm');
  cpuKernelsBefore = new Map(
    [...REPLACED_KERNELS, ...ADDED_KERNELS].map((name) => [name, tf.getKernel(name, 'cpu')]),
  );
  wasmKernelsBefore = new Map(REPLACED_KERNELS.map((name) => [name, tf.getKernel(name, 'wasm')]));
  registerWasmTrainingKernels();
});

describe('registerWasmTrainingKernels', () => {
  test('adds the missing wasm kernels', () => {
    for (const name of ADDED_KERNELS) {
      expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    }
  });

  test('second call changes nothing', () => {
    const before = [...REPLACED_KERNELS, ...ADDED_KERNELS].map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    registerWasmTrainingKernels();
    const after = [...REPLACED_KERNELS, ...ADDED_KERNELS].map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    expect(after).toEqual(before);
  });

  test('leaves cpu kernels untouched', () => {
    for (const [name, config] of cpuKernelsBefore) {
      expect(tf.getKernel(name, 'cpu'), name).toBe(config);
    }
  });

  test('replacements keep the original setupFunc', () => {
    for (const name of REPLACED_KERNELS) {
      const replacement = tf.getKernel(name, 'wasm');
      expect(replacement?.kernelFunc, name).not.toBe(wasmKernelsBefore.get(name)?.kernelFunc);
      expect(replacement?.setupFunc, name).toBe(wasmKernelsBefore.get(name)?.setupFunc);
    }
    expect(tf.getKernel('BatchMatMul', 'wasm')?.setupFunc).toBeTypeOf('function');
  });
});

interface ConvCase {
  input: [number, number, number, number];
  kernel: number;
  outChannels: number;
  stride: number;
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { input: [2, 28, 28, 3], kernel: 3, outChannels: 4, stride: 1, pad: 'same' },
  { input: [2, 28, 28, 3], kernel: 3, outChannels: 4, stride: 2, pad: 'same' },
  { input: [3, 14, 14, 2], kernel: 4, outChannels: 5, stride: 2, pad: 'same' },
  { input: [3, 14, 14, 2], kernel: 4, outChannels: 3, stride: 1, pad: 'same' },
  { input: [2, 7, 7, 4], kernel: 3, outChannels: 3, stride: 2, pad: 'same' },
  { input: [2, 7, 7, 4], kernel: 5, outChannels: 2, stride: 1, pad: 'valid' },
  { input: [2, 28, 28, 1], kernel: 5, outChannels: 4, stride: 2, pad: 'valid' },
  { input: [2, 14, 14, 3], kernel: 1, outChannels: 4, stride: 2, pad: 'valid' },
  { input: [2, 14, 14, 3], kernel: 1, outChannels: 4, stride: 1, pad: 'same' },
  { input: [2, 7, 9, 3], kernel: 3, outChannels: 2, stride: 2, pad: 1 },
  { input: [2, 7, 7, 2], kernel: 3, outChannels: 3, stride: 2, pad: 3 },
  { input: [2, 6, 6, 2], kernel: 3, outChannels: 3, stride: 1, pad: 4 },
  { input: [2, 9, 8, 2], kernel: 4, outChannels: 3, stride: 3, pad: 'same' },
  { input: [2, 8, 7, 2], kernel: 3, outChannels: 2, stride: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
];

function describeConv(c: ConvCase): string {
  return `${c.input.join('x')} k${c.kernel} s${c.stride} pad ${JSON.stringify(c.pad)}`;
}

/** Returns [dx, dFilter] of conv2d for the case, with a seeded upstream gradient dy. */
function conv2dGradients(c: ConvCase): tf.Tensor[] {
  const x = randomTensor(c.input, 1) as tf.Tensor4D;
  const filter = randomTensor([c.kernel, c.kernel, c.input[3], c.outChannels], 2) as tf.Tensor4D;
  const outShape = tf.conv2d(x, filter, c.stride, c.pad).shape;
  const dy = randomTensor(outShape, 3);
  return tf.grads((xs: tf.Tensor, fs: tf.Tensor) =>
    tf.conv2d(xs as tf.Tensor4D, fs as tf.Tensor4D, c.stride, c.pad),
  )([x, filter], dy);
}

describe('Conv2D gradients on wasm', () => {
  test.each(CONV_CASES.map((c) => [describeConv(c), c] as const))(
    'Conv2DBackpropFilter %s',
    async (label, c) => {
      await expectWasmMatchesCpu(`dFilter ${label}`, () => conv2dGradients(c)[1]);
    },
  );

  test.each(CONV_CASES.map((c) => [describeConv(c), c] as const))(
    'Conv2DBackpropInput %s',
    async (label, c) => {
      await expectWasmMatchesCpu(`dx ${label}`, () => conv2dGradients(c)[0]);
    },
  );

  test('conv2dTranspose forward, stride 2, odd output', async () => {
    await expectWasmMatchesCpu('conv2dTranspose 4 -> 7', () => {
      const x = randomTensor([2, 4, 4, 6], 4) as tf.Tensor4D;
      const filter = randomTensor([3, 3, 5, 6], 5) as tf.Tensor4D;
      return tf.conv2dTranspose(x, filter, [2, 7, 7, 5], 2, 'same');
    });
  });

  test('conv2dTranspose forward, stride 2, kernel 4, even output', async () => {
    await expectWasmMatchesCpu('conv2dTranspose 7 -> 14', () => {
      const x = randomTensor([2, 7, 7, 3], 6) as tf.Tensor4D;
      const filter = randomTensor([4, 4, 2, 3], 7) as tf.Tensor4D;
      return tf.conv2dTranspose(x, filter, [2, 14, 14, 2], 2, 'same');
    });
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  const repeatedIds = [0, 2, 2, 5, 0, 0, 1];

  test('float32 with repeated and empty segments', async () => {
    await expectWasmMatchesCpu('float32 [7, 3]', () =>
      tf.unsortedSegmentSum(randomTensor([7, 3], 8), tf.tensor1d(repeatedIds, 'int32'), 6),
    );
  });

  test('float32 rank 3', async () => {
    await expectWasmMatchesCpu('float32 [7, 2, 3]', () =>
      tf.unsortedSegmentSum(randomTensor([7, 2, 3], 9), tf.tensor1d(repeatedIds, 'int32'), 6),
    );
  });

  test('out-of-range ids are skipped', async () => {
    await expectWasmMatchesCpu('ids -1 and 6 of 6 segments', () =>
      tf.unsortedSegmentSum(randomTensor([5, 3], 8), tf.tensor1d([0, -1, 6, 5, 0], 'int32'), 6),
    );
  });

  test('int32 values match cpu', async () => {
    await expectWasmMatchesCpu('int32 [7, 2]', () => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [7, 2], 'int32');
      return tf.unsortedSegmentSum(x, tf.tensor1d(repeatedIds, 'int32'), 6);
    });
  });

  test('int32 sums are exact', async () => {
    const [result] = await evaluateOn('wasm', () => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [7, 2], 'int32');
      return tf.unsortedSegmentSum(x, tf.tensor1d(repeatedIds, 'int32'), 6);
    });
    expect(result.shape).toEqual([6, 2]);
    expect(Array.from(result.values)).toEqual([1 + 9 + 11, 2 + 10 + 12, 13, 14, 3 + 5, 4 + 6, 0, 0, 0, 0, 7, 8]);
  });

  test('gather gradient for an embedding table', async () => {
    await expectWasmMatchesCpu('embedding gradient', () => {
      const table = randomTensor([10, 4], 10);
      const tokens = tf.tensor2d([[1, 3, 3, 9, 0], [3, 3, 2, 1, 1], [9, 9, 9, 0, 4]], [3, 5], 'int32');
      const dy = randomTensor([3, 5, 4], 11);
      return tf.grad((t: tf.Tensor) => tf.gather(t, tokens))(table, dy);
    });
  });

  test('gather gradient along axis 1', async () => {
    await expectWasmMatchesCpu('gather axis 1 gradient', () => {
      const params = randomTensor([3, 6, 2], 12);
      const indices = tf.tensor1d([5, 0, 5, 2], 'int32');
      const dy = randomTensor([3, 4, 2], 13);
      return tf.grad((p: tf.Tensor) => tf.gather(p, indices, 1))(params, dy);
    });
  });
});

interface MatMulCase {
  a: number[];
  b: number[];
}

/** Untransposed operand shapes [.., m, k] and [.., k, n]. Transposed cases swap the last two. */
const MATMUL_CASES: MatMulCase[] = [
  { a: [5, 7], b: [7, 4] },
  { a: [3, 5, 7], b: [3, 7, 4] },
  { a: [2, 3, 5, 7], b: [7, 4] },
  { a: [3, 5, 7], b: [1, 7, 4] },
  { a: [5, 7], b: [3, 7, 4] },
  { a: [1, 5, 7], b: [3, 7, 4] },
];

function transposedShape(shape: number[], transpose: boolean): number[] {
  if (!transpose) {
    return shape;
  }
  const out = [...shape];
  [out[out.length - 2], out[out.length - 1]] = [out[out.length - 1], out[out.length - 2]];
  return out;
}

const TRANSPOSE_COMBOS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

function makeMatMulTable(cases: MatMulCase[]) {
  return cases.flatMap((c) =>
    TRANSPOSE_COMBOS.map(
      ([transposeA, transposeB]) =>
        [`${c.a.join('x')} · ${c.b.join('x')} tA=${transposeA} tB=${transposeB}`, c, transposeA, transposeB] as const,
    ),
  );
}

const MATMUL_TABLE = makeMatMulTable(MATMUL_CASES);

// tfjs-core 4.22's BatchMatMul gradient does not sum over broadcast batch dimensions and throws
// on every backend, so gradients are compared only where both operands have the same batch shape.
const MATMUL_GRADIENT_TABLE = makeMatMulTable(
  MATMUL_CASES.filter((c) => tf.util.arraysEqual(c.a.slice(0, -2), c.b.slice(0, -2))),
);

describe('BatchMatMul on wasm', () => {
  test.each(MATMUL_TABLE)('matMul %s', async (label, c, transposeA, transposeB) => {
    await expectWasmMatchesCpu(label, () => {
      const a = randomTensor(transposedShape(c.a, transposeA), 14);
      const b = randomTensor(transposedShape(c.b, transposeB), 15);
      return tf.matMul(a, b, transposeA, transposeB);
    });
  });

  test.each(MATMUL_GRADIENT_TABLE)('matMul gradients %s', async (label, c, transposeA, transposeB) => {
    await expectWasmMatchesCpu(`gradients ${label}`, () => {
      const a = randomTensor(transposedShape(c.a, transposeA), 16);
      const b = randomTensor(transposedShape(c.b, transposeB), 17);
      const outShape = tf.matMul(a, b, transposeA, transposeB).shape;
      const dy = randomTensor(outShape, 18);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, transposeA, transposeB))([a, b], dy);
    });
  });

  test.each(TRANSPOSE_COMBOS)('fused matMul with bias and relu, tA=%s tB=%s', async (transposeA, transposeB) => {
    await expectWasmMatchesCpu(`fused tA=${transposeA} tB=${transposeB}`, () => {
      const a = randomTensor(transposedShape([3, 6, 8], transposeA), 19);
      const b = randomTensor(transposedShape([1, 8, 5], transposeB), 20);
      const bias = randomTensor([5], 21);
      return tf.fused.matMul({ a, b, transposeA, transposeB, bias, activation: 'relu' });
    });
  });
});

/** Shapes [batch…, m, k] · [batch…, k, n] for the SIMD kernel's edges and broadcasts. */
const SIMD_MATMUL_CASES: MatMulCase[] = [
  // Attention products of DALL·E-mini: [b, heads, L, d] · [b, heads, d, L], and weights · values.
  { a: [2, 4, 13, 8], b: [2, 4, 8, 13] },
  { a: [2, 4, 13, 13], b: [2, 4, 13, 8] },
  // One query row, as in key/value-cache decoding.
  { a: [3, 2, 1, 6], b: [3, 2, 6, 9] },
  // Row counts 1 … 9 and column counts around the 4- and 8-wide tiles.
  { a: [3, 9, 5], b: [3, 5, 17] },
  { a: [2, 6, 3], b: [2, 3, 12] },
  { a: [2, 7, 1], b: [2, 1, 3] },
  // Broadcast batches: equal after leading 1s, or one a trailing part of the other.
  { a: [1, 5, 7], b: [3, 7, 6] },
  { a: [2, 3, 5, 7], b: [3, 7, 6] },
  { a: [3, 5, 7], b: [2, 3, 7, 6] },
  { a: [1, 1, 5, 7], b: [4, 7, 6] },
  // Unbatched products, which the SIMD kernel also takes while b is small.
  { a: [33, 20], b: [20, 40] },
  // k above one part (131072 bytes of b rows per part: 819 rows of 40), so parts accumulate.
  { a: [5, 1000], b: [1000, 40] },
  // b above 256 KiB, untransposed: XNNPACK keeps it where fused multiply-adds are missing.
  { a: [6, 300], b: [300, 300] },
];

const SIMD_MATMUL_TABLE = makeMatMulTable(SIMD_MATMUL_CASES);

const SIMD_MATMUL_GRADIENT_TABLE = makeMatMulTable(
  SIMD_MATMUL_CASES.filter((c) => tf.util.arraysEqual(c.a.slice(0, -2), c.b.slice(0, -2))),
);

describe('SIMD BatchMatMul on wasm', () => {
  test.each(SIMD_MATMUL_TABLE)('matMul %s', async (label, c, transposeA, transposeB) => {
    await expectWasmMatchesCpu(label, () => {
      const a = randomTensor(transposedShape(c.a, transposeA), 90);
      const b = randomTensor(transposedShape(c.b, transposeB), 91);
      return tf.matMul(a, b, transposeA, transposeB);
    });
  });

  test.each(SIMD_MATMUL_GRADIENT_TABLE)('matMul gradients %s', async (label, c, transposeA, transposeB) => {
    await expectWasmMatchesCpu(`gradients ${label}`, () => {
      const a = randomTensor(transposedShape(c.a, transposeA), 92);
      const b = randomTensor(transposedShape(c.b, transposeB), 93);
      const dy = randomTensor(tf.matMul(a, b, transposeA, transposeB).shape, 94);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, transposeA, transposeB))([a, b], dy);
    });
  });

  test('middle-broadcast batches fall back', async () => {
    // [2, 1] against [1, 3] broadcasts to [2, 3]. The fallback kernel handles it as tfjs does.
    await expectWasmMatchesCpu('[2, 1, 4, 5] · [1, 3, 5, 2]', () =>
      tf.matMul(randomTensor([2, 1, 4, 5], 95), randomTensor([1, 3, 5, 2], 96)),
    );
  });

  test('scaled dot-product attention gradients', async () => {
    await expectWasmMatchesCpu('attention gradients', () => {
      const q = randomTensor([2, 3, 7, 4], 97);
      const k = randomTensor([2, 3, 7, 4], 98);
      const v = randomTensor([2, 3, 7, 4], 99);
      const dy = randomTensor([2, 3, 7, 4], 100);
      const attend = (qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor) =>
        tf.matMul(tf.softmax(tf.mul(tf.matMul(qs, ks, false, true), 0.5)), vs);
      return tf.grads(attend)([q, k, v], dy);
    });
  });
});

interface RawProduct {
  batch: number;
  aBatchCount: number;
  bBatchCount: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  kChunk: number;
}

/**
 * Runs the generated module's batchMatMul on its own memory and returns the largest error
 * against a float64 reference, relative to max(1, largest |reference value|).
 */
function rawProductError(fusedMultiplyAdd: boolean, c: RawProduct): number {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(buildSimdModule(fusedMultiplyAdd)), { env: { memory } });
  const batchMatMul = instance.exports.batchMatMul as (...args: number[]) => void;
  const heap = new Float32Array(memory.buffer);
  const aSize = c.m * c.k;
  const bSize = c.k * c.n;
  const [aStart, bStart] = [0, c.aBatchCount * aSize];
  const outStart = bStart + c.bBatchCount * bSize;
  const scratchStart = outStart + c.batch * c.m * c.n;
  heap.set(seededValues(c.aBatchCount * aSize, 130), aStart);
  heap.set(seededValues(c.bBatchCount * bSize, 131), bStart);

  batchMatMul(
    aStart * 4,
    bStart * 4,
    outStart * 4,
    scratchStart * 4,
    c.batch,
    c.aBatchCount,
    c.bBatchCount,
    c.m,
    c.k,
    c.n,
    (c.transposeA ? 1 : c.k) * 4,
    (c.transposeA ? c.m : 1) * 4,
    c.transposeB ? 1 : 0,
    c.kChunk,
  );

  let maxError = 0;
  let scale = 1;
  for (let product = 0; product < c.batch; product++) {
    const a = aStart + (product % c.aBatchCount) * aSize;
    const b = bStart + (product % c.bBatchCount) * bSize;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let sum = 0;
        for (let p = 0; p < c.k; p++) {
          const aValue = heap[a + (c.transposeA ? p * c.m + i : i * c.k + p)];
          const bValue = heap[b + (c.transposeB ? j * c.k + p : p * c.n + j)];
          sum += aValue * bValue;
        }
        maxError = Math.max(maxError, Math.abs(sum - heap[outStart + (product * c.m + i) * c.n + j]));
        scale = Math.max(scale, Math.abs(sum));
      }
    }
  }
  return maxError / scale;
}

const RAW_PRODUCTS: RawProduct[] = [
  { batch: 3, aBatchCount: 3, bBatchCount: 3, m: 9, k: 10, n: 13, transposeA: false, transposeB: false, kChunk: 3 },
  { batch: 3, aBatchCount: 1, bBatchCount: 3, m: 5, k: 7, n: 8, transposeA: true, transposeB: false, kChunk: 16 },
  { batch: 4, aBatchCount: 4, bBatchCount: 2, m: 4, k: 6, n: 7, transposeA: false, transposeB: true, kChunk: 4 },
  { batch: 2, aBatchCount: 2, bBatchCount: 2, m: 1, k: 13, n: 21, transposeA: true, transposeB: true, kChunk: 5 },
];

describe('generated SIMD module', () => {
  test.each(
    [true, false].flatMap((fused) =>
      RAW_PRODUCTS.map((c) => [`fused=${fused} ${c.batch}×${c.m}x${c.k}x${c.n} tA=${c.transposeA} tB=${c.transposeB} kChunk ${c.kChunk}`, fused, c] as const),
    ),
  )('batchMatMul %s', (label, fused, c) => {
    expect(rawProductError(fused, c), label).toBeLessThanOrEqual(1e-5);
  });

  test('validates with and without fused multiply-adds', () => {
    expect(WebAssembly.validate(buildSimdModule(false))).toBe(true);
    // Node 24's V8 has relaxed SIMD, which the fused module needs.
    expect(WebAssembly.validate(buildSimdModule(true))).toBe(true);
  });

  test('columnSum adds rows in order', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(buildSimdModule(false)), { env: { memory } });
    const columnSum = instance.exports.columnSum as (x: number, out: number, rows: number, cols: number) => void;
    const heap = new Float32Array(memory.buffer);
    const [rows, cols] = [5, 7];
    heap.set(seededValues(rows * cols, 132));
    heap.fill(99, rows * cols, rows * cols + cols);

    columnSum(0, rows * cols * 4, rows, cols);

    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let i = 0; i < rows; i++) {
        sum = Math.fround(sum + heap[i * cols + j]);
      }
      expect(heap[rows * cols + j], `column ${j}`).toBe(sum);
    }
  });
});

describe('Sum over leading axes on wasm', () => {
  test.each([
    ['[1920, 96] axis 0', [1920, 96], [0], false],
    ['[7, 5] axis 0 keepDims', [7, 5], [0], true],
    ['[3, 4, 9] axes 0, 1', [3, 4, 9], [0, 1], false],
    ['[3, 4, 9] axes 1, 0 keepDims', [3, 4, 9], [1, 0], true],
    ['[6, 3] axis -2', [6, 3], [-2], false],
    ['[5, 3] axis 1 (stock kernel)', [5, 3], [1], false],
    ['[4, 6] all axes (stock kernel)', [4, 6], [0, 1], false],
  ] as const)('sum %s', async (label, shape, axis, keepDims) => {
    await expectWasmMatchesCpu(label, () => tf.sum(randomTensor([...shape], 101), [...axis], keepDims));
  });

  test('int32 sum over axis 0 is exact', async () => {
    const [result] = await evaluateOn('wasm', () => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0));
    expect(Array.from(result.values)).toEqual([9, 12]);
  });

  test('bias gradient of a broadcast add', async () => {
    await expectWasmMatchesCpu('bias gradient', () => {
      const x = randomTensor([9, 6], 102);
      const bias = randomTensor([6], 103);
      const dy = randomTensor([9, 6], 104);
      return tf.grad((b: tf.Tensor) => tf.add(x, b))(bias, dy);
    });
  });
});

interface SliceCase {
  shape: number[];
  begin: number[];
  size: number[];
}

const SLICE_CASES: SliceCase[] = [
  { shape: [10], begin: [3], size: [4] },
  { shape: [6, 9], begin: [1, 2], size: [3, 5] },
  { shape: [6, 9], begin: [2, 0], size: [3, 9] },
  { shape: [4, 5, 6], begin: [1, 0, 2], size: [2, 5, 3] },
  { shape: [4, 5, 6], begin: [0, 1, 0], size: [4, 3, 6] },
  { shape: [2, 3, 4, 5], begin: [1, 1, 1, 1], size: [1, 2, 3, 4] },
  { shape: [2, 3, 2, 3, 2], begin: [0, 1, 0, 1, 1], size: [2, 2, 2, 2, 1] },
  { shape: [4, 5], begin: [1, 1], size: [0, 3] },
];

describe('Slice and SplitV on wasm', () => {
  test.each(SLICE_CASES.map((c) => [`${c.shape.join('x')} from ${c.begin} size ${c.size}`, c] as const))(
    'float32 slice %s',
    async (label, c) => {
      await expectWasmMatchesCpu(label, () => tf.slice(randomTensor(c.shape, 110), c.begin, c.size));
    },
  );

  test('int32 and bool slices', async () => {
    await expectWasmMatchesCpu('int32 and bool', () => {
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4], 'int32');
      const flags = tf.greater(randomTensor([3, 4], 111), 0);
      return [tf.slice(ints, [1, 1], [2, 2]), tf.cast(tf.slice(flags, [0, 1], [3, 3]), 'int32')];
    });
  });

  test('split into equal parts and by sizes', async () => {
    await expectWasmMatchesCpu('split', () => {
      const x = randomTensor([5, 12, 3], 112);
      return [...tf.split(x, 3, 1), ...tf.split(x, [2, -1, 1], 0)];
    });
  });

  test('slice and split gradients', async () => {
    await expectWasmMatchesCpu('slice and split gradients', () => {
      const x = randomTensor([4, 9], 113);
      const dySlice = randomTensor([2, 5], 114);
      const sliceGradient = tf.grad((t: tf.Tensor) => tf.slice(t, [1, 2], [2, 5]))(x, dySlice);
      const splitGradient = tf.grad((t: tf.Tensor) => {
        const [first, second] = tf.split(t, [4, 5], 1);
        return tf.sum(tf.mul(first, 2)).add(tf.sum(tf.mul(second, 3)));
      })(x);
      return [sliceGradient, splitGradient];
    });
  });
});

describe('Transpose, Identity and Cast without copies on wasm', () => {
  test('transposes that move only size-1 dimensions', async () => {
    await expectWasmMatchesCpu('size-1 transposes', () => {
      const x = randomTensor([3, 1, 4, 5], 120);
      return [tf.transpose(x, [0, 2, 1, 3]), tf.transpose(x, [1, 0, 2, 3]), tf.transpose(x, [0, 1, 3, 2])];
    });
  });

  test('copy-free kernels share the buffer', async () => {
    await tf.setBackend('wasm');
    const backend = wasmBackend();
    const x = randomTensor([4, 5], 121);
    const dataIdsBefore = backend.numDataIds();

    const copies = [tf.clone(x), tf.cast(x, 'float32'), tf.tidy(() => tf.transpose(tf.reshape(x, [4, 1, 5]), [1, 0, 2]))];

    expect(backend.numDataIds()).toBe(dataIdsBefore);
    const expected = Array.from(x.dataSync());
    x.dispose();
    for (const copy of copies) {
      expect(Array.from(copy.dataSync())).toEqual(expected);
    }
    tf.dispose(copies);
    expect(backend.numDataIds()).toBe(dataIdsBefore - 1);
  });

  test('casts to another dtype convert', async () => {
    await expectWasmMatchesCpu('int32 to float32, float32 to int32 and numbers to bool', () => {
      const ints = tf.tensor1d([-3, 0, 7], 'int32');
      const floats = tf.tensor1d([-2.5, 0.25, 7.75]);
      return [
        tf.cast(ints, 'float32'),
        tf.cast(floats, 'int32'),
        tf.cast(tf.cast(floats, 'bool'), 'float32'),
        tf.cast(tf.cast(ints, 'bool'), 'int32'),
      ];
    });
  });
});

interface PoolCase {
  input: [number, number, number, number];
  filter: number;
  stride: number;
  pad: 'same' | 'valid';
}

const POOL_CASES: PoolCase[] = [
  { input: [2, 14, 14, 3], filter: 2, stride: 2, pad: 'same' },
  { input: [2, 7, 7, 3], filter: 2, stride: 2, pad: 'same' },
  { input: [2, 7, 7, 3], filter: 2, stride: 2, pad: 'valid' },
  { input: [2, 9, 8, 2], filter: 3, stride: 2, pad: 'same' },
  { input: [2, 6, 6, 2], filter: 3, stride: 1, pad: 'valid' },
];

describe('pooling and resize gradients on wasm', () => {
  test.each(POOL_CASES.map((c) => [`${c.input.join('x')} f${c.filter} s${c.stride} ${c.pad}`, c] as const))(
    'MaxPoolGrad with negative values and ties %s',
    async (label, c) => {
      await expectWasmMatchesCpu(`maxPool ${label}`, () => {
        // Negative windows, and ties among the zeros left by relu, both occur in trained nets.
        const x = tf.relu(tf.sub(randomTensor(c.input, 70), 0.3));
        const negative = tf.sub(randomTensor(c.input, 71), 1.5);
        const dy = randomTensor(tf.maxPool(x as tf.Tensor4D, c.filter, c.stride, c.pad).shape, 72);
        const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, c.filter, c.stride, c.pad);
        return [tf.grad(pool)(x, dy), tf.grad(pool)(negative, dy)];
      });
    },
  );

  test.each(POOL_CASES.map((c) => [`${c.input.join('x')} f${c.filter} s${c.stride} ${c.pad}`, c] as const))(
    'AvgPoolGrad %s',
    async (label, c) => {
      await expectWasmMatchesCpu(`avgPool ${label}`, () => {
        const x = randomTensor(c.input, 73);
        const dy = randomTensor(tf.avgPool(x as tf.Tensor4D, c.filter, c.stride, c.pad).shape, 74);
        return tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, c.filter, c.stride, c.pad))(x, dy);
      });
    },
  );

  test.each([
    ['7x7 -> 14x14', [7, 7], [14, 14], false],
    ['14x14 -> 10x10', [14, 14], [10, 10], false],
    ['5x6 -> 9x13 align corners', [5, 6], [9, 13], true],
  ] as const)('ResizeNearestNeighborGrad %s', async (label, inSize, outSize, alignCorners) => {
    // The tfjs 4.22 cpu kernel reads dy at the images' batch offset, which is wrong for batch > 1,
    // so the reference runs one example at a time on cpu.
    const batch = 3;
    const gradient = (images: tf.Tensor, dy: tf.Tensor) =>
      tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [...outSize], alignCorners))(
        images,
        dy,
      );
    const images = () => randomTensor([batch, ...inSize, 2], 80);
    const dy = () => randomTensor([batch, ...outSize, 2], 81);

    const [actual] = await evaluateOn('wasm', () => gradient(images(), dy()));
    const [expected] = await evaluateOn('cpu', () => {
      const perExample = [];
      for (let b = 0; b < batch; b++) {
        const slice = (t: tf.Tensor) => tf.slice(t, [b, 0, 0, 0], [1, -1, -1, -1]);
        perExample.push(gradient(slice(images()), slice(dy())));
      }
      return tf.concat(perExample, 0);
    });

    expectClose(label, actual, expected);
  });
});

/**
 * Parameters of a small conv autoencoder with a classifier head, which exercises the wasm kernels
 * such a model trains through: Conv2D, MaxPool, AvgPool, conv2dTranspose, bilinear resize,
 * activations, softmax, dense and embedding layers.
 */
function makeTinyNetParams(): tf.Tensor[] {
  return [
    randomTensor([3, 3, 1, 8], 30),
    randomTensor([3, 3, 8, 16], 31),
    randomTensor([3, 3, 8, 16], 32),
    randomTensor([4, 4, 8, 1], 33),
    randomTensor([2 * 2 * 16, 10], 34),
    randomTensor([10], 35),
    randomTensor([10, 16], 36),
  ].map((t) => tf.mul(t, 0.3));
}

function tinyNetLoss(params: tf.Tensor[]): tf.Scalar {
  const [conv1, conv2, deconv1, deconv2, dense, denseBias, embedding] = params as [
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor2D,
    tf.Tensor1D,
    tf.Tensor2D,
  ];
  const images = randomTensor([4, 14, 14, 1], 40) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([1, 7, 3, 0], 'int32'), 10);
  const tokens = tf.tensor1d([2, 5, 5, 9], 'int32');

  // Encoder: 14x14x1 -> 7x7x8 -> 4x4x16, plus a class-conditional embedding.
  let h: tf.Tensor4D = tf.leakyRelu(tf.conv2d(images, conv1, 1, 'same'), 0.2);
  h = tf.maxPool(h, 2, 2, 'same');
  h = tf.elu(tf.conv2d(h, conv2, 2, 'same'));
  const condition = tf.reshape(tf.gather(embedding, tokens), [4, 1, 1, 16]);
  const code = tf.add(h, condition) as tf.Tensor4D;

  // Decoder: 4x4x16 -> 7x7x8 -> 14x14x8 -> 14x14x1 -> 10x10x1 -> 14x14x1. It has no
  // depthToSpace, because tfjs-core 4.22 registers no gradient for DepthToSpace, and no
  // nearest-neighbour resize, whose cpu gradient is wrong for batch > 1 (tested separately).
  let d: tf.Tensor4D = tf.relu(tf.conv2dTranspose(code, deconv1, [4, 7, 7, 8], 2, 'same'));
  d = tf.image.resizeBilinear(d, [14, 14]);
  d = tf.conv2d(d, deconv2, 1, 'same');
  d = tf.image.resizeBilinear(d, [10, 10]);
  d = tf.sigmoid(tf.image.resizeBilinear(d, [14, 14]));
  const reconstruction = tf.mean(tf.squaredDifference(d, images));

  // Classifier head on the code.
  const pooled = tf.reshape(tf.avgPool(code, 2, 2, 'valid'), [4, 2 * 2 * 16]);
  const logits = tf.add(tf.matMul(pooled, dense), denseBias);
  const crossEntropy = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1)));
  const confidence = tf.mean(tf.max(tf.softmax(logits), -1));

  return tf.addN([reconstruction, crossEntropy, tf.mul(confidence, 0.1)]) as tf.Scalar;
}

function tinyNetGradients(params: tf.Tensor[]): tf.Tensor[] {
  return tf.grads((...p: tf.Tensor[]) => tinyNetLoss(p))(params);
}

describe('tiny conv net on wasm', () => {
  test('all parameter gradients match cpu', async () => {
    await expectWasmMatchesCpu('tiny net gradients', () => tinyNetGradients(makeTinyNetParams()));
  });

  test('20 gradient steps leak no tensors or wasm buffers', async () => {
    await tf.setBackend('wasm');
    const params = makeTinyNetParams().map((t) => tf.variable(t));
    const step = () => {
      tf.tidy(() => {
        const gradients = tinyNetGradients(params);
        params.forEach((p, i) => p.assign(tf.sub(p, tf.mul(gradients[i], 0.01))));
        // Transposed, batched and folded matmuls, and stride-1 backprop through the new kernels.
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, true, true))([
          randomTensor([6, 5], 50),
          randomTensor([7, 6], 51),
        ]);
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, true, false))([
          randomTensor([4, 6, 5], 53),
          randomTensor([4, 6, 7], 54),
        ]);
        tf.matMul(randomTensor([4, 5, 6], 55), randomTensor([7, 6], 56), false, true);
        // The SIMD kernel's batched, transposed route, leading-axis sums, slices and copies.
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b, false, true), 0))([
          randomTensor([3, 6, 5], 57),
          randomTensor([3, 7, 5], 58),
        ]);
        tf.split(tf.clone(randomTensor([4, 9], 59)), 3, 1);
        tf.cast(tf.transpose(randomTensor([2, 1, 3], 62), [1, 0, 2]), 'float32');
        tf.grad((x: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, params[0] as tf.Tensor4D, 1, 'valid'))(
          randomTensor([2, 9, 9, 1], 52),
        );
      });
    };
    step();
    const tensorsBefore = tf.memory().numTensors;
    const dataIdsBefore = wasmBackend().numDataIds();

    for (let i = 0; i < 20; i++) {
      step();
    }

    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(wasmBackend().numDataIds()).toBe(dataIdsBefore);
    tf.dispose(params);
  });

  test('replacements survive backend re-initialization', async () => {
    // Re-creating the backend runs every kernel's setupFunc again, which the wrapped stock
    // kernels need to bind to the new WebAssembly instance.
    const factory = tf.findBackendFactory('wasm');
    expect(factory).not.toBeNull();
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', factory!, 2);

    await expectWasmMatchesCpu('matMul after re-init', () =>
      tf.matMul(randomTensor([6, 5], 60), randomTensor([7, 6], 61), true, true),
    );
    await expectWasmMatchesCpu('conv gradients after re-init', () => conv2dGradients(CONV_CASES[1]));
  });
});
