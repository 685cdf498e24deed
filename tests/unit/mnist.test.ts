import { describe, expect, it } from 'vitest';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, loadIndex, loadSplit, PIXELS, fetchSource } from '../../src/models/data/mnist';
import { DEFAULT_DATA_DIR, nodeSource } from '../../src/models/data/node-source';
import { Batcher } from '../../src/models/data/batches';
import { Rng, deriveSeed } from '../../src/models/data/rng';
import { mnist } from './helpers';

/** Copies index.json and the test shard into a fresh folder the test may damage. */
async function copyOfTestShard(): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mnist-'));
  const index = await loadIndex(nodeSource());
  const file = index.splits.test.shards[0].file;
  await copyFile(join(DEFAULT_DATA_DIR, 'index.json'), join(dir, 'index.json'));
  await copyFile(join(DEFAULT_DATA_DIR, file), join(dir, file));
  return { dir, file };
}

describe('MNIST shards', () => {
  it('index lists the real split sizes', async () => {
    const index = await loadIndex(nodeSource());
    expect(index.splits.train.count).toBe(60_000);
    expect(index.splits.test.count).toBe(10_000);
    expect(index.splits.train.shards.every((shard) => /^[0-9a-f]{64}$/.test(shard.sha256))).toBe(true);
  });

  it('loads the real test split', async () => {
    const test = await loadSplit(nodeSource(), 'test');
    expect(test.count).toBe(10_000);
    expect(test.images.length).toBe(10_000 * PIXELS);
    // The first MNIST test labels are 7, 2, 1, 0, 4 (the original t10k-labels file).
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    const counts = new Array(10).fill(0);
    test.labels.forEach((label) => counts[label]++);
    expect(counts.every((count) => count > 800)).toBe(true);
  });

  it('loads the first train shard only when asked', async () => {
    const train = await loadSplit(nodeSource(), 'train', { maxExamples: 5 });
    expect(train.count).toBe(10_000);
    // The first MNIST training labels are 5, 0, 4, 1, 9.
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
  });

  it('rejects a corrupted shard', async () => {
    const { dir, file } = await copyOfTestShard();
    const bytes = await readFile(join(dir, file));
    bytes[5000] ^= 0xff;
    await writeFile(join(dir, file), bytes);
    await expect(loadSplit(nodeSource(dir), 'test')).rejects.toThrow(/corrupt: SHA-256/);
  });

  it('rejects a truncated shard', async () => {
    const { dir, file } = await copyOfTestShard();
    const bytes = await readFile(join(dir, file));
    await writeFile(join(dir, file), bytes.subarray(0, bytes.length - 100));
    await expect(loadSplit(nodeSource(dir), 'test')).rejects.toThrow(DataError);
    await expect(loadSplit(nodeSource(dir), 'test')).rejects.toThrow(/truncated/);
  });

  it('reports a missing index with the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mnist-empty-'));
    await expect(loadSplit(nodeSource(dir), 'test')).rejects.toThrow(/npm run prepare-data/);
  });

  it('fetch source streams progress', async () => {
    const served = async (url: string | URL | Request) => {
      const path = String(url).replace('http://127.0.0.1/data/', '');
      return new Response(await readFile(join(DEFAULT_DATA_DIR, path)));
    };
    const progress: number[] = [];
    const test = await loadSplit(fetchSource('http://127.0.0.1/data', served as typeof fetch), 'test', {
      onProgress: (loaded, total) => progress.push(loaded / total),
    });
    expect(test.count).toBe(10_000);
    expect(progress.at(-1)).toBe(1);
  });
});

describe('batches', () => {
  it('same seed repeats exactly', async () => {
    const test = await mnist('test');
    const a = new Batcher(test, 32, 42);
    const b = new Batcher(test, 32, 42);
    for (let i = 0; i < 3; i++) {
      const batchA = a.next();
      const batchB = b.next();
      expect(Array.from(batchA.indices)).toEqual(Array.from(batchB.indices));
      expect(batchA.images).toEqual(batchB.images);
    }
  });

  it('different seeds shuffle differently', async () => {
    const test = await mnist('test');
    const a = new Batcher(test, 32, 1).next();
    const b = new Batcher(test, 32, 2).next();
    expect(Array.from(a.indices)).not.toEqual(Array.from(b.indices));
  });

  it('pixels are scaled to [0, 1] with labels attached', async () => {
    const test = await mnist('test');
    const batch = new Batcher(test, 16, 3).next();
    expect(batch.images.length).toBe(16 * PIXELS);
    expect(Math.max(...batch.images)).toBeLessThanOrEqual(1);
    expect(Math.max(...batch.images)).toBeGreaterThan(0.9);
    batch.indices.forEach((index, i) => expect(batch.labels[i]).toBe(test.labels[index]));
  });

  it('restored state continues the same sequence', async () => {
    const test = await mnist('test');
    const a = new Batcher(test, 64, 9, 2);
    a.next();
    const state = a.getState();
    const expected = a.next();
    const b = new Batcher(test, 64, 123, 2);
    b.setState(state);
    const resumed = b.next();
    expect(Array.from(resumed.indices)).toEqual(Array.from(expected.indices));
    expect(resumed.images).toEqual(expected.images);
  });

  it('epochs cover every example once', async () => {
    const test = await mnist('test');
    const batcher = new Batcher(test, 1000, 5);
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) batcher.next().indices.forEach((index) => seen.add(index));
    expect(seen.size).toBe(10_000);
    expect(batcher.epoch).toBe(0);
    batcher.next();
    expect(batcher.epoch).toBe(1);
  });
});

describe('rng', () => {
  it('seeded streams repeat and stay in range', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const values = Array.from({ length: 1000 }, () => a.next());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('derived seeds differ per counter', () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(1, i)));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(1, 5)).toBe(deriveSeed(1, 5));
  });
});
