/**
 * Training kernels for the TensorFlow.js WebAssembly backend (tfjs-backend-wasm 4.22).
 *
 * The stock backend cannot train conv nets or embeddings, and trains dense layers and
 * transformers slowly:
 * - It has no Conv2DBackpropFilter and no UnsortedSegmentSum kernel, so the gradients of
 *   conv2d and gather throw.
 * - Its BatchMatMul and _FusedMatMul reach XNNPACK only when neither operand is transposed
 *   and both batch sizes are 1. Every other case, which includes every matmul gradient and
 *   every attention product, runs a blocked scalar C++ loop at about 2 GFLOP/s
 *   (src/cc/batch_mat_mul_impl.cc in the tfjs repository).
 * - Its Conv2DBackpropInput is a scalar C++ loop.
 * - Its MaxPoolGrad (src/cc/kernels/MaxPoolGrad.cc) starts each window's max at FLT_MIN, the
 *   smallest positive float, so a window whose values are all ≤ FLT_MIN sends its gradient to
 *   the wrong element or drops it. On ties it picks the last max, where the cpu backend picks
 *   the first.
 * - Its Identity and same-dtype Cast copy the tensor, and the engine clones every tensor it
 *   saves for the backward pass. Its Slice copies the whole input before slicing it, its Sum
 *   over leading axes transposes the input first, and its Transpose copies even when only
 *   dimensions of size 1 move. Its Cast from numbers to bool keeps the low byte of each value.
 *
 * registerWasmTrainingKernels() adds the missing kernels and reroutes convolutions onto the
 * backend's own XNNPACK Conv2D. It runs float32 matmuls and leading-axis sums in a WebAssembly
 * SIMD module that this file generates (see "SIMD kernels"). It replaces the copying kernels
 * with ones that share buffers or copy only what they return. It registers kernels for the
 * 'wasm' backend name only and leaves every other backend's registry alone.
 */
