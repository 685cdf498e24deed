/**
 * Model cards: public/models/<name>/card.json, written by `npm run train` (how the
 * weights were made) and `npm run evaluate` (`metrics`). Chapters import the cards, so
 * every number on the site comes from these files.
 */
export interface ModelCard {
  model: string;
  title: string;
  description: string;
  formatVersion: number;
  config: Record<string, unknown>;
  parameters: number;
  training: {
    command: string;
    seed: number;
    steps: number;
    batchSize: number;
    /** Schedules and optimiser settings used for this run. */
    options: Record<string, unknown>;
    /** SHA-256 over the training shards' own hashes, as listed in public/data/index.json. */
    dataSha256: string;
    tfjsVersion: string;
    backend: string;
    durationSeconds: number;
    finishedAt: string;
    finalLossTerms: Record<string, number>;
  };
  /** Written by `npm run evaluate`; absent until it has run. */
  metrics?: Record<string, number | string>;
  evaluation?: {
    command: string;
    split: string;
    examples: number;
    backend: string;
    finishedAt: string;
    /** Generators: the sampling settings, reranking and FID reference behind the metrics. */
    [detail: string]: unknown;
  };
}
