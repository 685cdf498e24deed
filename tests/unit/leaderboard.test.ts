import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildLeaderboard,
  formatMetric,
  KNOWN_GROUPS,
  leaderboard,
  metricValue,
  MISSING,
  modelIdFromCardPath,
  rankEntries,
  readLeaderboardEntry,
} from '../../src/data/leaderboard';

const MODELS_DIR = join(import.meta.dirname, '../../public/models');

/** Directory names under public/models that contain a card.json, read straight from disk. */
function cardDirectories(): string[] {
  return readdirSync(MODELS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(MODELS_DIR, entry.name, 'card.json')))
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b, 'en'));
}

function readCard(id: string): { title?: string; metrics?: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(MODELS_DIR, id, 'card.json'), 'utf8'));
}

describe('shipped leaderboard', () => {
  it('lists every card in public/models', () => {
    const directories = cardDirectories();
    expect(directories.length).toBeGreaterThan(0);
    expect(leaderboard.entries.map((entry) => entry.id)).toEqual(directories);
  });

  it('copies every numeric metric of each card', () => {
    for (const entry of leaderboard.entries) {
      const card = readCard(entry.id);
      const numeric = Object.entries(card.metrics ?? {}).filter(([, value]) => typeof value === 'number');
      expect(entry.metrics, entry.id).toEqual(Object.fromEntries(numeric));
      expect(entry.title, entry.id).toBe(card.title ?? entry.id);
    }
  });

  it('puts every card metric in a group', () => {
    const grouped = new Set(leaderboard.groups.flatMap((group) => [...group.columns.map((column) => column.key), ...(group.reference ? [group.reference.key] : [])]));
    for (const entry of leaderboard.entries) {
      for (const key of Object.keys(entry.metrics)) expect(grouped.has(key), `${entry.id}.${key}`).toBe(true);
    }
  });
});

describe('buildLeaderboard', () => {
  const cards = {
    '../../public/models/zeta/card.json': { title: 'Zeta', metrics: { promptAccuracy: 0.5, fid: 20, fidFloor: 3 } },
    '../../public/models/alpha/card.json': { title: 'Alpha', metrics: { fid: 10, fidFloor: 3, note: 'text', captionScore: 0.7 } },
    '../../public/models/part/card.json': { title: 'Part' },
    '../../public/models/pipeline/card.json': { components: { part: { steps: 1 } }, metrics: { promptAccuracy: 0.9 } },
  };
  const built = buildLeaderboard(cards);

  it('sorts entries by directory name', () => {
    expect(built.entries.map((entry) => entry.id)).toEqual(['alpha', 'part', 'pipeline', 'zeta']);
  });

  it('leaves a missing metric null, never 0', () => {
    const part = built.entries.find((entry) => entry.id === 'part')!;
    expect(metricValue(part, 'promptAccuracy')).toBeNull();
    expect(formatMetric(metricValue(part, 'promptAccuracy'), 'percent')).toBe(MISSING);
    expect(formatMetric(0, 'percent')).toBe('0.0 %');
  });

  it('drops string metrics and uses the directory as a missing title', () => {
    const alpha = built.entries.find((entry) => entry.id === 'alpha')!;
    expect(alpha.metrics).toEqual({ fid: 10, fidFloor: 3, captionScore: 0.7 });
    expect(built.entries.find((entry) => entry.id === 'pipeline')!.title).toBe('pipeline');
  });

  it('records which pipeline a component belongs to', () => {
    expect(built.entries.find((entry) => entry.id === 'part')!.partOf).toEqual(['pipeline']);
  });

  it('keeps known groups in order and adds unknown metrics', () => {
    expect(built.groups.map((group) => group.id)).toEqual(['promptAccuracy', 'fid', 'captionScore']);
    const unknown = built.groups.at(-1)!;
    expect(unknown.label).toBe('captionScore');
    expect(unknown.better).toBeNull();
  });

  it('does not make fidFloor a group of its own', () => {
    expect(built.groups.some((group) => group.columns.some((column) => column.key === 'fidFloor'))).toBe(false);
    expect(built.groups.find((group) => group.id === 'fid')!.reference?.key).toBe('fidFloor');
  });

  it('ranks lower-is-better groups ascending with missing values last', () => {
    const fid = KNOWN_GROUPS.find((group) => group.id === 'fid')!;
    expect(rankEntries(built.entries, fid).map((entry) => entry.id)).toEqual(['alpha', 'zeta', 'part', 'pipeline']);
    const accuracy = KNOWN_GROUPS.find((group) => group.id === 'promptAccuracy')!;
    expect(rankEntries(built.entries, accuracy).map((entry) => entry.id)).toEqual(['pipeline', 'zeta', 'alpha', 'part']);
  });

  it('rejects a card that is not an object', () => {
    expect(() => readLeaderboardEntry('broken', [1, 2])).toThrow(/public\/models\/broken\/card\.json is not a JSON object/);
  });

  it('rejects a path outside models/<name>/card.json', () => {
    expect(modelIdFromCardPath('/x/public/models/dalle/card.json')).toBe('dalle');
    expect(() => modelIdFromCardPath('/x/public/models/card.json')).toThrow(/models\/<name>\/card\.json/);
  });
});

describe('formatMetric', () => {
  it('formats each kind', () => {
    expect(formatMetric(0.9523, 'percent')).toBe('95.2 %');
    expect(formatMetric(9.26751, 'decimal2')).toBe('9.27');
    expect(formatMetric(0.789443, 'decimal3')).toBe('0.789');
    expect(formatMetric(128, 'integer')).toBe('128');
    expect(formatMetric(0.00530993, 'general')).toBe('5.31e-3');
    expect(formatMetric(52.7218, 'general')).toBe('52.72');
  });
});