import {
  _FusedMatMul,
  BatchMatMul,
  backend_util,
  Cast,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  Identity,
  MaxPoolGrad,
  registerKernel,
  Reshape,
  Slice,
  slice_util,
  SplitV,
  Sum,
  Transpose,
  unregisterKernel,
  UnsortedSegmentSum,
  util,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type SliceAttrs,
  type SplitVAttrs,
  type SumAttrs,
  type TransposeAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const WASM = 'wasm';

interface WasmKernelParams {
  inputs: NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: NamedAttrMap;
}

type Shape4D = [number, number, number, number];

/** Kernel functions installed by this module, so a second registration call can skip them. */
const installedKernelFuncs = new WeakSet<KernelFunc>();

/**
 * Registers Conv2DBackpropFilter and UnsortedSegmentSum for the wasm backend, replaces its
 * BatchMatMul, _FusedMatMul, Conv2DBackpropInput, Slice, SplitV, Transpose, Identity, Cast and
 * Sum kernels with faster routes, and replaces its MaxPoolGrad with a correct JS loop.
 *
 * Import '@tensorflow/tfjs-backend-wasm' before calling, because the replacements wrap the
 * kernels that package registers. Calling again is a no-op. The call may come before or after
 * tf.setBackend('wasm'): each replacement keeps the setupFunc of the kernel it wraps, so the
 * engine still runs that setup when the backend initializes.
 */
export function registerWasmTrainingKernels(): void {
  const batchMatMulKernel = getKernel(BatchMatMul, WASM);
  if (batchMatMulKernel == null) {
    throw new Error(
      "No wasm BatchMatMul kernel is registered. Import '@tensorflow/tfjs-backend-wasm' " +
        'before calling registerWasmTrainingKernels().',
    );
  }

  addKernel(Conv2DBackpropFilter, conv2DBackpropFilter as unknown as KernelFunc);
  addKernel(UnsortedSegmentSum, unsortedSegmentSum as unknown as KernelFunc);

  replaceKernel(BatchMatMul, (original) => makeSimdBatchMatMul(makeMatMulWithoutTranspose(BatchMatMul, original)));
  replaceKernel(_FusedMatMul, (original) => makeMatMulWithoutTranspose(_FusedMatMul, original));
  replaceKernel(Conv2DBackpropInput, (original) => makeConv2DBackpropInput(original));
  replaceKernel(MaxPoolGrad, () => maxPoolGrad as unknown as KernelFunc);
  replaceKernel(Slice, (original) => makeHeapSlice(original));
  replaceKernel(SplitV, (original) => makeHeapSplitV(original));
  replaceKernel(Transpose, (original) => makeSharedNoOpTranspose(original));
  replaceKernel(Identity, (original) => makeSharedIdentity(original));
  replaceKernel(Cast, (original) => makeCast(original));
  replaceKernel(Sum, (original) => makeSimdSum(original));
}

/** Registers `kernelFunc` under `kernelName` unless the wasm backend already has that kernel. */
function addKernel(kernelName: string, kernelFunc: KernelFunc): void {
  if (getKernel(kernelName, WASM) != null) {
    return;
  }
  installedKernelFuncs.add(kernelFunc);
  registerKernel({ kernelName, backendName: WASM, kernelFunc });
}

/**
 * Swaps the wasm kernel `kernelName` for the one `wrap` builds around it. The replacement keeps
 * the original setupFunc and disposeFunc, because the original kernelFunc depends on them.
 */
function replaceKernel(kernelName: string, wrap: (original: KernelFunc) => KernelFunc): void {
  const original = getKernel(kernelName, WASM);
  if (original == null || installedKernelFuncs.has(original.kernelFunc)) {
    return;
  }
  const kernelFunc = wrap(original.kernelFunc);
  installedKernelFuncs.add(kernelFunc);
  const replacement: KernelConfig = { ...original, kernelFunc };
  unregisterKernel(kernelName, WASM);
  registerKernel(replacement);
}

// ---------------------------------------------------------------------------------------------
// Calls into other wasm kernels

function runWasmKernel(
  kernelName: string,
  backend: BackendWasm,
  inputs: NamedTensorInfoMap,
  attrs: object = {},
): TensorInfo {
  const kernel = getKernel(kernelName, WASM);
  if (kernel == null) {
    throw new Error(
      `The wasm '${kernelName}' kernel is not registered. Import '@tensorflow/tfjs-backend-wasm' first.`,
    );
  }
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
}

function requireInput(inputs: NamedTensorInfoMap, name: string, kernelName: string): TensorInfo {
  const input = inputs[name];
  if (input == null) {
    throw new Error(`${kernelName}: the required input '${name}' is missing.`);
  }
  return input;
}

function transposeTensor(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(Transpose, backend, { x }, { perm });
}

/** Transposes the last two dimensions, which are the matrix dimensions of a matmul operand. */
function transposeInnerMatrices(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transposeTensor(backend, x, perm);
}

function disposeAll(backend: BackendWasm, infos: TensorInfo[]): void {
  for (const info of infos) {
    backend.disposeData(info.dataId);
  }
}

// ---------------------------------------------------------------------------------------------
// BatchMatMul and _FusedMatMul

/**
 * Wraps a wasm BatchMatMul or _FusedMatMul kernel so that products with an unbatched `b` reach
 * the XNNPACK path of the original, which needs untransposed operands with batch size 1.
 * A transposed operand is copied with the wasm Transpose kernel, an O(size) step against the
 * O(m·k·n) multiply. Batch dimensions of `a` alone are folded into its rows: [batch, m, k]
 * times [k, n] is [batch·m, k] times [k, n] in the same memory layout.
 *
 * When `b` has a batch size above 1 an explicit transpose would not reach XNNPACK and only adds
 * a copy, so the original runs unchanged. For BatchMatMul, makeSimdBatchMatMul takes most of
 * those products first. _FusedMatMul with a batched `b` still runs the original scalar loop.
 */
function makeMatMulWithoutTranspose(kernelName: string, original: KernelFunc): KernelFunc {
  return (params) => {
    const { inputs, backend: untypedBackend, attrs } = params;
    const backend = untypedBackend as BackendWasm;
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    let a = requireInput(inputs, 'a', kernelName);
    let b = requireInput(inputs, 'b', kernelName);

    const aBatchSize = util.sizeFromShape(a.shape.slice(0, -2));
    const bBatchSize = util.sizeFromShape(b.shape.slice(0, -2));
    const alreadyFast = !transposeA && !transposeB && aBatchSize === 1;
    if (alreadyFast || bBatchSize > 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      // The original kernel also raises its own error for non-float32 operands. BatchMatMul
      // reaches this line with a batched `b` only where makeSimdBatchMatMul declined it.
      return original(params);
    }

    const intermediates: TensorInfo[] = [];
    try {
      if (transposeA) {
        a = transposeInnerMatrices(backend, a);
        intermediates.push(a);
      }
      if (transposeB) {
        b = transposeInnerMatrices(backend, b);
        intermediates.push(b);
      }

      let outShape: number[] | null = null;
      if (aBatchSize > 1) {
        const rows = a.shape[a.shape.length - 2];
        const inner = a.shape[a.shape.length - 1];
        const cols = b.shape[b.shape.length - 1];
        const batchShape = backend_util.assertAndGetBroadcastShape(
          a.shape.slice(0, -2),
          b.shape.slice(0, -2),
        );
        outShape = [...batchShape, rows, cols];
        a = runWasmKernel(Reshape, backend, { x: a }, { shape: [1, aBatchSize * rows, inner] });
        intermediates.push(a);
      }

      const out = original({
        inputs: { ...inputs, a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as TensorInfo;
      if (outShape != null) {
        // The stock BatchMatMul kernel relabels its output shape the same way.
        out.shape = outShape;
      }
      return out;
    } finally {
      disposeAll(backend, intermediates);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// SIMD kernels: BatchMatMul and column sums

/** The functions of the generated WebAssembly module (see buildSimdModule). */
interface SimdKernels {
  /**
   * Computes a batch of products, with pointers as byte offsets in the heap. Product `i` reads
   * matrix i mod aBatchCount of `a` and i mod bBatchCount of `b`, as the tfjs cpu kernel does.
   * `scratch` has room for one [k, n] matrix when transposeB is 1.
   */
  batchMatMul(
    a: number,
    b: number,
    out: number,
    scratch: number,
    batch: number,
    aBatchCount: number,
    bBatchCount: number,
    m: number,
    k: number,
    n: number,
    aRowStride: number,
    aColStride: number,
    transposeB: number,
    kChunk: number,
  ): void;
  /** Computes out[j] = Σ x[i·cols + j] over rows i in float32, with pointers as byte offsets. */
  columnSum(x: number, out: number, rows: number, cols: number): void;
}

/**
 * Bytes of B that one part of a product reads (see simdKChunk). 64, 128 and 256 KiB gave the
 * same DALL·E-mini step time within noise in Node 24 on a busy 2-core AMD EPYC, and 128 KiB
 * leaves room in a 256 KiB or larger L2 cache.
 */
const SIMD_CHUNK_BYTES = 128 * 1024;

/**
 * Largest `b`, in bytes, of an untransposed product with an unbatched `b` that the SIMD kernel
 * without fused multiply-adds takes. XNNPACK packs a larger `b` into cache-sized panels, which
 * this kernel does not. Without fused multiply-adds the kernel ran 512 × 512 × 512 at about
 * 28 GFLOP/s where XNNPACK ran about 31, but every product of DALL·E-mini (`b` at most
 * 144 KiB) faster than XNNPACK. With them it beat XNNPACK at every size up to 768, so it has
 * no limit.
 */
const PLAIN_SIMD_MAX_UNPACKED_B_BYTES = 256 * 1024;

interface CompiledSimdModule {
  module: WebAssembly.Module;
  fusedMultiplyAdd: boolean;
}

/** The SIMD kernels of one heap, and whether their matmul tiles use fused multiply-adds. */
interface BoundSimdKernels extends SimdKernels {
  fusedMultiplyAdd: boolean;
}

/** The compiled module: undefined until first use, null where the runtime lacks SIMD. */
let simdModule: CompiledSimdModule | null | undefined;

/** One module instance per wasm heap, because a re-initialized backend has a new heap. */
const simdKernelsByMemory = new WeakMap<WebAssembly.Memory, BoundSimdKernels>();

/**
 * Wraps the wasm BatchMatMul so that float32 products run the generated SIMD kernel, which
 * reads the operands in place in the backend's heap and needs no transposed copy. The stock
 * kernel runs every product with a batched `b`, which includes each attention product and its
 * gradients, in a scalar loop at about 2 GFLOP/s. The SIMD kernel ran [128, 60, 24] ×
 * [128, 24, 60] at 25–45 GFLOP/s, and the transformer's dense-layer products and their
 * gradients faster than transpose + XNNPACK (Node 24, AMD EPYC, other jobs running).
 *
 * `fallback` runs every other case. Those are non-float32 or empty operands, batch shapes that
 * do not broadcast by a trailing match (see planSimdBatchMatMul), a shared (threaded) heap and
 * runtimes without WebAssembly SIMD. Without fused multiply-adds, large untransposed products
 * with an unbatched `b` fall back too (see PLAIN_SIMD_MAX_UNPACKED_B_BYTES).
 */
function makeSimdBatchMatMul(fallback: KernelFunc): KernelFunc {
  return (params) => {
    const backend = params.backend as BackendWasm;
    const a = requireInput(params.inputs, 'a', BatchMatMul);
    const b = requireInput(params.inputs, 'b', BatchMatMul);
    const transposeA = params.attrs?.transposeA === true;
    const transposeB = params.attrs?.transposeB === true;

    const plan = planSimdBatchMatMul(a, b, transposeA, transposeB);
    const kernels = plan == null ? null : simdKernelsFor(backend);
    if (plan == null || kernels == null) {
      return fallback(params);
    }
    const xnnpackReady = !transposeA && !transposeB && plan.bBatchCount === 1;
    if (xnnpackReady && !kernels.fusedMultiplyAdd && plan.k * plan.n * 4 > PLAIN_SIMD_MAX_UNPACKED_B_BYTES) {
      return fallback(params);
    }

    const out = backend.makeOutput(plan.outShape, 'float32');
    // A transposed `b` is copied one matrix at a time into this [k, n] buffer.
    const scratch = transposeB ? backend.makeOutput([plan.k * plan.n], 'float32') : null;
    try {
      kernels.batchMatMul(
        backend.getMemoryOffset(a.dataId),
        backend.getMemoryOffset(b.dataId),
        backend.getMemoryOffset(out.dataId),
        scratch == null ? 0 : backend.getMemoryOffset(scratch.dataId),
        plan.batch,
        plan.aBatchCount,
        plan.bBatchCount,
        plan.m,
        plan.k,
        plan.n,
        // Byte steps between A(i, p) and A(i + 1, p), and between A(i, p) and A(i, p + 1).
        transposeA ? 4 : plan.k * 4,
        transposeA ? plan.m * 4 : 4,
        transposeB ? 1 : 0,
        simdKChunk(plan.n),
      );
    } finally {
      if (scratch != null) {
        backend.disposeData(scratch.dataId);
      }
    }
    return out;
  };
}

/**
 * Returns how many steps of k one part of a product covers, so that its [kChunk, n] rows of B
 * (kChunk·n·4 bytes) stay within SIMD_CHUNK_BYTES.
 */
function simdKChunk(n: number): number {
  return Math.max(16, Math.floor(SIMD_CHUNK_BYTES / (4 * n)));
}

interface SimdBatchMatMulPlan {
  m: number;
  k: number;
  n: number;
  batch: number;
  aBatchCount: number;
  bBatchCount: number;
  outShape: number[];
}

/**
 * Returns the sizes of a product that the SIMD kernel takes, or null. It takes float32
 * operands with no empty dimension. The batch shapes must be equal after dropping leading 1s,
 * or one of them must be a trailing part of the other (such as [2, 3] and [3], or [1, 1] and
 * [4]). Only for those does batch index i mod size, the cpu kernel's rule, pick the matrix
 * that broadcasting picks.
 */
function planSimdBatchMatMul(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): SimdBatchMatMulPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return null;
  }
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const aBatchCount = util.sizeFromShape(aBatchShape);
  const bBatchCount = util.sizeFromShape(bBatchShape);
  if (!isTrailingBroadcast(aBatchShape, bBatchShape)) {
    return null;
  }

  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  const bInner = transposeB ? bCols : bRows;
  if (k !== bInner || m === 0 || k === 0 || n === 0 || aBatchCount === 0 || bBatchCount === 0) {
    // The fallback raises the usual error for mismatched inner sizes.
    return null;
  }

  const batchShape = backend_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  return {
    m,
    k,
    n,
    batch: Math.max(aBatchCount, bBatchCount),
    aBatchCount,
    bBatchCount,
    outShape: [...batchShape, m, n],
  };
}

/** Returns whether the shorter batch shape, without leading 1s, is a trailing part of the longer one. */
function isTrailingBroadcast(aBatchShape: number[], bBatchShape: number[]): boolean {
  const trimmedA = dropLeadingOnes(aBatchShape);
  const trimmedB = dropLeadingOnes(bBatchShape);
  const [shorter, longer] = trimmedA.length <= trimmedB.length ? [trimmedA, trimmedB] : [trimmedB, trimmedA];
  return util.arraysEqual(shorter, longer.slice(longer.length - shorter.length));
}

function dropLeadingOnes(shape: number[]): number[] {
  const first = shape.findIndex((size) => size !== 1);
  return first < 0 ? [] : shape.slice(first);
}

/**
 * Returns the SIMD kernels bound to this backend's heap, or null where the heap is shared
 * memory (the threaded wasm build) or WebAssembly SIMD is missing.
 */
function simdKernelsFor(backend: BackendWasm): BoundSimdKernels | null {
  // Emscripten keeps the instance's exports, the heap among them, on the module object.
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    return null;
  }
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) {
    // The module imports an unshared memory, which a shared heap cannot satisfy.
    return null;
  }
  const cached = simdKernelsByMemory.get(memory);
  if (cached != null) {
    return cached;
  }

  if (simdModule === undefined) {
    simdModule = compileSimdModule();
  }
  if (simdModule == null) {
    return null;
  }
  const instance = new WebAssembly.Instance(simdModule.module, { env: { memory } });
  const exports = instance.exports as unknown as SimdKernels;
  const kernels: BoundSimdKernels = {
    batchMatMul: exports.batchMatMul,
    columnSum: exports.columnSum,
    fusedMultiplyAdd: simdModule.fusedMultiplyAdd,
  };
  simdKernelsByMemory.set(memory, kernels);
  return kernels;
}

/**
 * Compiles the module with fused multiply-adds where the runtime has relaxed SIMD, else
 * without them, or returns null without WebAssembly SIMD. Fused multiply-adds made the matmul
 * tiles about 25 % faster in Node 24 on an AMD EPYC with FMA.
 */
function compileSimdModule(): CompiledSimdModule | null {
  for (const fusedMultiplyAdd of [true, false]) {
    const bytes = buildSimdModule(fusedMultiplyAdd);
    if (WebAssembly.validate(bytes)) {
      // Chrome before version 114 rejected synchronous compilation on the main thread above
      // 4 KB. This module is about 3 KB.
      return { module: new WebAssembly.Module(bytes), fusedMultiplyAdd };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Sum over leading axes

/**
 * Wraps the wasm Sum so that a float32 sum over leading axes, such as the [rows, width] → [width]
 * sums in every bias gradient, runs the SIMD column sum. The stock kernel first transposes the
 * reduced axes to the end, which cost more than the sum: 1.5 ms for [1920, 384] over axis 0.
 * Every other sum runs `original`.
 */
function makeSimdSum(original: KernelFunc): KernelFunc {
  return (params) => {
    const backend = params.backend as BackendWasm;
    const x = requireInput(params.inputs, 'x', Sum);
    const { axis, keepDims } = params.attrs as unknown as SumAttrs;
    const axes = [...util.parseAxisParam(axis, x.shape)].sort((first, second) => first - second);
    const reduced = axes.length;
    const leading = reduced > 0 && reduced < x.shape.length && axes.every((value, index) => value === index);
    const rows = util.sizeFromShape(x.shape.slice(0, reduced));
    const cols = util.sizeFromShape(x.shape.slice(reduced));
    const kernels = leading && x.dtype === 'float32' && rows > 0 && cols > 0 ? simdKernelsFor(backend) : null;
    if (kernels == null) {
      return original(params);
    }

    const outShape = keepDims ? x.shape.map((size, index) => (index < reduced ? 1 : size)) : x.shape.slice(reduced);
    const out = backend.makeOutput(outShape, 'float32');
    kernels.columnSum(backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), rows, cols);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Slice, SplitV and Transpose

/**
 * Wraps the wasm Slice so that it copies only the slice, one contiguous run of elements at a
 * time, from the input in place in the heap. The stock kernel first copies the whole input
 * out of the heap (readSync), so SplitV paid for one copy of the whole input per part. String
 * tensors run `original`.
 */
function makeHeapSlice(original: KernelFunc): KernelFunc {
  return (params) => {
    const x = requireInput(params.inputs, 'x', Slice);
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      return original(params);
    }
    const { begin, size } = params.attrs as unknown as SliceAttrs;
    const [start, extent] = slice_util.parseSliceParams(x, begin, size);
    return copySlice(params.backend as BackendWasm, x, start, extent);
  };
}

/** Wraps the wasm SplitV so that each part is sliced as makeHeapSlice does. */
function makeHeapSplitV(original: KernelFunc): KernelFunc {
  return (params) => {
    const x = requireInput(params.inputs, 'x', SplitV);
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      return original(params);
    }
    const { numOrSizeSplits, axis } = params.attrs as unknown as SplitVAttrs;
    const splitAxis = util.parseAxisParam(axis, x.shape)[0];
    const splitSizes = backend_util.prepareSplitSize(x, numOrSizeSplits, splitAxis);
    const start = x.shape.map(() => 0);
    return splitSizes.map((splitSize) => {
      const extent = [...x.shape];
      extent[splitAxis] = splitSize;
      const part = copySlice(params.backend as BackendWasm, x, [...start], extent);
      start[splitAxis] += splitSize;
      return part;
    });
  };
}

/**
 * Copies x[start … start + extent) into a new tensor. Trailing dimensions that the slice
 * covers whole join the innermost run, so a slice of whole rows is a single copy.
 */
function copySlice(backend: BackendWasm, x: TensorInfo, start: number[], extent: number[]): TensorInfo {
  const out = backend.makeOutput(extent, x.dtype);
  const total = util.sizeFromShape(extent);
  if (total === 0) {
    return out;
  }

  const rank = x.shape.length;
  const strides = [...util.computeStrides(x.shape), 1];
  let runDim = rank - 1;
  let runLength = extent[runDim];
  while (runDim > 0 && extent[runDim] === x.shape[runDim]) {
    runDim--;
    runLength *= extent[runDim];
  }

  // Views are taken after makeOutput, whose allocation may grow and detach the wasm heap.
  // float32 and int32 elements are copied as 4-byte words, bool as bytes.
  const heapBuffer = backend.typedArrayFromHeap(out).buffer;
  const heap = x.dtype === 'bool' ? new Uint8Array(heapBuffer) : new Int32Array(heapBuffer);
  const elementBytes = heap.BYTES_PER_ELEMENT;
  const sourceBase = backend.getMemoryOffset(x.dataId) / elementBytes + start.reduce((sum, value, dim) => sum + value * strides[dim], 0);
  let target = backend.getMemoryOffset(out.dataId) / elementBytes;

  // An odometer over the dimensions before runDim.
  const index = new Array<number>(runDim).fill(0);
  for (let copied = 0; copied < total; copied += runLength) {
    let source = sourceBase;
    for (let dim = 0; dim < runDim; dim++) {
      source += index[dim] * strides[dim];
    }
    heap.copyWithin(target, source, source + runLength);
    target += runLength;
    for (let dim = runDim - 1; dim >= 0; dim--) {
      index[dim]++;
      if (index[dim] < extent[dim]) {
        break;
      }
      index[dim] = 0;
    }
  }
  return out;
}

/**
 * Wraps the wasm Transpose so that a permutation that only moves dimensions of size 1, such
 * as [b, 1, heads, d] → [b, heads, 1, d] in one-token decoding, shares the input's buffer as
 * a reshape would. The stock kernel copies it. Every other permutation runs `original`.
 */
function makeSharedNoOpTranspose(original: KernelFunc): KernelFunc {
  return (params) => {
    const backend = params.backend as BackendWasm;
    const x = requireInput(params.inputs, 'x', Transpose);
    const { perm } = params.attrs as unknown as TransposeAttrs;
    const movedDims = perm.filter((dim) => x.shape[dim] !== 1);
    const noOp = movedDims.every((dim, index) => index === 0 || dim > movedDims[index - 1]);
    if (!noOp || x.dtype === 'string') {
      return original(params);
    }
    return { ...shareBuffer(backend, x), shape: perm.map((dim) => x.shape[dim]) };
  };
}

// ---------------------------------------------------------------------------------------------
// Identity and Cast

/**
 * Wraps the wasm Identity so that it shares its input's buffer, as the cpu and webgl backends
 * do, instead of copying it. tfjs-core's engine clones (Identity) every input it saves for
 * the backward pass, so on wasm each training step copied its saved activations. The backend
 * counts the tensors that share a buffer (incRef) and frees it with the last one, and no
 * kernel writes into its inputs, so sharing is safe. String tensors run `original`.
 */
function makeSharedIdentity(original: KernelFunc): KernelFunc {
  return (params) => {
    const x = requireInput(params.inputs, 'x', Identity);
    if (x.dtype === 'string') {
      return original(params);
    }
    return shareBuffer(params.backend as BackendWasm, x);
  };
}

/**
 * Wraps the wasm Cast so that a cast to the input's own dtype shares its buffer like Identity
 * (the gradient of Multiply casts float32 operands to float32), and a cast of numbers to bool
 * gives x ≠ 0. The stock kernel copies the values with a typed-array conversion, which turns
 * −2.5 into 254 instead of true. Other casts run `original`.
 */
function makeCast(original: KernelFunc): KernelFunc {
  return (params) => {
    const backend = params.backend as BackendWasm;
    const x = requireInput(params.inputs, 'x', Cast);
    const dtype = params.attrs?.dtype;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      return original(params);
    }
    if (dtype === x.dtype) {
      return shareBuffer(backend, x);
    }
    if (dtype !== 'bool') {
      return original(params);
    }

    const out = backend.makeOutput(x.shape, 'bool');
    // Views are taken after makeOutput, whose allocation may grow and detach the wasm heap.
    const values = backend.typedArrayFromHeap(x);
    const flags = backend.typedArrayFromHeap(out);
    for (let i = 0; i < values.length; i++) {
      flags[i] = values[i] !== 0 ? 1 : 0;
    }
    return out;
  };
}

function shareBuffer(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

// ---------------------------------------------------------------------------------------------
// SIMD kernels: the generated WebAssembly module
//
// The module imports the backend's heap as env.memory and exports the functions of
// SimdKernels. For every product, batchMatMul computes C = A·B with
//   A(i, p) at a + i·aRowStride + p·aColStride (bytes), so a transposed A costs nothing,
//   B(p, j) at b + (p·n + j)·4, after copying a transposed B into `scratch`,
//   C(i, j) at out + (i·n + j)·4.
// C is computed in tiles of 4 rows × 8 columns held in eight f32x4 accumulators, then
// narrower tiles for the edges. Each C(i, j) is the sum over p = 0 … k−1, in order, of the
// float32 products A(i, p)·B(p, j), as in a plain loop. Without fused multiply-adds each
// product is rounded before it is added; with them (see compileSimdModule) the vector tiles
// round once per step. Either way results stay within float32 rounding of the cpu backend's.

type Bytes = number[];

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function unsignedLeb128(value: number): Bytes {
  const bytes: Bytes = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) {
      byte |= 0x80;
    }
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function signedLeb128(value: number): Bytes {
  const bytes: Bytes = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) {
      return bytes;
    }
  }
}

// Instructions, named as in the WebAssembly text format. Opcodes are from the WebAssembly
// core specification 2.0 and its fixed-width SIMD instructions (prefix 0xfd).
const localGet = (index: number): Bytes => [0x20, ...unsignedLeb128(index)];
const localSet = (index: number): Bytes => [0x21, ...unsignedLeb128(index)];
const i32Const = (value: number): Bytes => [0x41, ...signedLeb128(value)];
const callFunction = (index: number): Bytes => [0x10, ...unsignedLeb128(index)];
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_AND = 0x71;
const I32_REM_U = 0x70;
const I32_NE = 0x47;
const I32_LT_U = 0x49;
const I32_GT_U = 0x4b;
const I32_LE_U = 0x4d;
const I32_GE_U = 0x4f;
const F32_ADD = 0x92;
const F32_MUL = 0x94;
/** Alignment hint 2^2 = 4 bytes: tfjs aligns tensors to 4 bytes, not to 16. */
const memoryArgument = (offset: number): Bytes => [2, ...unsignedLeb128(offset)];
const f32Load = (offset = 0): Bytes => [0x2a, ...memoryArgument(offset)];
const f32Store = (offset = 0): Bytes => [0x38, ...memoryArgument(offset)];
const i32Store = (offset = 0): Bytes => [0x36, ...memoryArgument(offset)];
const simdInstruction = (opcode: number): Bytes => [0xfd, ...unsignedLeb128(opcode)];
const v128Load = (offset = 0): Bytes => [...simdInstruction(0x00), ...memoryArgument(offset)];
const v128Load32Splat = (offset = 0): Bytes => [...simdInstruction(0x09), ...memoryArgument(offset)];
const v128Store = (offset = 0): Bytes => [...simdInstruction(0x0b), ...memoryArgument(offset)];
const F32X4_ADD = simdInstruction(0xe4);
const F32X4_MUL = simdInstruction(0xe6);
/** a·b + c, from the relaxed SIMD proposal: one rounding where the CPU has FMA, two elsewhere. */
const F32X4_RELAXED_MADD = simdInstruction(0x105);
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const END = 0x0b;
/** select: the first operand if the i32 condition is non-zero, else the second. */
const SELECT = 0x1b;

/** local += step, where `step` pushes one i32. */
function increment(local: number, step: Bytes): Bytes {
  return [...localGet(local), ...step, I32_ADD, ...localSet(local)];
}

/** `base + index · scale`, where `scale` pushes one i32. */
function scaledOffset(base: number, index: number, scale: Bytes): Bytes {
  return [...localGet(base), ...localGet(index), ...scale, I32_MUL, I32_ADD];
}

/** `while (!exitCondition) body`, where `exitCondition` pushes one i32. */
function loopUntil(exitCondition: Bytes, body: Bytes): Bytes {
  // br_if 1 leaves the enclosing block, br 0 starts the loop again.
  return [...BLOCK, ...LOOP, ...exitCondition, 0x0d, 1, ...body, 0x0c, 0, END, END];
}

interface GeneratedFunction {
  params: number[];
  locals: number[];
  body: Bytes;
}

/**
 * Generates a tile function: C[rows, 4·vectors] (+)= A[rows, k] · B[k, 4·vectors] with f32x4
 * accumulators, or a single column with f32 accumulators when `vectors` is 0. With
 * `accumulate` set, the accumulators start from C, which continues the sums of an earlier
 * part of k in order. `fused` adds each vector product with f32x4.relaxed_madd. Parameters:
 * a, b, c, k, aColStride, aRowStride, bRowStride, cRowStride, accumulate (pointers and
 * strides in bytes).
 */
function generateTile(rows: number, vectors: number, fused: boolean): GeneratedFunction {
  const [a, b, c, k, aColStride, aRowStride, bRowStride, cRowStride, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const scalar = vectors === 0;
  const columns = scalar ? 1 : vectors;
  const lane = scalar ? F32 : V128;
  const p = 9;
  const rowPointer = (row: number) => 10 + row;
  const bValue = (column: number) => 10 + rows + column;
  const aValue = 10 + rows + columns;
  const accumulator = (row: number, column: number) => 11 + rows + columns + row * columns + column;
  // WebAssembly zero-initialises locals, so the accumulators start at 0 unless loaded from C.
  const locals = [I32, ...Array<number>(rows).fill(I32), ...Array<number>(columns + 1 + rows * columns).fill(lane)];
  const cAddress = (row: number): Bytes => [...localGet(c), ...localGet(cRowStride), ...i32Const(row), I32_MUL, I32_ADD];

  const body: Bytes = [...localGet(accumulate), ...IF];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      body.push(...cAddress(row), ...(scalar ? f32Load() : v128Load(16 * column)), ...localSet(accumulator(row, column)));
    }
  }
  body.push(END);
  for (let row = 0; row < rows; row++) {
    body.push(...localGet(a), ...localGet(aRowStride), ...i32Const(row), I32_MUL, I32_ADD, ...localSet(rowPointer(row)));
  }

  // One step of p: load B(p, j … j + 4·columns), then for each row broadcast A(i, p) and
  // add its products to the row's accumulators.
  const step: Bytes = [];
  for (let column = 0; column < columns; column++) {
    step.push(...localGet(b), ...(scalar ? f32Load() : v128Load(16 * column)), ...localSet(bValue(column)));
  }
  for (let row = 0; row < rows; row++) {
    step.push(...localGet(rowPointer(row)), ...(scalar ? f32Load() : v128Load32Splat()), ...localSet(aValue));
    for (let column = 0; column < columns; column++) {
      if (fused && !scalar) {
        step.push(...localGet(aValue), ...localGet(bValue(column)), ...localGet(accumulator(row, column)), ...F32X4_RELAXED_MADD);
      } else {
        step.push(...localGet(accumulator(row, column)), ...localGet(aValue), ...localGet(bValue(column)));
        step.push(...(scalar ? [F32_MUL, F32_ADD] : [...F32X4_MUL, ...F32X4_ADD]));
      }
      step.push(...localSet(accumulator(row, column)));
    }
    step.push(...increment(rowPointer(row), localGet(aColStride)));
  }
  step.push(...increment(b, localGet(bRowStride)), ...increment(p, i32Const(1)));
  body.push(...loopUntil([...localGet(p), ...localGet(k), I32_GE_U], step));

  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      body.push(...cAddress(row), ...localGet(accumulator(row, column)), ...(scalar ? f32Store() : v128Store(16 * column)));
    }
  }
  return { params: Array<number>(9).fill(I32), locals, body };
}

