import { beforeAll, describe, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients. The project's import map registers them on the
// same tfjs-core instance in Node and in bundles.
import '#tfjs-gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { registerWasmTrainingKernels } from '../../src/models/runtime/wasm-kernels';

type BackendName = 'cpu' | 'wasm';
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface Snapshot {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

const REPLACED_KERNELS = ['BatchMatMul', '_FusedMatMul', 'Conv2DBackpropInput'];
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

beforeAll(async () => {
  // Initialize wasm first, so these tests cover registration after tf.setBackend('wasm').
  await tf.setBackend('wasm');
  cpuKernelsBefore = new Map(
    [...REPLACED_KERNELS, ...ADDED_KERNELS].map((name) => [name, tf.getKernel(name, 'cpu')]),
  );
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
      expect(tf.getKernel(name, 'wasm')?.setupFunc, name).toBeTypeOf('function');
    }
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
