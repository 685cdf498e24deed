/**
 * The referee: a small CNN that classifies MNIST digits. It only judges generators (their
 * conditional accuracy, and FID on its penultimate features); it is never trained with
 * or on any generator's output.
 *
 *   image [b, 28, 28, 1]
 *   → conv1 3×3 → ReLU                      [b, 28, 28, c1]
 *   → conv2 3×3 stride 2 → ReLU             [b, 14, 14, c2]
 *   → conv3 3×3 → ReLU                      [b, 14, 14, c3]
 *   → conv4 3×3 stride 2 → ReLU             [b, 7, 7, c4]
 *   → flatten → fc1 → ReLU = features       [b, hidden]
 *   → dropout (training only) → fc2 = logits [b, 10]
 */
import * as tf from './tf';
import { conv, convShapes, dense, denseShapes, initParams, type ParamShapes, type Params } from './nn';
import type { Batch } from './data/batches';
import type { LossFunction } from './trainer';
import { deriveSeed } from './data/rng';

export const CLASSIFIER_NAME = 'classifier';

export interface ClassifierConfig {
  channels: [number, number, number, number];
  hidden: number;
  dropout: number;
}

export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = {
  channels: [16, 32, 32, 64],
  hidden: 128,
  dropout: 0.3,
};

export function classifierShapes(config: ClassifierConfig): ParamShapes {
  const [c1, c2, c3, c4] = config.channels;
  return {
    ...convShapes('conv1', 3, 1, c1),
    ...convShapes('conv2', 3, c1, c2),
    ...convShapes('conv3', 3, c2, c3),
    ...convShapes('conv4', 3, c3, c4),
    ...denseShapes('fc1', 7 * 7 * c4, config.hidden),
    ...denseShapes('fc2', config.hidden, 10),
  };
}

export class Classifier {
  readonly params: Params;

  constructor(
    readonly config: ClassifierConfig = DEFAULT_CLASSIFIER_CONFIG,
    seed = 0,
  ) {
    this.params = initParams(classifierShapes(config), seed);
  }

  /** Penultimate activations [b, hidden], the feature space used for FID and precision/recall. */
  features(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.params;
      let h = tf.relu(conv(p, 'conv1', images)); // [b, 28, 28, c1]
      h = tf.relu(conv(p, 'conv2', h, 2)); // [b, 14, 14, c2]
      h = tf.relu(conv(p, 'conv3', h)); // [b, 14, 14, c3]
      h = tf.relu(conv(p, 'conv4', h, 2)); // [b, 7, 7, c4]
      const flat = tf.reshape(h, [images.shape[0], -1]) as tf.Tensor2D; // [b, 49·c4]
      return tf.relu(dense(p, 'fc1', flat)); // [b, hidden]
    });
  }

  /** Class logits [b, 10]; with a `dropoutSeed`, applies dropout to the features (training). */
  logits(images: tf.Tensor4D, dropoutSeed?: number): tf.Tensor2D {
    return tf.tidy(() => {
      let features: tf.Tensor2D = this.features(images);
      if (dropoutSeed !== undefined && this.config.dropout > 0) {
        features = tf.dropout(features, this.config.dropout, undefined, dropoutSeed) as tf.Tensor2D;
      }
      return dense(this.params, 'fc2', features);
    });
  }

  /** Most likely digit per image. */
  predict(images: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => tf.argMax(this.logits(images), 1) as tf.Tensor1D);
  }

  /** Cross-entropy loss with dropout; the trainer minimises `total`. */
  lossFunction(seed: number): LossFunction {
    return (batch: Batch, step: number) => {
      const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
      const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), 10);
      const logits = this.logits(images, deriveSeed(seed, step));
      const total = tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)), 'float32')) as tf.Scalar;
      return { total, terms: { crossEntropy: total, accuracy } };
    };
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }
}

/** Converts uint8 or [0, 1] float pixels of `count` 28×28 images into a [count, 28, 28, 1] tensor. */
export function imagesToTensor(pixels: Float32Array, count: number): tf.Tensor4D {
  return tf.tensor4d(pixels, [count, 28, 28, 1]);
}
