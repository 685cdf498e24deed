/**
 * Checkpoint format: a JSON manifest (model.json) plus one little-endian float32 weights
 * file (weights.bin), or both packed into one file for download and upload.
 *
 * Every load checks the format, its version, the model name, the tensor names, their
 * shapes and the byte count against what the running code expects, and throws a
 * `CheckpointError` naming the first mismatch. Weights are never loaded partially.
 */
import * as tf from './tf';
import type { ParamShapes, Params } from './nn';
import { sha256Hex } from './data/sha256';
import { isModelName, TITLES } from './registry';

export const CHECKPOINT_FORMAT = 'universe-of-dalle/checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
/** First 8 bytes of a packed single-file checkpoint. */
const PACKED_MAGIC = 'UDALLE-1';

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  byteOffset: number;
  byteLength: number;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  model: string;
  config: Record<string, unknown>;
  weightsFile: string;
  weightsBytes: number;
  weightsSha256: string;
  tensors: TensorEntry[];
  /** Free-form training facts (step, seed, …) that travel with the weights. */
  training?: Record<string, unknown>;
}

export interface Checkpoint {
  manifest: CheckpointManifest;
  weights: Uint8Array;
}

export type CheckpointErrorCode =
  | 'missing'
  | 'truncated'
  | 'format'
  | 'version'
  | 'model'
  | 'names'
  | 'shape'
  | 'corrupt'
  | 'nonfinite';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly code: CheckpointErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Serialises named tensors (read from the backend) into a checkpoint. */
export async function encodeCheckpoint(
  model: string,
  config: object,
  tensors: Params | Record<string, tf.Tensor>,
  training?: Record<string, unknown>,
): Promise<Checkpoint> {
  const names = Object.keys(tensors).sort();
  const entries: TensorEntry[] = [];
  let byteOffset = 0;
  for (const name of names) {
    const shape = tensors[name].shape;
    const byteLength = 4 * tensors[name].size;
    entries.push({ name, shape, dtype: 'float32', byteOffset, byteLength });
    byteOffset += byteLength;
  }

  const weights = new Uint8Array(byteOffset);
  for (const entry of entries) {
    const values = (await tensors[entry.name].data()) as Float32Array;
    weights.set(new Uint8Array(values.buffer, values.byteOffset, entry.byteLength), entry.byteOffset);
  }

  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    model,
    config: { ...config } as Record<string, unknown>,
    weightsFile: 'weights.bin',
    weightsBytes: weights.length,
    weightsSha256: await sha256Hex(weights),
    tensors: entries,
    training,
  };
  return { manifest, weights };
}

/** Expectations of the running code: the model name and its parameter shapes. */
export interface ExpectedCheckpoint {
  model: string;
  shapes: ParamShapes;
  /** Origin of the checkpoint for messages: a URL, a file name, "browser storage". */
  origin: string;
}

/** Returns a model's title as the site shows it, or its id when the name is not one of the course's models. */
function modelTitle(model: string): string {
  return isModelName(model) ? TITLES[model].title : model;
}

/** Returns a model's id, as checkpoint files carry it, followed by its title for the course's models: `"prior" (unCLIP diffusion prior)`. */
function describeModel(model: string): string {
  return isModelName(model) ? `"${model}" (${TITLES[model].title})` : JSON.stringify(model);
}

/**
 * Validates a checkpoint against the expected model and returns its tensors as float32
 * arrays by name. Throws `CheckpointError` on the first problem found.
 */
export async function decodeCheckpoint(checkpoint: Checkpoint, expected: ExpectedCheckpoint): Promise<Record<string, Float32Array>> {
  const { manifest, weights } = checkpoint;
  const where = expected.origin;
  validateManifest(manifest, where);

  if (manifest.model !== expected.model) {
    throw new CheckpointError(
      'model',
      `Checkpoint ${where} is for model ${describeModel(manifest.model)}, this widget needs ${describeModel(expected.model)}: load a checkpoint of the ${modelTitle(expected.model)}.`,
    );
  }

  const found = new Map(manifest.tensors.map((entry) => [entry.name, entry]));
  const missing = Object.keys(expected.shapes).filter((name) => !found.has(name));
  const extra = manifest.tensors.map((entry) => entry.name).filter((name) => !(name in expected.shapes));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}`);
    if (extra.length) parts.push(`unexpected ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ` and ${extra.length - 4} more` : ''}`);
    throw new CheckpointError('names', `Checkpoint ${where} does not match this ${expected.model} model's tensors (${parts.join('; ')}): it was saved by another version or configuration.`);
  }

  for (const [name, shape] of Object.entries(expected.shapes)) {
    const entry = found.get(name)!;
    if (entry.shape.join() !== shape.join()) {
      throw new CheckpointError('shape', `Checkpoint ${where} stores ${name} with shape [${entry.shape.join(', ')}], this model expects [${shape.join(', ')}]: the checkpoint was saved with a different configuration.`);
    }
  }

  if (weights.length < manifest.weightsBytes) {
    throw new CheckpointError('truncated', `Checkpoint ${where} weights are truncated: ${weights.length} of ${manifest.weightsBytes} bytes. Download it again.`);
  }
  if (weights.length !== manifest.weightsBytes) {
    throw new CheckpointError('corrupt', `Checkpoint ${where} weights have ${weights.length} bytes but the manifest expects ${manifest.weightsBytes}: the file is corrupt. Download it again.`);
  }
  const digest = await sha256Hex(weights);
  if (digest !== manifest.weightsSha256) {
    throw new CheckpointError('corrupt', `Checkpoint ${where} weights are corrupt: their SHA-256 does not match the manifest.`);
  }

  const result: Record<string, Float32Array> = {};
  for (const entry of manifest.tensors) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.byteLength !== 4 * size || entry.byteOffset + entry.byteLength > weights.length) {
      throw new CheckpointError('corrupt', `Checkpoint ${where} has an invalid byte range for ${entry.name}.`);
    }
    // Copy so the values are aligned and independent of the file buffer.
    const values = new Float32Array(size);
    new Uint8Array(values.buffer).set(weights.subarray(entry.byteOffset, entry.byteOffset + entry.byteLength));
    for (let i = 0; i < size; i++) {
      if (!Number.isFinite(values[i])) {
        throw new CheckpointError('nonfinite', `Checkpoint ${where} contains NaN or infinite values in ${entry.name}: it was saved from a diverged run and cannot be used.`);
      }
    }
    result[entry.name] = values;
  }
  return result;
}

