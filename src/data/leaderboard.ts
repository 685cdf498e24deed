/**
 * The leaderboard of the "Evaluation" chapter: every model card in public/models, read at
 * build time, with its metrics grouped by what they measure. A new directory with a
 * card.json appears here on the next build without any list to edit. A metric outside the
 * known groups below gets a group of its own, labelled with its key.
 */

/** Metric values of one card: numbers only, keyed as in the card's `metrics`. */
export type MetricValues = Record<string, number>;

export interface LeaderboardEntry {
  /** Directory name under public/models, e.g. "dalle". */
  id: string;
  /** The card's `title`, or the directory name when the card has none. */
  title: string;
  description: string | null;
  metrics: MetricValues;
  /** Command, split and sample count of `npm run evaluate`, when the card records them. */
  evaluation: { command: string; split: string; examples: number } | null;
  /** Cards that list this model among their `components`, e.g. the unCLIP pipeline for its prior. */
  partOf: string[];
}

export type MetricFormat = 'percent' | 'decimal2' | 'decimal3' | 'integer' | 'general';

/** One column of a metric group: a card metric key and its heading. */
export interface MetricColumn {
  key: string;
  label: string;
}

export interface MetricGroup {
  id: string;
  label: string;
  /** Definition of the number and how it was computed, for the chart caption and the chapter's list of metrics. */
  description: string;
  /** Direction of improvement, or null where neither is better (e.g. the number of codes used). */
  better: 'higher' | 'lower' | null;
  format: MetricFormat;
  /** The group's metrics: the plain one first, then variants such as the CLIP-reranked one. */
  columns: MetricColumn[];
  /** A value that real digits reach, to compare with: FID's floor, or an accuracy's ceiling. */
  reference?: MetricColumn & { kind: 'floor' | 'ceiling' };
}

export interface Leaderboard {
  /** Every card, sorted by directory name. */
  entries: LeaderboardEntry[];
  /** Groups with at least one value among the entries, known groups first. */
  groups: MetricGroup[];
}

/** Shown in place of a metric that a card does not have; never 0, which would read as a score. */
export const MISSING = '—';

/**
 * The metrics `npm run evaluate` writes (scripts/evaluate.ts documents how each is computed),
 * grouped so that a variant such as the CLIP-reranked score sits beside the plain one.
 */