/**
 * Generates a row-block function: all n columns of C for the rows of one tile height, as
 * 8-column tiles, then one 4-column tile if 4 or more columns remain, then single columns.
 * Parameters: a, b, c, k, n, aColStride, aRowStride, bRowStride, cRowStride, accumulate.
 */
function generateRowBlock(wideTile: number, narrowTile: number, columnTile: number): GeneratedFunction {
  const [a, b, c, k, n, aColStride, aRowStride, bRowStride, cRowStride, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const j = 10;
  const callTile = (tile: number): Bytes => [
    ...localGet(a),
    ...scaledOffset(b, j, i32Const(4)),
    ...scaledOffset(c, j, i32Const(4)),
    ...localGet(k),
    ...localGet(aColStride),
    ...localGet(aRowStride),
    ...localGet(bRowStride),
    ...localGet(cRowStride),
    ...localGet(accumulate),
    ...callFunction(tile),
  ];
  const body: Bytes = [
    ...loopUntil([...localGet(j), ...i32Const(8), I32_ADD, ...localGet(n), I32_GT_U], [...callTile(wideTile), ...increment(j, i32Const(8))]),
    ...localGet(j), ...i32Const(4), I32_ADD, ...localGet(n), I32_LE_U,
    ...IF, ...callTile(narrowTile), ...increment(j, i32Const(4)), END,
    ...loopUntil([...localGet(j), ...localGet(n), I32_GE_U], [...callTile(columnTile), ...increment(j, i32Const(1))]),
  ];
  return { params: Array<number>(10).fill(I32), locals: [I32], body };
}

/**
 * Generates the transpose copy target[p·n + j] = source[j·k + p] of one [n, k] matrix: 4 × 4
 * blocks with SIMD shuffles, then the last k mod 4 columns and n mod 4 rows one value at a
 * time. Parameters: source, target, n, k.
 */
function generateTransposeCopy(scalarCopy: number): GeneratedFunction {
  const [source, target, n, k] = [0, 1, 2, 3];
  const [j, p, from, to, sourceRowBytes, targetRowBytes, n4, k4] = [4, 5, 6, 7, 8, 9, 10, 11];
  const row = (index: number) => 12 + index;
  const pair = (index: number) => 16 + index;
  // Lanes 0–3 are the first operand's floats, 4–7 the second's.
  const shuffleFloats = (lanes: number[]): Bytes => [...simdInstruction(0x0d), ...lanes.flatMap((lane) => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3])];
  const rowAddress = (base: number, index: number, rowBytes: number): Bytes => [...localGet(base), ...localGet(rowBytes), ...i32Const(index), I32_MUL, I32_ADD];

  const block: Bytes = [
    // from = source + (j·k + p)·4, to = target + (p·n + j)·4
    ...localGet(source), ...localGet(j), ...localGet(k), I32_MUL, ...localGet(p), I32_ADD, ...i32Const(4), I32_MUL, I32_ADD, ...localSet(from),
    ...localGet(target), ...localGet(p), ...localGet(n), I32_MUL, ...localGet(j), I32_ADD, ...i32Const(4), I32_MUL, I32_ADD, ...localSet(to),
  ];
  for (let index = 0; index < 4; index++) {
    block.push(...rowAddress(from, index, sourceRowBytes), ...v128Load(), ...localSet(row(index)));
  }
  // pair 0 = (r0[0], r1[0], r0[1], r1[1]), pair 1 = (r0[2], r1[2], r0[3], r1[3]), and pairs 2, 3 from r2, r3.
  block.push(...localGet(row(0)), ...localGet(row(1)), ...shuffleFloats([0, 4, 1, 5]), ...localSet(pair(0)));
  block.push(...localGet(row(0)), ...localGet(row(1)), ...shuffleFloats([2, 6, 3, 7]), ...localSet(pair(1)));
  block.push(...localGet(row(2)), ...localGet(row(3)), ...shuffleFloats([0, 4, 1, 5]), ...localSet(pair(2)));
  block.push(...localGet(row(2)), ...localGet(row(3)), ...shuffleFloats([2, 6, 3, 7]), ...localSet(pair(3)));
  // Target row q contains (r0[q], r1[q], r2[q], r3[q]).
  const outputs: [number, number, number[]][] = [
    [pair(0), pair(2), [0, 1, 4, 5]],
    [pair(0), pair(2), [2, 3, 6, 7]],
    [pair(1), pair(3), [0, 1, 4, 5]],
    [pair(1), pair(3), [2, 3, 6, 7]],
  ];
  outputs.forEach(([first, second, lanes], index) => {
    block.push(...rowAddress(to, index, targetRowBytes), ...localGet(first), ...localGet(second), ...shuffleFloats(lanes), ...v128Store());
  });
  block.push(...increment(p, i32Const(4)));

  const blockRow: Bytes = [
    ...i32Const(0), ...localSet(p),
    ...loopUntil([...localGet(p), ...localGet(k4), I32_GE_U], block),
    ...increment(j, i32Const(4)),
  ];
  const body: Bytes = [
    ...localGet(k), ...i32Const(4), I32_MUL, ...localSet(sourceRowBytes),
    ...localGet(n), ...i32Const(4), I32_MUL, ...localSet(targetRowBytes),
    ...localGet(n), ...i32Const(-4), I32_AND, ...localSet(n4),
    ...localGet(k), ...i32Const(-4), I32_AND, ...localSet(k4),
    ...loopUntil([...localGet(j), ...localGet(n4), I32_GE_U], blockRow),
    // Columns k4 … k−1 of rows 0 … n4−1, then rows n4 … n−1 whole.
    ...localGet(source), ...localGet(target), ...localGet(n), ...localGet(k), ...i32Const(0), ...localGet(n4), ...localGet(k4), ...callFunction(scalarCopy),
    ...localGet(source), ...localGet(target), ...localGet(n), ...localGet(k), ...localGet(n4), ...localGet(n), ...i32Const(0), ...callFunction(scalarCopy),
  ];
  return { params: Array<number>(4).fill(I32), locals: [...Array<number>(8).fill(I32), ...Array<number>(8).fill(V128)], body };
}

