/**
 * Small building blocks shared by the models: seeded parameter initialisation and the
 * layers as plain functions of a parameter record. No tfjs-layers: every model is a few
 * readable functions over named `tf.Variable`s, which is also what checkpoints store.
 */
import * as tf from './tf';
import { Rng } from './data/rng';

/** Named trainable tensors. Names are stable: checkpoints and tests rely on them. */
export type Params = Record<string, tf.Variable>;

/** Expected parameter shapes by name, used to check checkpoints before loading. */
export type ParamShapes = Record<string, number[]>;

/** He-normal initial values (He et al. 2015), suited to ReLU layers; `fanIn` is inputs per unit. */
function heNormal(shape: number[], fanIn: number, rng: Rng): tf.Tensor {
  return tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', rng.seed());
}

let nextScope = 0;

/** Creates variables for the given shapes: weights He-normal, names ending in `/b` zero. */
export function initParams(shapes: ParamShapes, seed: number): Params {
  const rng = new Rng(seed);
  const params: Params = {};
  // tfjs registers variables by a global name, so each model instance gets its own prefix.
  const scope = `model${nextScope++}`;
  for (const [name, shape] of Object.entries(shapes)) {
    const isBias = name.endsWith('/b');
    // Conv filters are [kh, kw, in, out]; dense weights are [in, out].
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
    const value = isBias ? tf.zeros(shape) : heNormal(shape, fanIn, rng);
    params[name] = tf.variable(value, true, `${scope}/${name}`);
    value.dispose();
  }
  return params;
}

export function disposeParams(params: Params): void {
  for (const variable of Object.values(params)) variable.dispose();
}

export function paramCount(shapes: ParamShapes): number {
  return Object.values(shapes).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

/** 2-D convolution with bias, NHWC, 'same' padding. */
export function conv(params: Params, name: string, x: tf.Tensor4D, stride = 1): tf.Tensor4D {
  const w = params[`${name}/w`] as unknown as tf.Tensor4D;
  const b = params[`${name}/b`];
  return tf.add(tf.conv2d(x, w, stride, 'same'), b);
}

/** Fully connected layer with bias: [batch, in] → [batch, out]. */
export function dense(params: Params, name: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, params[`${name}/w`] as unknown as tf.Tensor2D), params[`${name}/b`]);
}

/**
 * Nearest-neighbour upsampling by 2 in height and width: [b, h, w, c] → [b, 2h, 2w, c].
 * Built from a broadcast multiply and reshapes, not `resizeNearestNeighbor`. The cpu
 * backend's ResizeNearestNeighborGrad in tfjs 4.22 is wrong for batch sizes above 1
 * because it reads dy at the wrong batch offset. These ops give the same gradient on every
 * backend.
 */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const spread = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])); // [b, h, 2, w, 2, c]
    return tf.reshape(spread, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

export function convShapes(name: string, kernel: number, inChannels: number, outChannels: number): ParamShapes {
  return { [`${name}/w`]: [kernel, kernel, inChannels, outChannels], [`${name}/b`]: [outChannels] };
}

export function denseShapes(name: string, inputs: number, outputs: number): ParamShapes {
  return { [`${name}/w`]: [inputs, outputs], [`${name}/b`]: [outputs] };
}
