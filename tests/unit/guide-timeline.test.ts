import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CHARACTER_WIDTH_PX, LABEL_GAP_PX, MARKER_ALLOWANCE_PX, packLabels } from '../../src/components/charts/timeline-layout';
import { bibliographyEntry } from '../../src/data/bibliography';
import {
  formatTimelineDate,
  parseTimelineDate,
  TIMELINE_LANES,
  timeline,
  timelineItems,
} from '../../src/data/timeline';

const DOCS_DIR = join(import.meta.dirname, '../../src/content/docs');

/** Months as a sortable number: 2021-01 → 2021 * 12 + 0. */
function monthIndex(date: string): number {
  const { year, month } = parseTimelineDate(date);
  return year * 12 + (month - 1);
}

describe('timeline data', () => {
  it('has unique ids', () => {
    const ids = timeline.map((entry) => entry.id);

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id, id).toMatch(/^[a-z0-9-]+$/);
  });

  it('dates are valid months in order', () => {
    for (const entry of timeline) {
      expect(() => parseTimelineDate(entry.date), entry.id).not.toThrow();
    }
    for (let i = 1; i < timeline.length; i += 1) {
      const previous = timeline[i - 1];
      const current = timeline[i];
      expect(monthIndex(current.date), `${previous.id} (${previous.date}) before ${current.id} (${current.date})`).toBeGreaterThanOrEqual(
        monthIndex(previous.date),
      );
    }
  });

  it('every citation is in the bibliography', () => {
    for (const entry of timeline) {
      expect(() => bibliographyEntry(entry.citation), `${entry.id} cites ${entry.citation}`).not.toThrow();
    }
  });

  it('every lane is declared', () => {
    const lanes = new Set(TIMELINE_LANES.map((lane) => lane.id));

    for (const entry of timeline) expect(lanes.has(entry.lane), `${entry.id} lane ${entry.lane}`).toBe(true);
    for (const lane of lanes) {
      expect(
        timeline.some((entry) => entry.lane === lane),
        `lane ${lane} has entries`,
      ).toBe(true);
    }
  });

  it('chapter links point to chapters', () => {
    for (const entry of timeline) {
      if (!entry.chapter) continue;
      expect(entry.chapter.path, entry.id).toMatch(/^chapters\/[a-z0-9-]+\/$/);
      const file = join(DOCS_DIR, `${entry.chapter.path.slice(0, -1)}.mdx`);
      expect(existsSync(file), `${entry.id} links to ${file}`).toBe(true);
    }
  });

  it('summaries are short sentences', () => {
    for (const entry of timeline) {
      expect(entry.summary.length, entry.id).toBeGreaterThan(20);
      expect(entry.summary.length, entry.id).toBeLessThanOrEqual(220);
      expect(entry.summary, entry.id).toMatch(/\.$/);
    }
  });

  // The models and months the overview page promises to show.
  it.each([
    ['vq-vae', '2017-11'],
    ['vq-vae-2', '2019-06'],
    ['ddpm', '2020-06'],
    ['ddim', '2020-10'],
    ['dalle', '2021-01'],
    ['clip', '2021-01'],
    ['glide', '2021-12'],
    ['latent-diffusion', '2021-12'],
    ['dalle-2', '2022-04'],
    ['imagen', '2022-05'],
    ['parti', '2022-06'],
    ['stable-diffusion', '2022-08'],
    ['dalle-3', '2023-10'],
  ])('includes %s in %s', (id, date) => {
    const entry = timeline.find((candidate) => candidate.id === id);

    expect(entry, id).toBeDefined();
    expect(entry?.date).toBe(date);
  });
});

describe('timeline dates', () => {
  it('formats a month in words', () => {
    expect(formatTimelineDate('2021-01')).toBe('January 2021');
    expect(formatTimelineDate('2023-10')).toBe('October 2023');
  });

  it.each(['2021', '2021-1', '2021-13', '2021-00', 'Jan 2021', ''])('rejects "%s"', (date) => {
    expect(() => parseTimelineDate(date)).toThrow(/YYYY-MM/);
  });
});

