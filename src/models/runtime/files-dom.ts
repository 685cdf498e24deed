/**
 * Checkpoint files on the page: download the bytes of `exportFile` and read a file the
 * reader picked for `loadFile`. This is the one runtime module that touches the DOM, so only
 * page code (widgets) may import it; the worker and Node code never do.
 */
import { ModelWorkerError, type ModelName } from './protocol';

export const CHECKPOINT_FILE_EXTENSION = '.udalle';
/** Largest file `readCheckpointFile` accepts; the shipped checkpoints are under 2 MB. */
const MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/** How long the object URL of a download stays valid; revoking it at once cancels the download in some browsers. */
const DOWNLOAD_URL_LIFETIME_MS = 60_000;

/** Builds a download name like "dvae-step1200-2026-05-01.udalle". */
export function checkpointFileName(name: ModelName, step: number, date: Date = new Date()): string {
  const day = date.toISOString().slice(0, 10);
  return `${name}-step${step}-${day}${CHECKPOINT_FILE_EXTENSION}`;
}

/** Offers `bytes` to the reader as a file download named `fileName`. */
export function downloadBytes(bytes: Uint8Array, fileName: string): void {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_MS);
}

/** Reads a picked file into bytes for `loadFile`; rejects with an 'input' failure that names the file. */
export async function readCheckpointFile(file: File): Promise<Uint8Array> {
  if (file.size > MAX_CHECKPOINT_BYTES) {
    const megabytes = (file.size / 1024 / 1024).toFixed(0);
    throw new ModelWorkerError(
      'input',
      `The file ${file.name} is ${megabytes} MB, larger than any checkpoint of this course. Pick a ${CHECKPOINT_FILE_EXTENSION} file saved with Download.`,
    );
  }
  try {
    return new Uint8Array(await file.arrayBuffer());
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelWorkerError('input', `The file ${file.name} could not be read (${reason}). Pick it again.`);
  }
}