/**
 * Generates the scalar part of the transpose copy: target[p·n + j] = source[j·k + p] for
 * jStart ≤ j < jEnd and pStart ≤ p < k. Parameters: source, target, n, k, jStart, jEnd, pStart.
 */
function generateScalarTransposeCopy(): GeneratedFunction {
  const [source, target, n, k, jStart, jEnd, pStart] = [0, 1, 2, 3, 4, 5, 6];
  const [p, from, to] = [7, 8, 9];
  const copyValue: Bytes = [
    ...localGet(to), ...localGet(from), ...f32Load(), ...f32Store(),
    ...increment(from, i32Const(4)),
    ...increment(to, [...localGet(n), ...i32Const(4), I32_MUL]),
    ...increment(p, i32Const(1)),
  ];
  const copyRow: Bytes = [
    ...localGet(pStart), ...localSet(p),
    ...localGet(source), ...localGet(jStart), ...localGet(k), I32_MUL, ...localGet(p), I32_ADD, ...i32Const(4), I32_MUL, I32_ADD, ...localSet(from),
    ...localGet(target), ...localGet(p), ...localGet(n), I32_MUL, ...localGet(jStart), I32_ADD, ...i32Const(4), I32_MUL, I32_ADD, ...localSet(to),
    ...loopUntil([...localGet(p), ...localGet(k), I32_GE_U], copyValue),
    ...increment(jStart, i32Const(1)),
  ];
  return { params: Array<number>(7).fill(I32), locals: Array<number>(3).fill(I32), body: loopUntil([...localGet(jStart), ...localGet(jEnd), I32_GE_U], copyRow) };
}

