/**
 * MNIST in the site's shard format, readable in the browser (fetch), a worker and Node (fs).
 *
 * `npm run prepare-data` writes public/data/index.json and shard files. Each shard contains
 * `count` label bytes followed by `count` images of 28×28 uint8 pixels, row-major, 0 = paper,
 * 255 = ink, exactly as in the original IDX files. The index records every shard's SHA-256,
 * and the loader refuses a shard whose bytes do not match.
 */
import { sha256Hex } from './sha256';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const DATA_FORMAT = 'mnist-shards';
export const DATA_FORMAT_VERSION = 1;

export type SplitName = 'train' | 'test';

export interface ShardInfo {
  file: string;
  count: number;
  bytes: number;
  sha256: string;
}

export interface SplitInfo {
  count: number;
  shards: ShardInfo[];
}

export interface DataIndex {
  format: typeof DATA_FORMAT;
  formatVersion: number;
  source: string;
  imageHeight: number;
  imageWidth: number;
  splits: Record<SplitName, SplitInfo>;
}

/** Bytes loaded so far over bytes expected, for a progress bar. */
export type ProgressCallback = (loadedBytes: number, totalBytes: number) => void;

/** Source of shard files: `fetch` under a URL in the browser, `fs` under a folder in Node. */
export interface DataSource {
  readText(file: string): Promise<string>;
  readBytes(file: string, onBytes?: (loadedBytes: number) => void): Promise<Uint8Array>;
  describe(file: string): string;
}

/** One split in memory. */
export interface MnistSplit {
  name: SplitName;
  count: number;
  labels: Uint8Array; // [count]
  images: Uint8Array; // [count, 28, 28] row-major
}

export class DataError extends Error {
  override name = 'DataError';
}

export async function loadIndex(source: DataSource): Promise<DataIndex> {
  let text: string;
  try {
    text = await source.readText('index.json');
  } catch (error) {
    throw new DataError(
      `MNIST index ${source.describe('index.json')} could not be read (${String(error)}). Run \`npm run prepare-data\` or check that the site serves public/data/.`,
    );
  }
  const index = JSON.parse(text) as DataIndex;
  if (index.format !== DATA_FORMAT || index.formatVersion !== DATA_FORMAT_VERSION) {
    throw new DataError(
      `MNIST index has format ${index.format} v${index.formatVersion}, expected ${DATA_FORMAT} v${DATA_FORMAT_VERSION}: run \`npm run prepare-data\` again.`,
    );
  }
  return index;
}

export interface LoadSplitOptions {
  /** Load only the first `maxExamples` examples (rounded up to whole shards). */
  maxExamples?: number;
  onProgress?: ProgressCallback;
  /** Skip SHA-256 checks, for benchmarks that reload the same verified files. */
  skipHashCheck?: boolean;
}

export async function loadSplit(
  source: DataSource,
  split: SplitName,
  options: LoadSplitOptions = {},
): Promise<MnistSplit> {
  const index = await loadIndex(source);
  const info = index.splits[split];
  if (!info) throw new DataError(`MNIST index has no split named "${split}".`);

  const wanted = Math.min(options.maxExamples ?? info.count, info.count);
  const shards: ShardInfo[] = [];
  let covered = 0;
  for (const shard of info.shards) {
    if (covered >= wanted) break;
    shards.push(shard);
    covered += shard.count;
  }

  const totalBytes = shards.reduce((sum, shard) => sum + shard.bytes, 0);
  const loadedPerShard = new Array<number>(shards.length).fill(0);
  const report = () => options.onProgress?.(loadedPerShard.reduce((a, b) => a + b, 0), totalBytes);
  report();

  const contents = await Promise.all(
    shards.map(async (shard, i) => {
      const bytes = await source.readBytes(shard.file, (loaded) => {
        loadedPerShard[i] = loaded;
        report();
      });
      await checkShard(source, shard, bytes, options.skipHashCheck ?? false);
      return bytes;
    }),
  );

  const count = covered;
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * PIXELS);
  let offset = 0;
  contents.forEach((bytes, i) => {
    const n = shards[i].count;
    labels.set(bytes.subarray(0, n), offset);
    images.set(bytes.subarray(n, n + n * PIXELS), offset * PIXELS);
    offset += n;
  });
  return { name: split, count, labels, images };
}

async function checkShard(source: DataSource, shard: ShardInfo, bytes: Uint8Array, skipHash: boolean) {
  const where = source.describe(shard.file);
  if (bytes.length !== shard.bytes || bytes.length !== shard.count * (1 + PIXELS)) {
    throw new DataError(
      `MNIST shard ${where} has ${bytes.length} bytes, the index expects ${shard.bytes}: the file is truncated or from another version. Run \`npm run prepare-data\` again.`,
    );
  }
  if (skipHash) return;
  const digest = await sha256Hex(bytes);
  if (digest !== shard.sha256) {
    throw new DataError(
      `MNIST shard ${where} is corrupt: SHA-256 ${digest.slice(0, 12)}… does not match the index (${shard.sha256.slice(0, 12)}…). Run \`npm run prepare-data\` again.`,
    );
  }
}

/** Creates a `DataSource` that fetches files under a base URL, streaming for progress when it can. */
export function fetchSource(baseUrl: string, fetchImpl: typeof fetch = fetch): DataSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    describe: (file) => `${base}${file}`,
    async readText(file) {
      const response = await fetchImpl(`${base}${file}`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.text();
    },
    async readBytes(file, onBytes) {
      const response = await fetchImpl(`${base}${file}`);
      if (!response.ok) throw new DataError(`MNIST shard ${base}${file} failed to load: HTTP ${response.status}.`);
      if (!response.body) return new Uint8Array(await response.arrayBuffer());

      const chunks: Uint8Array[] = [];
      let loaded = 0;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        onBytes?.(loaded);
      }
      const bytes = new Uint8Array(loaded);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.length;
      }
      return bytes;
    },
  };
}
