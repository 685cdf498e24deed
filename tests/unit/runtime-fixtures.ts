/**
 * Fixtures for the runtime tests: a `fetch` stand-in that serves files from disk under a
 * made-up site URL (nothing goes over the network), and small checkpoints written to a
 * temporary folder in the layout the site serves (models/<name>/model.json, weights.bin, card.json).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCheckpoint } from '../../src/models/checkpoint';
import { DEFAULT_DATA_DIR } from '../../src/models/data/node-source';
import { createModel, type ModelName } from '../../src/models/registry';
import { writeCheckpointDir } from '../../scripts/lib/checkpoint-files';

/** The site URL the stand-in serves; any other URL gets a 404. */
export const SITE_URL = 'http://127.0.0.1/course/';

/** Folders served under SITE_URL by path prefix, e.g. { 'data/': public/data }. */
export type SiteFolders = Record<string, string>;

/**
 * A `fetch` that serves GET requests under SITE_URL from `folders` and counts requests by
 * path. Bodies are real `Response` streams, so streamed progress code runs as in a browser.
 */
export function diskFetch(folders: SiteFolders): { fetch: typeof fetch; requests: Map<string, number> } {
  const requests = new Map<string, number>();
  const fetchImpl = async (input: RequestInfo | URL): Promise<Response> => {
    let url: string;
    if (typeof input === 'string') url = input;
    else if (input instanceof URL) url = input.href;
    else url = input.url;
    if (!url.startsWith(SITE_URL)) return new Response('not found', { status: 404 });
    const path = url.slice(SITE_URL.length);
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const prefix = Object.keys(folders).find((candidate) => path.startsWith(candidate));
    if (prefix === undefined) return new Response('not found', { status: 404 });
    try {
      const bytes = await readFile(join(folders[prefix], path.slice(prefix.length)));
      return new Response(new Uint8Array(bytes));
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
  return { fetch: fetchImpl as typeof fetch, requests };
}

/**
 * Writes a checkpoint of freshly initialised weights (seeded, so repeatable) and a minimal
 * card for each model into a new temporary folder laid out like public/models/.
 */
export async function writeTestCheckpoints(models: { name: ModelName; seed: number; step: number }[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'runtime-models-'));
  for (const { name, seed, step } of models) {
    const handle = createModel(name, seed);
    const checkpoint = await encodeCheckpoint(name, handle.config, handle.model.params, { step, seed });
    handle.model.dispose();
    const folder = join(root, name);
    await writeCheckpointDir(folder, checkpoint);
    const card = {
      model: name,
      title: `test ${name}`,
      description: 'Initial weights written by the runtime tests.',
      formatVersion: checkpoint.manifest.formatVersion,
      config: handle.config,
      parameters: 0,
      training: { command: 'runtime test fixture', seed, steps: step, batchSize: 0, options: {}, dataSha256: '', tfjsVersion: '', backend: 'wasm', durationSeconds: 0, finishedAt: '', finalLossTerms: {} },
    };
    await writeFile(join(folder, 'card.json'), JSON.stringify(card));
  }
  return root;
}

export { DEFAULT_DATA_DIR };
