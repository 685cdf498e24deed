import { describe, expect, it } from 'vitest';

import { config as decoderConfig } from '../../public/models/decoder/card.json';
import {
  DECODER_SETTING_NAMES,
  DIFFUSION_EMBEDS,
  DIFFUSION_FORWARD_STATE,
  pickDecoderSettings,
  UNCLIP_PIPELINE_STATE,
} from '../../src/components/widgets/embeds/diffusion';
import { mergeInitialState, writeUrlState } from '../../src/components/widgets/url-state';

describe('pickDecoderSettings', () => {
  it('keeps only the decoder settings', () => {
    const picked = pickDecoderSettings({ testDigit: 4, prompt: 'a seven', method: 'ddpm', steps: 10, eta: 0.5, guidanceScale: 2, seed: 9 });

    expect(picked).toEqual({ method: 'ddpm', steps: 10, eta: 0.5, guidanceScale: 2, seed: 9 });
  });

  it('leaves out absent settings', () => {
    const picked = pickDecoderSettings({ steps: 5, seed: undefined });

    expect(picked).toEqual({ steps: 5 });
    expect(Object.hasOwn(picked, 'seed')).toBe(false);
  });

  it('keeps zero values', () => {
    expect(pickDecoderSettings({ eta: 0, guidanceScale: 0, seed: 0 })).toEqual({ eta: 0, guidanceScale: 0, seed: 0 });
  });
});

describe('diffusion embed schemas', () => {
  it('lets every unCLIP widget lock the decoder settings', () => {
    for (const name of ['unclip-pipeline', 'unclip-variations', 'unclip-interpolation', 'unclip-text-diff'] as const) {
      const settings = Object.keys(DIFFUSION_EMBEDS[name].state.schema);
      for (const setting of DECODER_SETTING_NAMES) expect(settings, `${name} settings`).toContain(setting);
    }
  });

  it('bounds timestep and steps by the decoder card', () => {
    expect(DIFFUSION_FORWARD_STATE.schema.timestep.max).toBe(decoderConfig.diffusionSteps - 1);
    expect(UNCLIP_PIPELINE_STATE.schema.steps.max).toBe(decoderConfig.diffusionSteps);
  });

  it('round-trips pipeline settings through a link', () => {
    const values = { prompt: 'a thick seven', count: 2, priorSteps: 5, priorGuidanceScale: 1.5, priorCandidates: 3, method: 'ddpm', steps: 7, eta: 0, guidanceScale: 2.5, seed: 42 } as const;
    const { prefix, schema } = UNCLIP_PIPELINE_STATE;
    const search = writeUrlState('', prefix, schema, values);

    const restored = mergeInitialState({ schema, controls: Object.keys(schema), search, prefix });

    expect(restored.values).toEqual(values);
    expect(restored.notes).toEqual([]);
  });
});
