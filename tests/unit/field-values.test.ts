import { describe, expect, it } from 'vitest';

import { TRAINER_EMBEDS, UNCLIP_TRAINER_STATE } from '../../src/components/widgets/embeds/trainers';
import { checkFieldValues } from '../../src/components/widgets/field-values';
import { readUrlState, writeUrlState, type UrlSchema } from '../../src/components/widgets/url-state';
import dvaeCard from '../../public/models/dvae/card.json';
import priorCard from '../../public/models/prior/card.json';

const SCHEMA = {
  steps: { kind: 'integer', min: 1, max: 4000 },
  rate: { kind: 'number', min: 0, max: 1 },
  view: { kind: 'enum', values: ['cosine', 'probability'] },
} as const satisfies UrlSchema;

describe('checkFieldValues', () => {
  it('keeps usable values', () => {
    const checked = checkFieldValues(SCHEMA, {
      steps: { value: 200, label: 'Steps' },
      rate: { value: 0.5, label: 'Rate' },
      view: { value: 'probability', label: 'Matrix' },
    });

    expect(checked.values).toEqual({ steps: 200, rate: 0.5, view: 'probability' });
    expect(checked.notes).toEqual([]);
    expect(checked.complete).toBe(true);
  });

  it('clamps out-of-range values with a note', () => {
    const checked = checkFieldValues(SCHEMA, { steps: { value: 9000, label: 'Steps' }, rate: { value: -1, label: 'Rate' } });

    expect(checked.values).toEqual({ steps: 4000, rate: 0 });
    expect(checked.notes).toEqual(['Steps 9000 is above 4000, so 4000 is used instead.', 'Rate -1 is below 0, so 0 is used instead.']);
    expect(checked.complete).toBe(true);
  });

  for (const [name, value] of [
    ['null', null],
    ['undefined', undefined],
    ['NaN', Number.NaN],
    ['blank text', '  '],
  ] as const) {
    it(`reports ${name} as empty`, () => {
      const checked = checkFieldValues(SCHEMA, { steps: { value, label: 'Steps' } });

      expect(checked.values).toEqual({});
      expect(checked.notes).toEqual(['Steps is empty: enter a whole number from 1 to 4000.']);
      expect(checked.complete).toBe(false);
    });
  }

  it('drops a fraction for a whole number', () => {
    const checked = checkFieldValues(SCHEMA, { steps: { value: 2.5, label: 'Steps' }, rate: { value: 0.25, label: 'Rate' } });

    expect(checked.values).toEqual({ rate: 0.25 });
    expect(checked.notes).toHaveLength(1);
    expect(checked.notes[0]).toMatch(/^Steps 2\.5 is not a whole number/);
    expect(checked.complete).toBe(false);
  });

  it('drops an unknown enum value', () => {
    const checked = checkFieldValues(SCHEMA, { view: { value: 'logits', label: 'Matrix' } });

    expect(checked.values).toEqual({});
    expect(checked.notes[0]).toMatch(/^Matrix "logits" is not one of cosine, probability/);
    expect(checked.complete).toBe(false);
  });

  it('skips names outside the schema', () => {
    const fields = { steps: { value: 3, label: 'Steps' }, other: { value: 'x', label: 'Other' } } as Parameters<typeof checkFieldValues<typeof SCHEMA>>[1];

    const checked = checkFieldValues(SCHEMA, fields);

    expect(checked.values).toEqual({ steps: 3 });
    expect(checked.complete).toBe(true);
  });
});

describe('trainer URL state', () => {
  it('bounds runs by the shipped run', () => {
    const dvaeSchema = TRAINER_EMBEDS['dvae-trainer'].state.schema;

    expect(dvaeSchema.steps.max).toBe(dvaeCard.training.steps);
    expect(dvaeSchema.batchSize.max).toBe(dvaeCard.training.batchSize);
    expect(UNCLIP_TRAINER_STATE.schema.priorSteps.max).toBe(priorCard.training.steps);
  });

  it('prefixes are unique', () => {
    const prefixes = Object.values(TRAINER_EMBEDS).map((entry) => entry.state.prefix);

    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const existing of ['dalle', 'diffusion', 'clip', 'dvae']) expect(prefixes).not.toContain(existing);
  });

  it('unCLIP settings round trip', () => {
    const values = { model: 'decoder', priorSteps: 40, priorBatchSize: 16, decoderSteps: 12, decoderBatchSize: 8, seed: 9 } as const;

    const search = writeUrlState('', UNCLIP_TRAINER_STATE.prefix, UNCLIP_TRAINER_STATE.schema, values);

    expect(readUrlState(search, UNCLIP_TRAINER_STATE.prefix, UNCLIP_TRAINER_STATE.schema)).toEqual({ values, notes: [] });
  });
});
