/**
 * The captioner of the "Better captions" chapter: a small CNN that reads a digit and
 * writes its descriptive caption ("a thick, right-slanted seven, small, in the upper left").
 *
 * DALL·E 3's captioner is an image-conditioned language model that writes free text
 * (Betker et al. 2023, Section 2). Here every descriptive caption follows one template, so
 * the captioner predicts the template's five slots (digit, thickness, slant, size,
 * position) with one softmax head each, and the caption is rendered from the slots. It is
 * trained against captions measured from the pixels (src/models/data/attributes.ts) and,
 * like DALL·E 3's, then captions the generator's training set in their place.
 *
 *   image [b, 28, 28, 1]
 *   → the referee's trunk (four 3×3 convs, two with stride 2) → fc → ReLU   [b, hidden]
 *   → heads: digit 10 | thickness 3 | slant 3 | size 3 | position 9         [b, 28]
 */
import * as tf from './tf';
import { conv, convShapes, dense, denseShapes, initParams, type ParamShapes, type Params } from './nn';
import type { Batch } from './data/batches';
import type { LossFunction } from './trainer';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, attributesFromIndices, descriptiveCaption, type AttributeName, type DigitAttributes } from './data/attributes';

export interface CaptionerConfig {
  channels: [number, number, number, number];
  hidden: number;
}

export const DEFAULT_CAPTIONER_CONFIG: CaptionerConfig = { channels: [16, 32, 32, 64], hidden: 128 };

/** The slots in head order, with their number of classes. */
export const CAPTION_SLOTS: readonly { name: 'digit' | AttributeName; classes: number }[] = [
  { name: 'digit', classes: 10 },
  ...ATTRIBUTE_NAMES.map((name) => ({ name, classes: ATTRIBUTE_VALUES[name].length })),
];
const HEAD_WIDTH = CAPTION_SLOTS.reduce((sum, slot) => sum + slot.classes, 0);

export function captionerShapes(config: CaptionerConfig): ParamShapes {
  const [c1, c2, c3, c4] = config.channels;
  return {
    ...convShapes('conv1', 3, 1, c1),
    ...convShapes('conv2', 3, c1, c2),
    ...convShapes('conv3', 3, c2, c3),
    ...convShapes('conv4', 3, c3, c4),
    ...denseShapes('fc', 7 * 7 * c4, config.hidden),
    ...denseShapes('heads', config.hidden, HEAD_WIDTH),
  };
}

/** One image's caption with the probability of each slot's chosen value. */
export interface WrittenCaption {
  digit: number;
  attributes: DigitAttributes;
  text: string;
  /** Probability of the chosen value, per slot. */
  confidence: Record<'digit' | AttributeName, number>;
}

/**
 * Renders captions from chosen slot classes and their probabilities, both [b, 5] in
 * `CAPTION_SLOTS` order, as `predictSlots` returns them.
 */
export function writeCaptions(classes: ArrayLike<number>, confidence: ArrayLike<number>): WrittenCaption[] {
  const slots = CAPTION_SLOTS.length;
  return Array.from({ length: classes.length / slots }, (_, row) => {
    const digit = classes[row * slots];
    const attributes = attributesFromIndices(classes, row * slots + 1);
    const chosen = Object.fromEntries(CAPTION_SLOTS.map((slot, k) => [slot.name, confidence[row * slots + k]])) as WrittenCaption['confidence'];
    return { digit, attributes, text: descriptiveCaption(digit, attributes), confidence: chosen };
  });
}

export class Captioner {
  readonly params: Params;

  constructor(
    readonly config: CaptionerConfig = DEFAULT_CAPTIONER_CONFIG,
    seed = 0,
  ) {
    this.params = initParams(captionerShapes(config), seed);
  }

  /** Logits of every slot, split in `CAPTION_SLOTS` order: [b, classes] each. */
  slotLogits(images: tf.Tensor4D): tf.Tensor2D[] {
    return tf.tidy(() => {
      const p = this.params;
      let h = tf.relu(conv(p, 'conv1', images)); // [b, 28, 28, c1]
      h = tf.relu(conv(p, 'conv2', h, 2)); // [b, 14, 14, c2]
      h = tf.relu(conv(p, 'conv3', h)); // [b, 14, 14, c3]
      h = tf.relu(conv(p, 'conv4', h, 2)); // [b, 7, 7, c4]
      const features = tf.relu(dense(p, 'fc', tf.reshape(h, [images.shape[0], -1]) as tf.Tensor2D));
      return tf.split(dense(p, 'heads', features), CAPTION_SLOTS.map((slot) => slot.classes), 1) as tf.Tensor2D[];
    });
  }

  /** Chosen class per slot, [b, 5] in `CAPTION_SLOTS` order, and its probability. */
  predictSlots(images: tf.Tensor4D): { classes: Int32Array; confidence: Float32Array } {
    return tf.tidy(() => {
      const logits = this.slotLogits(images);
      const probabilities = logits.map((l) => tf.softmax(l));
      const classes = tf.stack(logits.map((l) => tf.argMax(l, 1)), 1).dataSync() as Int32Array;
      const confidence = tf.stack(probabilities.map((p) => tf.max(p, 1)), 1).dataSync() as Float32Array;
      return { classes, confidence };
    });
  }

  /** Writes the descriptive caption of each image. */
  caption(images: tf.Tensor4D): WrittenCaption[] {
    const { classes, confidence } = this.predictSlots(images);
    return writeCaptions(classes, confidence);
  }

  /**
   * Sum over slots of the softmax cross-entropy against the measured captions. `attributes`
   * contains the measured attribute indices [splitCount, 4] of the split the batches come from.
   */
  lossFunction(attributes: Uint8Array): LossFunction {
    return (batch: Batch) => {
      const images = tf.tensor4d(batch.images, [batch.size, 28, 28, 1]);
      const targets: number[][] = CAPTION_SLOTS.map(() => []);
      for (let i = 0; i < batch.size; i++) {
        targets[0].push(batch.labels[i]);
        for (let k = 0; k < 4; k++) targets[k + 1].push(attributes[batch.indices[i] * 4 + k]);
      }
      const logits = this.slotLogits(images);
      const terms: Record<string, tf.Scalar> = {};
      let total = tf.scalar(0);
      CAPTION_SLOTS.forEach((slot, k) => {
        const labels = tf.oneHot(tf.tensor1d(targets[k], 'int32'), slot.classes);
        const loss = tf.losses.softmaxCrossEntropy(labels, logits[k]) as tf.Scalar;
        total = tf.add(total, loss);
        terms[`${slot.name}Accuracy`] = tf.mean(tf.cast(tf.equal(tf.argMax(logits[k], 1), tf.tensor1d(targets[k], 'int32')), 'float32')) as tf.Scalar;
      });
      return { total, terms: { crossEntropy: total, ...terms } };
    };
  }

  dispose(): void {
    for (const variable of Object.values(this.params)) variable.dispose();
  }
}