/**
 * Generates the exported column sum: out[j] = Σ x[i·cols + j] over i = 0 … rows−1, summed in
 * row order in float32, 4 columns at a time. Parameters: x, out, rows, cols.
 */
function generateColumnSum(): GeneratedFunction {
  const [x, out, rows, cols] = [0, 1, 2, 3];
  const [i, j, rowPointer] = [4, 5, 6];
  const outAddress = scaledOffset(out, j, i32Const(4));
  const rowAddress = scaledOffset(rowPointer, j, i32Const(4));
  const zeroColumn: Bytes = [...outAddress, ...i32Const(0), ...i32Store(), ...increment(j, i32Const(1))];
  const addVector: Bytes = [...outAddress, ...outAddress, ...v128Load(), ...rowAddress, ...v128Load(), ...F32X4_ADD, ...v128Store(), ...increment(j, i32Const(4))];
  const addValue: Bytes = [...outAddress, ...outAddress, ...f32Load(), ...rowAddress, ...f32Load(), F32_ADD, ...f32Store(), ...increment(j, i32Const(1))];
  const addRow: Bytes = [
    ...localGet(x), ...localGet(i), ...localGet(cols), I32_MUL, ...i32Const(4), I32_MUL, I32_ADD, ...localSet(rowPointer),
    ...i32Const(0), ...localSet(j),
    ...loopUntil([...localGet(j), ...i32Const(4), I32_ADD, ...localGet(cols), I32_GT_U], addVector),
    ...loopUntil([...localGet(j), ...localGet(cols), I32_GE_U], addValue),
    ...increment(i, i32Const(1)),
  ];
  const body: Bytes = [
    ...loopUntil([...localGet(j), ...localGet(cols), I32_GE_U], zeroColumn),
    ...loopUntil([...localGet(i), ...localGet(rows), I32_GE_U], addRow),
  ];
  return { params: Array<number>(4).fill(I32), locals: Array<number>(3).fill(I32), body };
}