describe('timeline items', () => {
  it('resolve links under the base path', () => {
    const items = timelineItems('/course/');
    const clip = items.find((item) => item.id === 'clip');

    expect(items).toHaveLength(timeline.length);
    expect(clip?.citationHref).toBe('/course/guide/bibliography/#radford2021');
    expect(clip?.citationText).toBe('Radford et al. 2021');
    expect(clip?.chapterHref).toBe('/course/chapters/clip/');
    expect(clip?.chapterTitle).toBe('CLIP');
    expect(clip?.monthText).toBe('January 2021');
    expect(clip?.dateText).toMatch(/^January 2021 \(.+\)$/);
    expect(clip?.laneLabel).toBe('The DALL·E family');
  });

  it('omit the chapter link when there is none', () => {
    const imagen = timelineItems('/').find((item) => item.id === 'imagen');

    expect(imagen?.chapterHref).toBeUndefined();
    expect(imagen?.citationHref).toBe('/guide/bibliography/#saharia2022');
  });
});

describe('timeline label packing', () => {
  /** Checks that no two labels of a row overlap or come closer than the gap. */
  function expectNoOverlap(placed: ReturnType<typeof packLabels>): void {
    for (let i = 0; i < placed.length; i += 1) {
      for (let j = i + 1; j < placed.length; j += 1) {
        if (placed[i].row !== placed[j].row) continue;
        const [first, second] = placed[i].left <= placed[j].left ? [placed[i], placed[j]] : [placed[j], placed[i]];
        expect(first.left + first.width + LABEL_GAP_PX, `labels ${i} and ${j} in row ${placed[i].row}`).toBeLessThanOrEqual(second.left);
      }
    }
  }

  it('keeps distant labels in one row', () => {
    const placed = packLabels([0, 200, 400], [100, 100, 100], 1000);

    expect(placed.map((label) => label.row)).toEqual([0, 0, 0]);
    expect(placed.every((label) => !label.flipped)).toBe(true);
  });

  it('moves overlapping labels down', () => {
    const placed = packLabels([0, 10, 20, 300], [100, 100, 100, 100], 1000);

    expect(placed.map((label) => label.row)).toEqual([0, 1, 2, 0]);
    expectNoOverlap(placed);
  });

  it('flips labels at the right edge', () => {
    const placed = packLabels([100, 590], [80, 80], 600);

    expect(placed[1].flipped).toBe(true);
    expect(placed[1].left + placed[1].width).toBeLessThanOrEqual(600);
    expectNoOverlap(placed);
  });

  // Mirrors the Timeline component: markers between 16 px margins, labels up to the chart's edge.
  it('real timeline lanes never overlap', () => {
    const margin = 16;
    const start = Date.UTC(2017, 0, 1);
    const end = Date.UTC(2024, 0, 1);
    for (const width of [320, 480, 720, 1100]) {
      for (const lane of TIMELINE_LANES) {
        const entries = timeline.filter((entry) => entry.lane === lane.id);
        const xs = entries.map((entry) => {
          const { year, month } = parseTimelineDate(entry.date);
          return margin + ((Date.UTC(year, month - 1, 15) - start) / (end - start)) * (width - 2 * margin);
        });
        const widths = entries.map((entry) => entry.name.length * CHARACTER_WIDTH_PX + MARKER_ALLOWANCE_PX);

        const placed = packLabels(xs, widths, width);

        expectNoOverlap(placed);
        for (const label of placed) {
          expect(label.left, `${lane.id} at width ${width}`).toBeGreaterThanOrEqual(0);
          expect(label.left + label.width, `${lane.id} at width ${width}`).toBeLessThanOrEqual(width);
        }
      }
    }
  });

  it('rejects mismatched lengths', () => {
    expect(() => packLabels([0, 1], [10], 100)).toThrow(/one width per position/);
  });
});