function validateManifest(manifest: CheckpointManifest, where: string): void {
  if (!manifest || typeof manifest !== 'object' || manifest.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError('format', `${where} is not a checkpoint of this course (format "${String(manifest?.format)}", expected "${CHECKPOINT_FORMAT}").`);
  }
  if (manifest.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError('version', `Checkpoint ${where} has format version ${manifest.formatVersion}, this site reads version ${CHECKPOINT_FORMAT_VERSION}: retrain it or reload the page.`);
  }
  if (!Array.isArray(manifest.tensors) || typeof manifest.weightsBytes !== 'number') {
    throw new CheckpointError('format', `Checkpoint ${where} has a manifest without a tensor list.`);
  }
}

/** Copies decoded values into the model's variables (all shapes were checked already). */
export function assignParams(params: Params, values: Record<string, Float32Array>): void {
  tf.tidy(() => {
    for (const [name, variable] of Object.entries(params)) {
      variable.assign(tf.tensor(values[name], variable.shape, 'float32'));
    }
  });
}

/** Packs manifest and weights into one file: magic, uint32 manifest length, manifest JSON, weights. */
export function packCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const manifestBytes = new TextEncoder().encode(JSON.stringify(checkpoint.manifest));
  const out = new Uint8Array(8 + 4 + manifestBytes.length + checkpoint.weights.length);
  out.set(new TextEncoder().encode(PACKED_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, manifestBytes.length, true);
  out.set(manifestBytes, 12);
  out.set(checkpoint.weights, 12 + manifestBytes.length);
  return out;
}

/** Unpacks a single-file checkpoint; a foreign or cut file gets a `CheckpointError`. */
export function unpackCheckpoint(bytes: Uint8Array, origin: string): Checkpoint {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (bytes.length < 12 || magic !== PACKED_MAGIC) {
    throw new CheckpointError('format', `${origin} is not a checkpoint file saved by this course (it does not start with "${PACKED_MAGIC}").`);
  }
  const manifestLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + manifestLength > bytes.length) {
    throw new CheckpointError('truncated', `${origin} is truncated: its manifest is cut off. Download it again.`);
  }
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + manifestLength)));
  } catch {
    throw new CheckpointError('corrupt', `${origin} has an unreadable manifest.`);
  }
  return { manifest, weights: bytes.slice(12 + manifestLength) };
}

/** Fetches model.json and its weights file from a folder URL (or any `fetch`-like reader). */
export async function fetchCheckpoint(folderUrl: string, fetchImpl: typeof fetch = fetch): Promise<Checkpoint> {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  const manifestUrl = `${base}model.json`;
  let response: Response;
  try {
    response = await fetchImpl(manifestUrl);
  } catch (error) {
    throw new CheckpointError('missing', `Checkpoint ${manifestUrl} could not be fetched (${String(error)}).`);
  }
  if (!response.ok) {
    throw new CheckpointError('missing', `Checkpoint ${manifestUrl} is missing (HTTP ${response.status}). Run \`npm run train\` or check the site's public/models folder.`);
  }
  let manifest: CheckpointManifest;
  try {
    manifest = (await response.json()) as CheckpointManifest;
  } catch {
    throw new CheckpointError('corrupt', `Checkpoint ${manifestUrl} is not valid JSON.`);
  }
  validateManifest(manifest, manifestUrl);
  const weightsUrl = `${base}${manifest.weightsFile}`;
  const weightsResponse = await fetchImpl(weightsUrl);
  if (!weightsResponse.ok) {
    throw new CheckpointError('missing', `Checkpoint weights ${weightsUrl} are missing (HTTP ${weightsResponse.status}).`);
  }
  return { manifest, weights: new Uint8Array(await weightsResponse.arrayBuffer()) };
}
