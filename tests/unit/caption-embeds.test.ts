import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { generatorCardsByName, SHIPPED_GENERATOR_CARDS } from '../../src/components/widgets/caption-generator-cards';
import {
  AB_COMPARISON_STATE,
  CAPTION_EMBEDS,
  CAPTIONS_ABLATION_STATE,
  DALLE_SAMPLES_STATE,
  EVAL_METRICS_LAB_STATE,
} from '../../src/components/widgets/embeds/captions';
import { AB_COMPARISONS } from '../../src/components/widgets/ab-votes';
import { mergeInitialState, readUrlState, writeUrlState } from '../../src/components/widgets/url-state';
import { CAPTION_GENERATORS } from '../../src/models/caption-ablation';
import type { ModelCard } from '../../src/models/card';
import dalleCard from '../../public/models/dalle/card.json';
import dvaeCard from '../../public/models/dvae/card.json';

/** Builds a card that differs from the others only in its `model` field. */
function cardOf(model: string): ModelCard {
  return { model } as ModelCard;
}

describe('generatorCardsByName', () => {
  it('keys cards by generator folder', () => {
    const cards = generatorCardsByName({
      '../../../public/models/captions-short/card.json': cardOf('captions-short'),
      '../../../public/models/captions-blend/card.json': cardOf('captions-blend'),
    });

    expect(Object.keys(cards).sort()).toEqual(['captions-blend', 'captions-short']);
    expect(cards['captions-short']?.model).toBe('captions-short');
    expect(cards['captions-descriptive']).toBeUndefined();
  });

  it('skips other models', () => {
    const cards = generatorCardsByName({
      '../../../public/models/dalle/card.json': cardOf('dalle'),
      '../../../public/models/not-captions-short/card.json': cardOf('other'),
    });

    expect(cards).toEqual({});
  });

  it('finds the shipped cards', () => {
    const shipped = CAPTION_GENERATORS.filter((name) => existsSync(`public/models/${name}/card.json`));

    expect(Object.keys(SHIPPED_GENERATOR_CARDS).sort()).toEqual([...shipped].sort());
    for (const [name, card] of Object.entries(SHIPPED_GENERATOR_CARDS)) expect(card?.model).toBe(name);
  });
});

describe('caption embeds', () => {
  it('takes top-k bounds from the cards', () => {
    expect(DALLE_SAMPLES_STATE.schema.topK.max).toBe(dalleCard.config.imageVocabSize);
    expect(CAPTIONS_ABLATION_STATE.schema.topK.max).toBe(dvaeCard.config.codebookSize);
  });

  it('offers every A/B comparison', () => {
    expect(AB_COMPARISON_STATE.schema.comparison.values).toEqual(AB_COMPARISONS.map((comparison) => comparison.id));
  });

  it('reads a switch as true or false', () => {
    const { schema, prefix } = EVAL_METRICS_LAB_STATE;

    expect(readUrlState('lab.includeUnclip=true', prefix, schema).values.includeUnclip).toBe('true');
    const ignored = readUrlState('lab.includeUnclip=yes', prefix, schema);
    expect(ignored.values.includeUnclip).toBeUndefined();
    expect(ignored.notes[0]).toContain('is not one of false, true');
  });

  it('takes a boolean preset for a switch', () => {
    const { schema, prefix } = DALLE_SAMPLES_STATE;
    const initial = mergeInitialState({ schema, controls: Object.keys(schema), preset: { rerank: true }, search: null, prefix });

    expect(initial.values.rerank).toBe('true');
    expect(initial.notes).toEqual([]);
  });

  it('round-trips every setting', () => {
    const { schema, prefix } = DALLE_SAMPLES_STATE;
    const values = { prompt: 'a thick seven', count: 4, temperature: 0.5, topK: 8, topP: 0.9, seed: 42, rerank: 'true' } as const;

    const read = readUrlState(writeUrlState('', prefix, schema, values), prefix, schema);

    expect(read.values).toEqual(values);
    expect(read.notes).toEqual([]);
  });

  it('registers six widgets', () => {
    expect(Object.keys(CAPTION_EMBEDS).sort()).toEqual(['ab-comparison', 'caption-ablation', 'captioner', 'captions-compare', 'dalle-samples', 'metric-lab']);
  });
});