export const KNOWN_GROUPS: readonly MetricGroup[] = [
  {
    id: 'promptAccuracy',
    label: 'Prompt accuracy',
    description:
      'Share of samples that the referee classifier reads as the digit their prompt names, with an equal number of prompts per digit. DALL·E-mini and unCLIP are prompted with "a handwritten zero" … "a handwritten nine", the caption-conditioned generators with the descriptive caption measured from each test digit. Their ceiling is the same measure for the real digits passed through the dVAE.',
    better: 'higher',
    format: 'percent',
    columns: [
      { key: 'promptAccuracy', label: 'sampled' },
      { key: 'promptAccuracyReranked', label: 'CLIP-reranked' },
    ],
    reference: { key: 'promptAccuracyCeiling', label: 'ceiling (real digits through the dVAE)', kind: 'ceiling' },
  },
  {
    id: 'fid',
    label: 'FID',
    description:
      "Fréchet distance between Gaussians fitted to the referee classifier's penultimate features of the samples and of the MNIST test digits. The floor is the FID of as many real training digits as there are samples, against the same test digits.",
    better: 'lower',
    format: 'decimal2',
    columns: [
      { key: 'fid', label: 'sampled' },
      { key: 'fidReranked', label: 'CLIP-reranked' },
    ],
    reference: { key: 'fidFloor', label: 'floor (real digits)', kind: 'floor' },
  },
  {
    id: 'cosineSimilarity',
    label: 'CLIP cosine',
    description: "Mean cosine similarity between the tiny CLIP's embedding of each sample and of its prompt.",
    better: 'higher',
    format: 'decimal3',
    columns: [
      { key: 'cosineSimilarity', label: 'sampled' },
      { key: 'cosineSimilarityReranked', label: 'CLIP-reranked' },
    ],
  },
  {
    id: 'attributeAccuracy',
    label: 'Attribute accuracy',
    description:
      'Mean over four attributes (stroke thickness, slant, size, position) of the share that match. For the captioner: captions whose attribute matches the one measured from the test digit. For a caption-conditioned generator: samples whose measured attribute matches the prompt; its ceiling is the same measure for the real digits passed through the dVAE.',
    better: 'higher',
    format: 'percent',
    columns: [
      { key: 'attributeAccuracy', label: 'mean of four' },
      { key: 'thicknessAccuracy', label: 'thickness' },
      { key: 'slantAccuracy', label: 'slant' },
      { key: 'sizeAccuracy', label: 'size' },
      { key: 'positionAccuracy', label: 'position' },
    ],
    reference: { key: 'attributeAccuracyCeiling', label: 'ceiling (real digits through the dVAE)', kind: 'ceiling' },
  },
  {
    id: 'allAttributesMatch',
    label: 'All four attributes match',
    description: 'Share of samples whose measured thickness, slant, size and position all match their prompt.',
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'allAttributesMatch', label: 'share' }],
  },
  {
    id: 'shortPromptAccuracy',
    label: 'Prompt accuracy, short captions',
    description: 'Prompt accuracy of the samples drawn for the short caption of each test digit, which names only the digit.',
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'shortPromptAccuracy', label: 'share' }],
  },
  {
    id: 'variationClassKept',
    label: 'Variations keep the class',
    description:
      "Share of decoder variations of real test digits (the digit's own CLIP image embedding, new noise) that the referee classifier reads as the source digit's class.",
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'variationClassKept', label: 'share' }],
  },
  {
    id: 'testAccuracy',
    label: 'Test accuracy',
    description: 'Share of the MNIST test digits the classifier labels correctly.',
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'testAccuracy', label: 'share' }],
  },
  {
    id: 'digitAccuracy',
    label: 'Caption digit accuracy',
    description: "Share of test digits whose generated caption names the digit's label.",
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'digitAccuracy', label: 'share' }],
  },
  {
    id: 'captionExactMatch',
    label: 'Exact caption match',
    description: 'Share of test digits whose whole generated caption (digit and every attribute) matches the caption measured from the digit.',
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'captionExactMatch', label: 'share' }],
  },
  {
    id: 'reconstructionAccuracy',
    label: 'Reconstruction accuracy',
    description: "Share of the test digits whose dVAE reconstruction from hard tokens the referee classifier still reads as the digit's label.",
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'reconstructionAccuracy', label: 'share' }],
  },
  {
    id: 'mse',
    label: 'Reconstruction MSE',
    description: 'Mean squared error per pixel between test digits and their dVAE reconstructions, pixels in [0, 1].',
    better: 'lower',
    format: 'general',
    columns: [{ key: 'mse', label: 'per pixel' }],
  },
  {
    id: 'codebookPerplexity',
    label: 'Codebook perplexity',
    description: 'exp of the entropy of code usage over all test tokens: the number of equally used codes that would give the same entropy.',
    better: null,
    format: 'decimal2',
    columns: [{ key: 'codebookPerplexity', label: 'perplexity' }],
  },
  {
    id: 'codesUsed',
    label: 'Codes used',
    description: 'Codebook entries that appear at least once among the tokens of the test digits.',
    better: null,
    format: 'integer',
    columns: [{ key: 'codesUsed', label: 'codes' }],
  },
  {
    id: 'zeroShotAccuracy',
    label: 'Zero-shot accuracy',
    description: 'Share of test digits whose CLIP image embedding is closest to the prompt "a handwritten <digit word>" of their own label.',
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'zeroShotAccuracy', label: 'share' }],
  },
  {
    id: 'recallAt1',
    label: 'Text → image recall@1',
    description:
      'Share of seeded captions, one per test digit, whose most similar test image shows the captioned digit; recall at the level of the label, not of the exact image.',
    better: 'higher',
    format: 'percent',
    columns: [{ key: 'recallAt1', label: 'share' }],
  },
];

