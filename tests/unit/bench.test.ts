/**
 * The bench's analytic FLOP counters for unCLIP's decoder and prior, against multiply-adds
 * counted by hand for tiny configs, and its unCLIP workloads, run small on wasm.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import {
  decoderForwardFlops,
  decoderLayerMacs,
  decoderSamplingLatency,
  priorForwardFlops,
  priorLayerMacs,
  trainingThroughput,
  unclipSampleFlops,
  unclipSamplingLatency,
} from '../../src/models/bench';
import { decoderShapes, DEFAULT_DECODER_CONFIG, type DecoderConfig } from '../../src/models/decoder';
import { DEFAULT_PRIOR_CONFIG, priorShapes, type PriorConfig } from '../../src/models/prior';
import { backend } from './helpers';

/** Widths 2/3/4 at 28×28, 14×14 and 7×7, block vector 5, CLIP embeddings 6. */
const TINY_DECODER: DecoderConfig = { ...DEFAULT_DECODER_CONFIG, channels: [2, 3, 4], embedWidth: 5, clipDim: 6 };
const TINY_PRIOR: PriorConfig = { ...DEFAULT_PRIOR_CONFIG, clipDim: 6, width: 8, blocks: 2 };
/** Sinusoidal timestep features that both networks read (32 in decoder.ts and prior.ts). */
const TIME_FEATURES = 32;

describe('decoder FLOP counter', () => {
  it('matches a hand count for a tiny U-Net', () => {
    const pixels28 = 28 * 28;
    const pixels14 = 14 * 14;
    const pixels7 = 7 * 7;
    const conv3x3 = (pixels: number, inChannels: number, outChannels: number) => pixels * 9 * inChannels * outChannels;
    const dense =
      TIME_FEATURES * 5 + // time1
      5 * 5 + // time2
      6 * 5 + // cond1
      5 * 5 + // cond2
      6 * 49 * 4 + // cond_map: the 7×7×c3 embedding map
      5 * (2 * 2 + 2 * 3 + 2 * 4 + 2 * 4 + 2 * 3 + 2 * 2); // scale and shift of down1, down2, mid1, mid2, up2, up1
    const convs =
      conv3x3(pixels28, 1, 2) + // in
      2 * conv3x3(pixels28, 2, 2) + // down1
      conv3x3(pixels14, 2, 3) + // down1_pool, stride 2
      2 * conv3x3(pixels14, 3, 3) + // down2
      conv3x3(pixels7, 3, 4) + // down2_pool, stride 2
      4 * conv3x3(pixels7, 4, 4) + // mid1, mid2
      conv3x3(pixels14, 4 + 3, 3) + // up2_merge over the concatenated skip
      2 * conv3x3(pixels14, 3, 3) + // up2
      conv3x3(pixels28, 3 + 2, 2) + // up1_merge over the concatenated skip
      2 * conv3x3(pixels28, 2, 2) + // up1
      conv3x3(pixels28, 2, 1); // out
    expect(dense).toBe(1596);
    expect(convs).toBe(356_328);
    expect(decoderForwardFlops(TINY_DECODER)).toBe(2 * (dense + convs));
  });

  it('counts every conv and dense layer', () => {
    const shapes = decoderShapes(TINY_DECODER);
    const layers = Object.keys(shapes)
      .filter((name) => name.endsWith('/w') && `${name.slice(0, -2)}/b` in shapes)
      .map((name) => name.slice(0, -2));
    expect(Object.keys(decoderLayerMacs(TINY_DECODER)).sort()).toEqual(layers.sort());
  });

  it('runs each layer at a U-Net resolution', () => {
    const shapes = decoderShapes(DEFAULT_DECODER_CONFIG);
    for (const [layer, macs] of Object.entries(decoderLayerMacs(DEFAULT_DECODER_CONFIG))) {
      const weights = shapes[`${layer}/w`].reduce((a, b) => a * b, 1);
      const allowed = shapes[`${layer}/w`].length === 4 ? [28 * 28, 14 * 14, 7 * 7] : [1];
      expect(allowed, layer).toContain(macs / weights);
    }
  });
});

describe('prior FLOP counter', () => {
  it('matches a hand count for a tiny MLP', () => {
    const macs =
      (2 * 6 + TIME_FEATURES) * 8 + // in: noisy image embedding, caption embedding, timestep features
      2 * 2 * 8 * 8 + // fc1 and fc2 of 2 residual blocks
      8 * 6; // out
    expect(macs).toBe(656);
    expect(priorForwardFlops(TINY_PRIOR)).toBe(2 * macs);
  });

  it('counts every dense layer', () => {
    const layers = Object.keys(priorShapes(TINY_PRIOR))
      .filter((name) => name.endsWith('/w') && name !== 'text_null/w')
      .map((name) => name.slice(0, -2));
    expect(Object.keys(priorLayerMacs(TINY_PRIOR)).sort()).toEqual(layers.sort());
  });
});

describe('unCLIP sample FLOPs', () => {
  it('doubles passes under guidance', () => {
    const prior = priorForwardFlops(TINY_PRIOR);
    const decoder = decoderForwardFlops(TINY_DECODER);
    const settings = { priorSteps: 10, candidates: 2, priorGuidance: 1, decoderSteps: 25, decoderGuidance: 3 };
    expect(unclipSampleFlops(TINY_PRIOR, TINY_DECODER, settings)).toBe(10 * 2 * prior + 25 * 2 * decoder);
    expect(unclipSampleFlops(TINY_PRIOR, TINY_DECODER, { ...settings, decoderGuidance: 1 })).toBe(10 * 2 * prior + 25 * decoder);
    expect(unclipSampleFlops(TINY_PRIOR, TINY_DECODER, { ...settings, priorGuidance: 2 })).toBe(10 * 2 * 2 * prior + 25 * 2 * decoder);
  });
});

describe('unCLIP workloads', () => {
  beforeAll(async () => {
    await backend('wasm');
  });

  it('training steps leak no tensors', async () => {
    const before = tf.memory().numTensors;
    const decoder = await trainingThroughput('decoder', 2, 1, 0);
    const prior = await trainingThroughput('prior', 4, 1, 0);
    expect(tf.memory().numTensors).toBe(before);
    expect(decoder.gflopPerCall).toBeCloseTo((3 * 2 * decoderForwardFlops(DEFAULT_DECODER_CONFIG)) / 1e9, 9);
    expect(prior.gflopPerCall).toBeCloseTo((3 * 4 * priorForwardFlops(DEFAULT_PRIOR_CONFIG)) / 1e9, 9);
    expect(decoder.milliseconds).toBeGreaterThan(0);
  });

  it('sampling leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const full = await unclipSamplingLatency(2, 1, 0);
    const decoderOnly = await decoderSamplingLatency(2, 2, 1, 0);
    expect(tf.memory().numTensors).toBe(before);
    const expected = unclipSampleFlops(DEFAULT_PRIOR_CONFIG, DEFAULT_DECODER_CONFIG, { priorSteps: 2, candidates: 2, priorGuidance: 1, decoderSteps: 2, decoderGuidance: 3 });
    expect(full.gflopPerCall).toBeCloseTo(expected / 1e9, 9);
    expect(decoderOnly.gflopPerCall).toBeCloseTo((2 * 2 * 2 * decoderForwardFlops(DEFAULT_DECODER_CONFIG)) / 1e9, 9);
    expect(full.batchSize).toBe(1);
    expect(decoderOnly.batchSize).toBe(2);
  });
});
