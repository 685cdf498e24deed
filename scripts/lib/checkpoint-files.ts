/** Reads and writes checkpoint folders (model.json + weights.bin) on disk, for Node scripts. */
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, type Checkpoint, type CheckpointManifest } from '../../src/models/checkpoint';

export async function writeCheckpointDir(dir: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Write to temporary names first so an interrupted save never leaves a half-written pair.
  await writeFile(join(dir, `${checkpoint.manifest.weightsFile}.tmp`), checkpoint.weights);
  await writeFile(join(dir, 'model.json.tmp'), `${JSON.stringify(checkpoint.manifest, null, 1)}\n`);
  await rename(join(dir, `${checkpoint.manifest.weightsFile}.tmp`), join(dir, checkpoint.manifest.weightsFile));
  await rename(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
}

export async function readCheckpointDir(dir: string): Promise<Checkpoint> {
  const manifestPath = join(dir, 'model.json');
  if (!existsSync(manifestPath)) {
    throw new CheckpointError('missing', `Checkpoint ${manifestPath} is missing: run \`npm run train\` first.`);
  }
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch {
    throw new CheckpointError('corrupt', `Checkpoint ${manifestPath} is not valid JSON.`);
  }
  const weightsPath = join(dir, manifest.weightsFile ?? 'weights.bin');
  if (!existsSync(weightsPath)) {
    throw new CheckpointError('missing', `Checkpoint weights ${weightsPath} are missing.`);
  }
  const buffer = await readFile(weightsPath);
  return { manifest, weights: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length) };
}