/** Reads the directory name out of a card path such as "../../public/models/dalle/card.json". */
export function modelIdFromCardPath(path: string): string {
  const match = /(?:^|\/)models\/([^/]+)\/card\.json$/.exec(path);
  if (!match) throw new Error(`Leaderboard: ${path} is not a path of the form models/<name>/card.json.`);
  return match[1];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one card's leaderboard entry. Only the title, description, numeric metrics and the
 * evaluation summary are read, so cards of any model family fit. String metrics and
 * non-finite numbers are left out.
 */
export function readLeaderboardEntry(id: string, card: unknown): LeaderboardEntry {
  if (!isRecord(card)) {
    throw new Error(`Leaderboard: public/models/${id}/card.json is not a JSON object; fix or remove the card.`);
  }

  const metrics: MetricValues = {};
  if (isRecord(card.metrics)) {
    for (const [key, value] of Object.entries(card.metrics)) {
      if (typeof value === 'number' && Number.isFinite(value)) metrics[key] = value;
    }
  }

  const evaluation = isRecord(card.evaluation) ? card.evaluation : null;
  return {
    id,
    title: typeof card.title === 'string' && card.title.trim() !== '' ? card.title : id,
    description: typeof card.description === 'string' ? card.description : null,
    metrics,
    evaluation:
      evaluation && typeof evaluation.command === 'string'
        ? { command: evaluation.command, split: String(evaluation.split ?? ''), examples: Number(evaluation.examples ?? Number.NaN) }
        : null,
    partOf: [],
  };
}

/** Names of the models a card lists under `components` (the unCLIP pipeline lists its parts). */
function componentIds(card: unknown): string[] {
  return isRecord(card) && isRecord(card.components) ? Object.keys(card.components) : [];
}

/** Makes a group for a metric that no known group covers: its key as the label, no preferred direction. */
function groupForUnknownMetric(key: string): MetricGroup {
  return {
    id: key,
    label: key,
    description: `The card's "${key}" metric; this chapter has no description of it yet, so read the card and the script that wrote it.`,
    better: null,
    format: 'general',
    columns: [{ key, label: 'value' }],
  };
}

/**
 * Builds the leaderboard from card files keyed by path (the shape `import.meta.glob` returns).
 * Entries are sorted by directory name. Known groups come first in their fixed order, and
 * only those with a value in some entry. Unknown metrics follow in alphabetical order.
 */
export function buildLeaderboard(cardsByPath: Record<string, unknown>): Leaderboard {
  const cards = Object.entries(cardsByPath)
    .map(([path, card]) => ({ id: modelIdFromCardPath(path), card }))
    .sort((a, b) => a.id.localeCompare(b.id, 'en'));

  const entries = cards.map(({ id, card }) => readLeaderboardEntry(id, card));
  for (const { id, card } of cards) {
    for (const component of componentIds(card)) entries.find((entry) => entry.id === component)?.partOf.push(id);
  }

  const present = new Set(entries.flatMap((entry) => Object.keys(entry.metrics)));
  const groups = KNOWN_GROUPS.filter((group) => group.columns.some((column) => present.has(column.key)));
  const covered = new Set(KNOWN_GROUPS.flatMap((group) => [...group.columns.map((column) => column.key), ...(group.reference ? [group.reference.key] : [])]));
  const unknown = [...present].filter((key) => !covered.has(key)).sort();
  return { entries, groups: [...groups, ...unknown.map(groupForUnknownMetric)] };
}

/** Returns the value of `key` in an entry, or null when the card does not have that metric. */
export function metricValue(entry: LeaderboardEntry, key: string): number | null {
  return Object.hasOwn(entry.metrics, key) ? entry.metrics[key] : null;
}

/** Formats a metric for tables and labels; null (no such metric in the card) becomes an em dash. */
export function formatMetric(value: number | null, format: MetricFormat): string {
  if (value === null) return MISSING;
  switch (format) {
    case 'percent':
      return `${(100 * value).toFixed(1)} %`;
    case 'decimal2':
      return value.toFixed(2);
    case 'decimal3':
      return value.toFixed(3);
    case 'integer':
      return Math.round(value).toLocaleString('en-US');
    case 'general':
      return Math.abs(value) !== 0 && Math.abs(value) < 0.01 ? value.toExponential(2) : Number(value.toPrecision(4)).toString();
  }
}

/**
 * Orders entries for a chart of one group: best first by the group's first column that the
 * entry has, then entries without the group in directory order.
 */
export function rankEntries(entries: readonly LeaderboardEntry[], group: MetricGroup): LeaderboardEntry[] {
  const primary = (entry: LeaderboardEntry) => group.columns.map((column) => metricValue(entry, column.key)).find((value) => value !== null) ?? null;
  const sign = group.better === 'lower' ? 1 : -1;
  return [...entries].sort((a, b) => {
    const valueA = primary(a);
    const valueB = primary(b);
    if (valueA === null || valueB === null) {
      if (valueA === valueB) return a.id.localeCompare(b.id, 'en');
      return valueA === null ? 1 : -1;
    }
    return sign * (valueA - valueB) || a.id.localeCompare(b.id, 'en');
  });
}

// Vite reads every card when it builds the site (and when Vitest loads this module), so a
// card added to public/models shows up on the next build. The path is relative because Vite
// rejects imports of non-asset files under an absolute /public path.
const cardFiles = import.meta.glob<unknown>('../../public/models/*/card.json', { eager: true, import: 'default' });

/** The leaderboard of every shipped card. */
export const leaderboard: Leaderboard = buildLeaderboard(cardFiles);
