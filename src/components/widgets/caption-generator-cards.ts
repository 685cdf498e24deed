/** The model cards of the caption ablation's generators that this build ships, read at build time. */
import { CAPTION_GENERATORS, type CaptionGeneratorName } from '../../models/caption-ablation';
import type { ModelCard } from '../../models/card';

/**
 * Keys the cards of `files` (paths as `import.meta.glob` returns them, ending in
 * `/<model>/card.json`) by generator name. Files of other models are skipped, and a generator
 * without a file has no entry: it has not been trained for this build.
 */
export function generatorCardsByName(files: Readonly<Record<string, ModelCard>>): Partial<Record<CaptionGeneratorName, ModelCard>> {
  const cards: Partial<Record<CaptionGeneratorName, ModelCard>> = {};
  for (const [path, card] of Object.entries(files)) {
    const name = CAPTION_GENERATORS.find((generator) => path.endsWith(`/${generator}/card.json`));
    if (name !== undefined) cards[name] = card;
  }
  return cards;
}

// The glob matches only the cards that exist when the site is built, so a build without a
// trained generator still compiles. The path is relative because Vite rejects imports of
// non-asset files under an absolute /public path.
const cardFiles = import.meta.glob<ModelCard>('../../../public/models/{captions-short,captions-descriptive,captions-blend}/card.json', {
  eager: true,
  import: 'default',
});

/** The shipped generators' cards by name. */
export const SHIPPED_GENERATOR_CARDS = generatorCardsByName(cardFiles);