/**
 * Generates the exported batchMatMul (see SimdKernels). Each
 * product runs in parts of at most kChunk steps of k, so the part of B in use stays in cache
 * while every row block of A passes over it.
 */
function generateEntry(rowBlock4: number, rowBlock1: number, transposeCopy: number): GeneratedFunction {
  const [a, b, out, scratch, batch, aBatchCount, bBatchCount, m, k, n, aRowStride, aColStride, transposeB, kChunk] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
  ];
  const [product, aMatrix, bMatrix, cMatrix, i, rowBytes, kStart, kPart] = [14, 15, 16, 17, 18, 19, 20, 21];
  const callRowBlock = (rowBlock: number): Bytes => [
    // A(i, kStart) and B(kStart, 0).
    ...scaledOffset(aMatrix, i, localGet(aRowStride)), ...localGet(kStart), ...localGet(aColStride), I32_MUL, I32_ADD,
    ...scaledOffset(bMatrix, kStart, localGet(rowBytes)),
    ...scaledOffset(cMatrix, i, localGet(rowBytes)),
    ...localGet(kPart),
    ...localGet(n),
    ...localGet(aColStride),
    ...localGet(aRowStride),
    ...localGet(rowBytes),
    ...localGet(rowBytes),
    // Parts after the first add to C.
    ...localGet(kStart), ...i32Const(0), I32_NE,
    ...callFunction(rowBlock),
  ];
  const perPart: Bytes = [
    // kPart = min(kChunk, k − kStart)
    ...localGet(kChunk), ...localGet(k), ...localGet(kStart), I32_SUB, ...localGet(kChunk), ...localGet(k), ...localGet(kStart), I32_SUB, I32_LT_U, SELECT, ...localSet(kPart),
    ...i32Const(0), ...localSet(i),
    ...loopUntil([...localGet(i), ...i32Const(4), I32_ADD, ...localGet(m), I32_GT_U], [...callRowBlock(rowBlock4), ...increment(i, i32Const(4))]),
    ...loopUntil([...localGet(i), ...localGet(m), I32_GE_U], [...callRowBlock(rowBlock1), ...increment(i, i32Const(1))]),
    ...increment(kStart, localGet(kPart)),
  ];
  const matrixBytes = (rows: number, cols: number): Bytes => [...localGet(rows), ...localGet(cols), I32_MUL, ...i32Const(4), I32_MUL];
  const perProduct: Bytes = [
    // aMatrix = a + (product mod aBatchCount) · m·k·4, and likewise for b and out.
    ...localGet(a), ...localGet(product), ...localGet(aBatchCount), I32_REM_U, ...matrixBytes(m, k), I32_MUL, I32_ADD, ...localSet(aMatrix),
    ...localGet(b), ...localGet(product), ...localGet(bBatchCount), I32_REM_U, ...matrixBytes(k, n), I32_MUL, I32_ADD, ...localSet(bMatrix),
    ...localGet(out), ...localGet(product), ...matrixBytes(m, n), I32_MUL, I32_ADD, ...localSet(cMatrix),
    ...localGet(transposeB),
    ...IF, ...localGet(bMatrix), ...localGet(scratch), ...localGet(n), ...localGet(k), ...callFunction(transposeCopy), ...localGet(scratch), ...localSet(bMatrix), END,
    ...i32Const(0), ...localSet(kStart),
    ...loopUntil([...localGet(kStart), ...localGet(k), I32_GE_U], perPart),
    ...increment(product, i32Const(1)),
  ];
  const body: Bytes = [
    ...localGet(n), ...i32Const(4), I32_MUL, ...localSet(rowBytes),
    ...loopUntil([...localGet(product), ...localGet(batch), I32_GE_U], perProduct),
  ];
  return { params: Array<number>(14).fill(I32), locals: Array<number>(8).fill(I32), body };
}

function encodeSection(id: number, payload: Bytes): Bytes {
  return [id, ...unsignedLeb128(payload.length), ...payload];
}

