/**
 * Turns a free-hand drawing into an MNIST-style digit, following the preprocessing stated
 * on the MNIST page (http://yann.lecun.com/exdb/mnist/). The digit is size-normalised to
 * fit a 20×20 box with its aspect ratio kept (anti-aliased). Then it is placed in a 28×28
 * field so that its centre of mass sits at the field's centre.
 *
 * No DOM here: the input is an ink-coverage map (0 = paper, 1 = ink) of any size.
 */

export const MNIST_SIZE = 28;
export const MNIST_BOX = 20;

/** Pixels with at least this much ink count towards the bounding box. */
const INK_THRESHOLD = 0.05;

/**
 * Smallest drawing that is read as a digit, measured on a 28×28 grid before size
 * normalisation: at least MIN_INKED_PIXELS inked pixels and a bounding box at least
 * MIN_BOX_SIDE pixels on its longer side. Normalisation enlarges any mark to 20 pixels,
 * so without this check a single tap becomes a filled disc that looks like a 0.
 */
export const MIN_INKED_PIXELS = 15;
export const MIN_BOX_SIDE = 4;

/** A 28×28 grid pixel counts as inked when ink covers at least this fraction of it. */
const GRID_INK_THRESHOLD = 0.2;

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Smallest box around pixels with ink, or null for a blank drawing. */
export function inkBoundingBox(ink: Float32Array, width: number, height: number): Box | null {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (ink[y * width + x] < INK_THRESHOLD) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  if (right < 0) return null;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** Size of a drawing on a 28×28 grid, before size normalisation. */
export interface InkExtent {
  /** Number of grid pixels whose ink coverage is at least GRID_INK_THRESHOLD. */
  inkedPixels: number;
  /** Bounding box of those pixels, in grid pixels (0 × 0 for a blank drawing). */
  boxWidth: number;
  boxHeight: number;
}

/**
 * Measures an ink map (`width`×`height`, values in [0, 1]) on a 28×28 grid: the mean ink
 * of the source pixels that fall in each grid pixel decides whether that grid pixel is inked.
 */
export function measureInkExtent(ink: Float32Array, width: number, height: number): InkExtent {
  const coverage = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  const sourcePixels = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  for (let y = 0; y < height; y += 1) {
    const gridY = Math.floor((y * MNIST_SIZE) / height);
    for (let x = 0; x < width; x += 1) {
      const gridX = Math.floor((x * MNIST_SIZE) / width);
      coverage[gridY * MNIST_SIZE + gridX] += ink[y * width + x];
      sourcePixels[gridY * MNIST_SIZE + gridX] += 1;
    }
  }

  const inked = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  let inkedPixels = 0;
  for (let pixel = 0; pixel < inked.length; pixel += 1) {
    if (sourcePixels[pixel] > 0 && coverage[pixel] / sourcePixels[pixel] >= GRID_INK_THRESHOLD) {
      inked[pixel] = 1;
      inkedPixels += 1;
    }
  }

  const box = inkBoundingBox(inked, MNIST_SIZE, MNIST_SIZE);
  return { inkedPixels, boxWidth: box?.width ?? 0, boxHeight: box?.height ?? 0 };
}

/** Returns true when a drawing is below the MIN_INKED_PIXELS and MIN_BOX_SIDE limits, blank ones included. */
export function isTooSmallForDigit(extent: InkExtent): boolean {
  return extent.inkedPixels < MIN_INKED_PIXELS || Math.max(extent.boxWidth, extent.boxHeight) < MIN_BOX_SIDE;
}

/** Bilinear sample of `ink` at a continuous position (pixel centres at integer + 0.5). */
function sampleBilinear(ink: Float32Array, width: number, height: number, x: number, y: number): number {
  const fx = x - 0.5;
  const fy = y - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const tx = fx - x0;
  const ty = fy - y0;

  const at = (px: number, py: number): number => {
    if (px < 0 || py < 0 || px >= width || py >= height) return 0;
    return ink[py * width + px];
  };

  const top = at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx;
  const bottom = at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx;
  return top * (1 - ty) + bottom * ty;
}

/**
 * Resamples the `box` region of `ink` to `targetWidth`×`targetHeight` by averaging a grid
 * of bilinear samples inside each target pixel, which anti-aliases both shrinking (a large
 * drawing) and enlarging (a tiny one).
 */
function resampleBox(ink: Float32Array, width: number, height: number, box: Box, targetWidth: number, targetHeight: number): Float32Array {
  const out = new Float32Array(targetWidth * targetHeight);
  const stepX = box.width / targetWidth;
  const stepY = box.height / targetHeight;
  // Samples per target pixel along each axis: enough to cover every source pixel once.
  const samples = Math.min(16, Math.max(2, Math.ceil(Math.max(stepX, stepY))));

  for (let ty = 0; ty < targetHeight; ty += 1) {
    for (let tx = 0; tx < targetWidth; tx += 1) {
      let sum = 0;
      for (let sy = 0; sy < samples; sy += 1) {
        for (let sx = 0; sx < samples; sx += 1) {
          const x = box.left + (tx + (sx + 0.5) / samples) * stepX;
          const y = box.top + (ty + (sy + 0.5) / samples) * stepY;
          sum += sampleBilinear(ink, width, height, x, y);
        }
      }
      out[ty * targetWidth + tx] = sum / (samples * samples);
    }
  }
  return out;
}

/** Centre of mass (x, y) of an image in pixel coordinates, pixel centres at integer + 0.5. */
function centerOfMass(image: Float32Array, width: number, height: number): [number, number] {
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const value = image[y * width + x];
      mass += value;
      sumX += value * (x + 0.5);
      sumY += value * (y + 0.5);
    }
  }
  if (mass === 0) return [width / 2, height / 2];
  return [sumX / mass, sumY / mass];
}

/**
 * Converts an ink map (`width`×`height`, values in [0, 1]) into a 28×28 row-major digit in
 * [0, 1] the way MNIST digits were made. Returns null when the drawing has no ink.
 */
export function toMnistDigit(ink: Float32Array, width: number, height: number): Float32Array | null {
  const box = inkBoundingBox(ink, width, height);
  if (!box) return null;

  // Longer side → 20 pixels; the shorter side keeps the aspect ratio (at least 1 pixel).
  const scale = MNIST_BOX / Math.max(box.width, box.height);
  const targetWidth = Math.max(1, Math.round(box.width * scale));
  const targetHeight = Math.max(1, Math.round(box.height * scale));
  const glyph = resampleBox(ink, width, height, box, targetWidth, targetHeight);

  // Integer shift that moves the glyph's centre of mass to the field's centre (14, 14).
  const [massX, massY] = centerOfMass(glyph, targetWidth, targetHeight);
  const offsetX = Math.round(MNIST_SIZE / 2 - massX);
  const offsetY = Math.round(MNIST_SIZE / 2 - massY);

  const digit = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  for (let y = 0; y < targetHeight; y += 1) {
    const fieldY = y + offsetY;
    if (fieldY < 0 || fieldY >= MNIST_SIZE) continue;
    for (let x = 0; x < targetWidth; x += 1) {
      const fieldX = x + offsetX;
      if (fieldX < 0 || fieldX >= MNIST_SIZE) continue;
      digit[fieldY * MNIST_SIZE + fieldX] = Math.min(1, Math.max(0, glyph[y * targetWidth + x]));
    }
  }
  return digit;
}
