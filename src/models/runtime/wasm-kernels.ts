/**
 * Training kernels for the TensorFlow.js WebAssembly backend (tfjs-backend-wasm 4.22).
 *
 * The stock backend cannot train conv nets or embeddings, and trains dense layers slowly:
 * - It has no Conv2DBackpropFilter and no UnsortedSegmentSum kernel, so the gradients of
 *   conv2d and gather throw.
 * - Its BatchMatMul and _FusedMatMul reach XNNPACK only when neither operand is transposed
 *   and both batch sizes are 1. Every other case, which includes every matmul gradient,
 *   runs a blocked scalar C++ loop (src/cc/batch_mat_mul_impl.cc in the tfjs repository).
 * - Its Conv2DBackpropInput is a scalar C++ loop.
 * - Its MaxPoolGrad (src/cc/kernels/MaxPoolGrad.cc) starts each window's max at FLT_MIN, the
 *   smallest positive float, so a window whose values are all ≤ FLT_MIN sends its gradient to
 *   the wrong element or drops it. On ties it picks the last max, where the cpu backend picks
 *   the first.
 *
 * registerWasmTrainingKernels() adds the missing kernels and reroutes the slow cases onto
 * the backend's own XNNPACK-backed Conv2D and BatchMatMul kernels. It registers kernels
 * for the 'wasm' backend name only and leaves every other backend's registry alone.
 */
import {
  _FusedMatMul,
  BatchMatMul,
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  MaxPoolGrad,
  registerKernel,
  Reshape,
  Slice,
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
 * BatchMatMul, _FusedMatMul and Conv2DBackpropInput kernels with faster routes, and replaces its
 * MaxPoolGrad with a correct JS loop.
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

  replaceKernel(BatchMatMul, (original) => makeMatMulWithoutTranspose(BatchMatMul, original));
  replaceKernel(_FusedMatMul, (original) => makeMatMulWithoutTranspose(_FusedMatMul, original));
  replaceKernel(Conv2DBackpropInput, (original) => makeConv2DBackpropInput(original));
  replaceKernel(MaxPoolGrad, () => maxPoolGrad as unknown as KernelFunc);
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
 * NOTE: when `b` has a batch size above 1, the original scalar loop still runs, unchanged,
 * because an explicit transpose would not reach XNNPACK there and only adds a copy.
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
      // The original kernel also raises its own error for non-float32 operands.
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