function encodeVector(items: Bytes[]): Bytes {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

function encodeName(name: string): Bytes {
  const bytes = [...new TextEncoder().encode(name)];
  return [...unsignedLeb128(bytes.length), ...bytes];
}

/** Encodes local declarations as runs of one type. */
function encodeLocals(types: number[]): Bytes {
  const runs: Bytes[] = [];
  for (let start = 0; start < types.length; ) {
    let count = 1;
    while (start + count < types.length && types[start + count] === types[start]) {
      count++;
    }
    runs.push([...unsignedLeb128(count), types[start]]);
    start += count;
  }
  return encodeVector(runs);
}

/**
 * Assembles the module binary: one type per function, the memory import, the exports.
 * `fusedMultiplyAdd` selects f32x4.relaxed_madd in the matmul tiles, which needs relaxed SIMD
 * (Chrome 114, Firefox 146, no Safari as of 2025). Exported for tests.
 */
export function buildSimdModule(fusedMultiplyAdd: boolean): Uint8Array<ArrayBuffer> {
  const functions = [
    generateTile(4, 2, fusedMultiplyAdd), // 0: 4 × 8
    generateTile(4, 1, fusedMultiplyAdd), // 1: 4 × 4
    generateTile(4, 0, fusedMultiplyAdd), // 2: 4 × 1
    generateTile(1, 2, fusedMultiplyAdd), // 3: 1 × 8
    generateTile(1, 1, fusedMultiplyAdd), // 4: 1 × 4
    generateTile(1, 0, fusedMultiplyAdd), // 5: 1 × 1
    generateRowBlock(0, 1, 2), // 6: 4 rows
    generateRowBlock(3, 4, 5), // 7: 1 row
    generateScalarTransposeCopy(), // 8
    generateTransposeCopy(8), // 9
    generateEntry(6, 7, 9), // 10
    generateColumnSum(), // 11
  ];
  const exports: [string, number][] = [
    ['batchMatMul', 10],
    ['columnSum', 11],
  ];

  const types = functions.map((f) => [0x60, ...encodeVector(f.params.map((type) => [type])), 0]);
  const memoryImport = [...encodeName('env'), ...encodeName('memory'), 0x02, 0x00, ...unsignedLeb128(1)];
  const bodies = functions.map((f) => {
    const code = [...encodeLocals(f.locals), ...f.body, END];
    return [...unsignedLeb128(code.length), ...code];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...encodeSection(1, encodeVector(types)),
    ...encodeSection(2, encodeVector([memoryImport])),
    ...encodeSection(3, encodeVector(functions.map((_, index) => unsignedLeb128(index)))),
    ...encodeSection(7, encodeVector(exports.map(([name, index]) => [...encodeName(name), 0x00, ...unsignedLeb128(index)]))),
    ...encodeSection(10, encodeVector(bodies)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter

/**
 * Computes the filter gradient of an NHWC conv2d as one XNNPACK Conv2D. With
 * s = stride, (top, left) = forward padding, and the sums over batch b and dy positions (i, j):
 *
 *   dW[p, q, c, o] = Σ x[b, i·sH + p − top, j·sW + q − left, c] · dy[b, i, j, o]
 *
 * This is a stride-1 convolution of x as [c, h, w, b] (channels as batch, batch as channels)
 * with dy as a [outH, outW, b, o] filter dilated by the forward stride. Its output is
 * [c, kH, kW, o], transposed at the end to the [kH, kW, c, o] filter layout.
 */
function conv2DBackpropFilter(params: WasmKernelParams): TensorInfo {
  const { inputs, backend } = params;
  const x = requireInput(inputs, 'x', Conv2DBackpropFilter);
  const dy = requireInput(inputs, 'dy', Conv2DBackpropFilter);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    params.attrs as unknown as Conv2DBackpropFilterAttrs;

  if (dataFormat === 'NCHW') {
    throw new Error(
      "Conv2DBackpropFilter on the wasm backend supports dataFormat 'NHWC' only, got 'NCHW'. " +
        'Transpose x and dy to NHWC.',
    );
  }
  const convInfo = backend_util.computeConv2DInfo(
    x.shape as Shape4D,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { inHeight, inWidth, inChannels, outChannels, outHeight, outWidth, padInfo } = convInfo;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = convInfo;
  util.assert(
    util.arraysEqual(dy.shape, convInfo.outShape),
    () => `Conv2DBackpropFilter: dy shape ${dy.shape} does not match the conv output shape ${convInfo.outShape}.`,
  );

  // Bottom and right padding that make the output at least kH × kW. Output rows past kH would be
  // taps outside the filter, and the slice below drops them.
  const padBottom = Math.max(0, filterHeight - inHeight - padInfo.top + (outHeight - 1) * strideHeight);
  const padRight = Math.max(0, filterWidth - inWidth - padInfo.left + (outWidth - 1) * strideWidth);

  const intermediates: TensorInfo[] = [];
  try {
    const xByChannel = transposeTensor(backend, x, [3, 1, 2, 0]);
    intermediates.push(xByChannel);
    const dyAsFilter = transposeTensor(backend, dy, [1, 2, 0, 3]);
    intermediates.push(dyAsFilter);

    let gradByChannel = runWasmKernel(
      Conv2D,
      backend,
      { x: xByChannel, filter: dyAsFilter },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padInfo.top, padBottom],
          [padInfo.left, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [strideHeight, strideWidth],
      },
    );
    intermediates.push(gradByChannel);

    if (gradByChannel.shape[1] !== filterHeight || gradByChannel.shape[2] !== filterWidth) {
      gradByChannel = runWasmKernel(
        Slice,
        backend,
        { x: gradByChannel },
        { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] },
      );
      intermediates.push(gradByChannel);
    }
    return transposeTensor(backend, gradByChannel, [1, 2, 0, 3]);
  } finally {
    disposeAll(backend, intermediates);
  }
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput

/**
 * Wraps the stock Conv2DBackpropInput with an XNNPACK route for NHWC float32. With forward
 * stride s, padding (top, left) and filter W of shape [kH, kW, c, o]:
 *
 *   dx[b, h, w, c] = Σ dy[b, i, j, o] · W[h + top − i·sH, w + left − j·sW, c, o]
 *
 * Only taps p ≡ h + top (mod sH) reach row h, so the rows of dx split into sH phases, and
 * likewise the columns. Each of the sH·sW phases is a stride-1 Conv2D of dy with the sub-filter
 * W[rh + sH·t, rw + sW·u] (flipped, in and out channels swapped), and a JS loop interleaves
 * the phase outputs into dx. This costs the forward conv's FLOPs, where zero-dilating dy would
 * cost sH·sW times more. For stride 1 there is one phase and no interleaving.
 *
 * The stock kernel still runs for NCHW and non-float32 tensors. Dilations never reach this
 * kernel: tfjs-core's conv2d gradient rejects dilations above 1, and conv2dTranspose has none.
 */
function makeConv2DBackpropInput(original: KernelFunc): KernelFunc {
  return (params) => {
    const backend = params.backend as BackendWasm;
    const dy = requireInput(params.inputs, 'dy', Conv2DBackpropInput);
    const filter = requireInput(params.inputs, 'filter', Conv2DBackpropInput);
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
      params.attrs as unknown as Conv2DBackpropInputAttrs;

    if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return original(params);
    }
    const convInfo = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as Shape4D,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    util.assert(
      util.arraysEqual(dy.shape, convInfo.outShape),
      () => `Conv2DBackpropInput: dy shape ${dy.shape} does not match the conv output shape ${convInfo.outShape}.`,
    );

    const { inHeight, inWidth, outHeight, outWidth, padInfo } = convInfo;
    const rowPhases = computePhases(convInfo.strideHeight, convInfo.filterHeight, padInfo.top, inHeight);
    const colPhases = computePhases(convInfo.strideWidth, convInfo.filterWidth, padInfo.left, inWidth);

    if (rowPhases.length === 1 && colPhases.length === 1) {
      const phaseOut = convolvePhase(backend, dy, filter, rowPhases[0], colPhases[0], outHeight, outWidth);
      if (util.arraysEqual(phaseOut.shape, inputShape)) {
        return phaseOut;
      }
      const dx = makeZeroOutput(backend, inputShape);
      scatterPhase(backend, phaseOut, dx, rowPhases[0], colPhases[0]);
      backend.disposeData(phaseOut.dataId);
      return dx;
    }

    const dx = makeZeroOutput(backend, inputShape);
    for (const rowPhase of rowPhases) {
      for (const colPhase of colPhases) {
        if (rowPhase.taps === 0 || colPhase.taps === 0 || rowPhase.count === 0 || colPhase.count === 0) {
          // No filter tap reaches these positions, so they keep the zero fill.
          continue;
        }
        const phaseOut = convolvePhase(backend, dy, filter, rowPhase, colPhase, outHeight, outWidth);
        scatterPhase(backend, phaseOut, dx, rowPhase, colPhase);
        backend.disposeData(phaseOut.dataId);
      }
    }
    return dx;
  };
}

/**
 * One residue class of dx positions along one spatial axis. Positions x = first + stride·n
 * for n < count take filter taps p = residue + stride·t for t < taps, from dy index
 * firstDyIndex + n − t.
 */
interface Phase {
  residue: number;
  stride: number;
  taps: number;
  first: number;
  count: number;
  firstDyIndex: number;
  /** Zero padding before dy in the phase conv. */
  padBefore: number;
  /** Phase conv outputs to skip before the one for `first`. */
  skip: number;
}

/**
 * Splits one spatial axis of a backprop-input conv into its `stride` phases. `forwardPad` is the
 * forward conv's padding before the input (top or left), `inSize` the size of dx on this axis.
 */
function computePhases(stride: number, filterSize: number, forwardPad: number, inSize: number): Phase[] {
  const phases: Phase[] = [];
  for (let residue = 0; residue < stride; residue++) {
    const taps = Math.max(0, Math.ceil((filterSize - residue) / stride));
    // The first position x ≥ 0 with (x + forwardPad) mod stride = residue.
    const first = (((residue - forwardPad) % stride) + stride) % stride;
    const count = first < inSize ? Math.floor((inSize - 1 - first) / stride) + 1 : 0;
    const firstDyIndex = (first + forwardPad - residue) / stride;
    // Phase-conv output n reads dy indices n − phasePad … n − phasePad + taps − 1 and yields the
    // position whose dy index is n − phasePad + taps − 1. Zero padding covers a start below
    // taps − 1, and skipped outputs cover a start above it.
    const phasePad = Math.max(0, taps - 1 - firstDyIndex);
    const skip = firstDyIndex - (taps - 1) + phasePad;
    phases.push({ residue, stride, taps, first, count, firstDyIndex, padBefore: phasePad, skip });
  }
  return phases;
}

/** Runs the stride-1 Conv2D that yields one (row, column) phase of dx. */
function convolvePhase(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  rowPhase: Phase,
  colPhase: Phase,
  dyHeight: number,
  dyWidth: number,
): TensorInfo {
  // Pad after dy so that the conv yields skip + count outputs: outputs = dySize + padBefore +
  // padAfter − taps + 1.
  const padBottom = Math.max(0, rowPhase.skip + rowPhase.count - dyHeight - rowPhase.padBefore + rowPhase.taps - 1);
  const padRight = Math.max(0, colPhase.skip + colPhase.count - dyWidth - colPhase.padBefore + colPhase.taps - 1);

  const subFilter = makePhaseFilter(backend, filter, rowPhase, colPhase);
  try {
    return runWasmKernel(
      Conv2D,
      backend,
      { x: dy, filter: subFilter },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [rowPhase.padBefore, padBottom],
          [colPhase.padBefore, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  } finally {
    backend.disposeData(subFilter.dataId);
  }
}

/**
 * Builds the phase filter F[u, v, o, c] = W[rh + sH·(tapsH − 1 − u), rw + sW·(tapsW − 1 − v), c, o]
 * from a [kH, kW, c, o] filter W: the phase's taps, flipped, with in and out channels swapped.
 */
function makePhaseFilter(backend: BackendWasm, filter: TensorInfo, rowPhase: Phase, colPhase: Phase): TensorInfo {
  const [, filterWidth, inChannels, outChannels] = filter.shape;
  const out = backend.makeOutput([rowPhase.taps, colPhase.taps, outChannels, inChannels], filter.dtype);
  // Views are taken after makeOutput, whose allocation may grow and detach the wasm heap.
  const source = backend.typedArrayFromHeap(filter);
  const target = backend.typedArrayFromHeap(out);

  let targetOffset = 0;
  for (let u = 0; u < rowPhase.taps; u++) {
    const p = rowPhase.residue + rowPhase.stride * (rowPhase.taps - 1 - u);
    for (let v = 0; v < colPhase.taps; v++) {
      const q = colPhase.residue + colPhase.stride * (colPhase.taps - 1 - v);
      const sourcePixel = (p * filterWidth + q) * inChannels * outChannels;
      for (let o = 0; o < outChannels; o++) {
        for (let c = 0; c < inChannels; c++) {
          target[targetOffset++] = source[sourcePixel + c * outChannels + o];
        }
      }
    }
  }
  return out;
}

/** Copies a phase conv output [batch, rows, cols, c] into its strided positions of dx. */
function scatterPhase(
  backend: BackendWasm,
  phaseOut: TensorInfo,
  dx: TensorInfo,
  rowPhase: Phase,
  colPhase: Phase,
): void {
  const [batch, phaseRows, phaseCols, channels] = phaseOut.shape;
  const [, height, width] = dx.shape;
  const source = backend.typedArrayFromHeap(phaseOut);
  const target = backend.typedArrayFromHeap(dx);

  for (let b = 0; b < batch; b++) {
    for (let n = 0; n < rowPhase.count; n++) {
      const h = rowPhase.first + n * rowPhase.stride;
      const sourceRow = (b * phaseRows + rowPhase.skip + n) * phaseCols;
      const targetRow = (b * height + h) * width;
      for (let m = 0; m < colPhase.count; m++) {
        const w = colPhase.first + m * colPhase.stride;
        const sourceOffset = (sourceRow + colPhase.skip + m) * channels;
        const targetOffset = (targetRow + w) * channels;
        for (let c = 0; c < channels; c++) {
          target[targetOffset + c] = source[sourceOffset + c];
        }
      }
    }
  }
}

function makeZeroOutput(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum

/**
 * Sums the slices x[r, ...] that share a segment id into out[segmentIds[r], ...]. segmentIds
 * may have any shape that is a prefix of x's shape. Ids outside [0, numSegments) are skipped,
 * as the tfjs cpu kernel does. This is the gradient of gather, used by embedding layers.
 */
function unsortedSegmentSum(params: WasmKernelParams): TensorInfo {
  const { inputs, backend } = params;
  const x = requireInput(inputs, 'x', UnsortedSegmentSum);
  const segmentIds = requireInput(inputs, 'segmentIds', UnsortedSegmentSum);
  const numSegments = params.attrs?.numSegments as number;

  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(
      `UnsortedSegmentSum on the wasm backend supports float32 and int32 x, got ${x.dtype}. Cast x to float32.`,
    );
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum expects int32 segmentIds, got ${segmentIds.dtype}. Cast them to int32.`);
  }
  const idsRank = segmentIds.shape.length;
  util.assert(
    util.arraysEqual(x.shape.slice(0, idsRank), segmentIds.shape),
    () => `UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} must be a prefix of x shape ${x.shape}.`,
  );

  const sliceShape = x.shape.slice(idsRank);
  const sliceSize = util.sizeFromShape(sliceShape);
  const numRows = util.sizeFromShape(segmentIds.shape);
  const out = backend.makeOutput([numSegments, ...sliceShape], x.dtype);

  // Views are taken after makeOutput, whose allocation may grow and detach the wasm heap.
  const values = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const sums = backend.typedArrayFromHeap(out);
  sums.fill(0);

  for (let row = 0; row < numRows; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= numSegments) {
      continue;
    }
    const sourceOffset = row * sliceSize;
    const targetOffset = segment * sliceSize;
    for (let k = 0; k < sliceSize; k++) {
      sums[targetOffset + k] += values[sourceOffset + k];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad

/**
 * Routes each dy value to the first maximum of its pooling window in x, as the tfjs cpu backend
 * does. Window positions in the padding are skipped. NHWC float32, dilation 1.
 */
function maxPoolGrad(params: WasmKernelParams): TensorInfo {
  const { inputs, backend } = params;
  const dy = requireInput(inputs, 'dy', MaxPoolGrad);
  const x = requireInput(inputs, 'input', MaxPoolGrad);
  const { filterSize, strides, pad, dimRoundingMode } = params.attrs as unknown as MaxPoolGradAttrs;

  const info = backend_util.computePool2DInfo(x.shape as Shape4D, filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth, padInfo } = info;
  util.assert(
    util.arraysEqual(dy.shape, info.outShape),
    () => `MaxPoolGrad: dy shape ${dy.shape} does not match the pool output shape ${info.outShape}.`,
  );

  const dx = makeZeroOutput(backend, x.shape);
  // Views are taken after makeOutput, whose allocation may grow and detach the wasm heap.
  const xValues = backend.typedArrayFromHeap(x);
  const dyValues = backend.typedArrayFromHeap(dy);
  const dxValues = backend.typedArrayFromHeap(dx);
  const maxValues = new Float32Array(channels);
  const maxOffsets = new Int32Array(channels);

  let dyOffset = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const rowStart = yR * strideHeight - padInfo.top;
      const rowEnd = Math.min(inHeight, rowStart + filterHeight);
      for (let yC = 0; yC < outWidth; yC++) {
        const colStart = yC * strideWidth - padInfo.left;
        const colEnd = Math.min(inWidth, colStart + filterWidth);
        maxValues.fill(Number.NEGATIVE_INFINITY);
        maxOffsets.fill(-1);

        for (let xR = Math.max(0, rowStart); xR < rowEnd; xR++) {
          for (let xC = Math.max(0, colStart); xC < colEnd; xC++) {
            const pixelOffset = ((b * inHeight + xR) * inWidth + xC) * channels;
            for (let d = 0; d < channels; d++) {
              const value = xValues[pixelOffset + d];
              if (value > maxValues[d]) {
                maxValues[d] = value;
                maxOffsets[d] = pixelOffset + d;
              }
            }
          }
        }

        for (let d = 0; d < channels; d++, dyOffset++) {
          if (maxOffsets[d] >= 0) {
            dxValues[maxOffsets[d]] += dyValues[dyOffset];
          }
        }
      }
    }
  }
  return dx;
}
