/**
 * Seeded, shuffled mini-batches over an in-memory MNIST split.
 *
 * The same seed gives the same sequence of batches on every machine, because the order
 * comes from `Rng` and the pixels are scaled in plain JavaScript, not on a backend.
 */
import { PIXELS, IMAGE_SIZE, type MnistSplit } from './mnist';
import { Rng } from './rng';

export interface Batch {
  size: number;
  images: Float32Array; // [size, 28, 28, 1], ink in [0, 1]
  labels: Int32Array; // [size]
  indices: Int32Array; // [size] positions in the split
}

export interface BatcherState {
  rngState: number;
  epoch: number;
  cursor: number;
  order: number[];
}

/**
 * Draws batches without replacement, reshuffling at each epoch. The state can be saved
 * and restored so a resumed training run draws exactly the batches it would have drawn.
 */
export class Batcher {
  private rng: Rng;
  private order: Int32Array;
  private cursor = 0;
  epoch = 0;

  constructor(
    readonly split: MnistSplit,
    readonly batchSize: number,
    seed: number,
    /** Shift each image by up to this many pixels in x and y (0 = no augmentation). */
    readonly maxShift = 0,
  ) {
    if (batchSize < 1 || !Number.isInteger(batchSize)) {
      throw new Error(`Batch size must be a positive integer, got ${batchSize}.`);
    }
    this.rng = new Rng(seed);
    this.order = Int32Array.from({ length: split.count }, (_, i) => i);
    this.rng.shuffle(this.order);
  }

  next(): Batch {
    const size = this.batchSize;
    const indices = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      if (this.cursor >= this.order.length) {
        this.cursor = 0;
        this.epoch += 1;
        this.rng.shuffle(this.order);
      }
      indices[i] = this.order[this.cursor++];
    }
    return gatherBatch(this.split, indices, this.maxShift > 0 ? this.rng : undefined, this.maxShift);
  }

  getState(): BatcherState {
    return { rngState: this.rng.getState(), epoch: this.epoch, cursor: this.cursor, order: Array.from(this.order) };
  }

  setState(state: BatcherState): void {
    if (state.order.length !== this.order.length) {
      throw new Error(`Batcher state covers ${state.order.length} examples, this split has ${this.order.length}.`);
    }
    this.rng = Rng.fromState(state.rngState);
    this.epoch = state.epoch;
    this.cursor = state.cursor;
    this.order = Int32Array.from(state.order);
  }
}

/** Copies the given examples into a float batch, optionally shifted by a random offset. */
export function gatherBatch(split: MnistSplit, indices: Int32Array, rng?: Rng, maxShift = 0): Batch {
  const size = indices.length;
  const images = new Float32Array(size * PIXELS);
  const labels = new Int32Array(size);
  for (let b = 0; b < size; b++) {
    const index = indices[b];
    labels[b] = split.labels[index];
    const source = index * PIXELS;
    const target = b * PIXELS;
    const dx = rng ? rng.int(2 * maxShift + 1) - maxShift : 0;
    const dy = rng ? rng.int(2 * maxShift + 1) - maxShift : 0;
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= IMAGE_SIZE) continue;
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const sx = x - dx;
        if (sx < 0 || sx >= IMAGE_SIZE) continue;
        images[target + y * IMAGE_SIZE + x] = split.images[source + sy * IMAGE_SIZE + sx] / 255;
      }
    }
  }
  return { size, images, labels, indices };
}

/** Consecutive examples [start, start + size) without shuffling, for evaluation. */
export function sliceBatch(split: MnistSplit, start: number, size: number): Batch {
  const end = Math.min(start + size, split.count);
  const indices = Int32Array.from({ length: end - start }, (_, i) => start + i);
  return gatherBatch(split, indices);
}
