import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../../src/models/tf';
import {
  assignParams,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  fetchCheckpoint,
  packCheckpoint,
  unpackCheckpoint,
  type Checkpoint,
} from '../../src/models/checkpoint';
import { Dvae, dvaeShapes, type DvaeConfig } from '../../src/models/dvae';
import { readCheckpointDir, writeCheckpointDir } from '../../scripts/lib/checkpoint-files';
import { backend } from './helpers';

const config: DvaeConfig = { codebookSize: 16, channels: [4, 8, 8] };
const expected = { model: 'dvae', shapes: dvaeShapes(config), origin: 'test' };

async function saved(seed = 1): Promise<{ model: Dvae; checkpoint: Checkpoint }> {
  const model = new Dvae(config, seed);
  return { model, checkpoint: await encodeCheckpoint('dvae', config, model.params, { step: 7 }) };
}

/** Asserts that `promise` rejects with a CheckpointError of the given code, and returns the error. */
async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).code).toBe(code);
  return error as CheckpointError;
}

beforeAll(async () => {
  await backend('wasm');
});

describe('checkpoint', () => {
  it('round trip restores every weight', async () => {
    const { model, checkpoint } = await saved(1);
    const other = new Dvae(config, 2);
    expect(other.params['enc1/w'].dataSync()).not.toEqual(model.params['enc1/w'].dataSync());
    assignParams(other.params, await decodeCheckpoint(checkpoint, expected));
    for (const name of Object.keys(model.params)) {
      expect(other.params[name].dataSync()).toEqual(model.params[name].dataSync());
    }
    expect(checkpoint.manifest.training).toEqual({ step: 7 });
    model.dispose();
    other.dispose();
  });

  it('folder round trip on disk', async () => {
    const { model, checkpoint } = await saved(3);
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
    await writeCheckpointDir(dir, checkpoint);
    const loaded = await readCheckpointDir(dir);
    const values = await decodeCheckpoint(loaded, expected);
    expect(values['dec_out/w']).toEqual(model.params['dec_out/w'].dataSync());
    model.dispose();
  });

  it('packed file round trip', async () => {
    const { model, checkpoint } = await saved(4);
    const unpacked = unpackCheckpoint(packCheckpoint(checkpoint), 'dvae.udalle');
    const values = await decodeCheckpoint(unpacked, expected);
    expect(values['enc_logits/b']).toEqual(model.params['enc_logits/b'].dataSync());
    model.dispose();
  });

  it('missing folder is reported as missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-none-'));
    await expectCode(readCheckpointDir(dir), 'missing');
  });

  it('missing URL is reported as missing', async () => {
    const notFound = (async () => new Response('not found', { status: 404 })) as typeof fetch;
    const error = await expectCode(fetchCheckpoint('http://127.0.0.1/models/dvae/', notFound), 'missing');
    expect(error.message).toMatch(/HTTP 404/);
  });

  it('truncated weights are reported as truncated', async () => {
    const { model, checkpoint } = await saved(5);
    const cut = { manifest: checkpoint.manifest, weights: checkpoint.weights.subarray(0, 100) };
    const error = await expectCode(decodeCheckpoint(cut, expected), 'truncated');
    expect(error.message).toMatch(/100 of \d+ bytes/);
    model.dispose();
  });

  it('truncated packed file is reported as truncated', async () => {
    const { model, checkpoint } = await saved(5);
    const packed = packCheckpoint(checkpoint);
    await expectCode(Promise.resolve().then(() => unpackCheckpoint(packed.subarray(0, 40), 'cut.udalle')), 'truncated');
    model.dispose();
  });

  it('wrong shape names the tensor and both shapes', async () => {
    const { model, checkpoint } = await saved(6);
    const bigger = { ...expected, shapes: dvaeShapes({ ...config, codebookSize: 32 }) };
    const error = await expectCode(decodeCheckpoint(checkpoint, bigger), 'shape');
    expect(error.message).toMatch(/stores enc_logits\/w with shape \[1, 1, 8, 16\], this model expects \[1, 1, 8, 32\]/);
    model.dispose();
  });

  it('wrong model and missing tensors', async () => {
    const { model, checkpoint } = await saved(7);
    await expectCode(decodeCheckpoint(checkpoint, { ...expected, model: 'classifier' }), 'model');
    const fewer = { ...checkpoint.manifest, tensors: checkpoint.manifest.tensors.slice(1) };
    await expectCode(decodeCheckpoint({ ...checkpoint, manifest: fewer }, expected), 'names');
    model.dispose();
  });

  it('format version and foreign files', async () => {
    const { model, checkpoint } = await saved(8);
    await expectCode(decodeCheckpoint({ ...checkpoint, manifest: { ...checkpoint.manifest, formatVersion: 99 } }, expected), 'version');
    const foreign = new TextEncoder().encode('PK\u0003\u0004 a zip file, not a checkpoint');
    await expectCode(Promise.resolve().then(() => unpackCheckpoint(foreign, 'photo.zip')), 'format');
    model.dispose();
  });

  it('corrupt weights and NaN values', async () => {
    const { model, checkpoint } = await saved(9);
    const flipped = checkpoint.weights.slice();
    flipped[17] ^= 0x55;
    await expectCode(decodeCheckpoint({ ...checkpoint, weights: flipped }, expected), 'corrupt');

    const nan = await encodeCheckpoint('dvae', config, { ...model.params, 'enc1/b': tf.fill([4], Number.NaN) });
    await expectCode(decodeCheckpoint(nan, expected), 'nonfinite');
    model.dispose();
  });

  it('shipped checkpoints load when present', async () => {
    for (const name of ['classifier', 'dvae']) {
      const dir = join(import.meta.dirname, '../../public/models', name);
      let manifest;
      try {
        manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      } catch {
        continue;
      }
      const shapes = Object.fromEntries(manifest.tensors.map((t: { name: string; shape: number[] }) => [t.name, t.shape]));
      const values = await decodeCheckpoint(await readCheckpointDir(dir), { model: name, shapes, origin: dir });
      expect(Object.keys(values).length).toBeGreaterThan(4);
    }
  });
});

