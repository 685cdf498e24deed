/** A `DataSource` over a folder on disk, for Node scripts and tests only (it imports `fs`). */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DataSource } from './mnist';

export const DEFAULT_DATA_DIR = resolve(import.meta.dirname, '../../../public/data');

export function nodeSource(dir: string = DEFAULT_DATA_DIR): DataSource {
  return {
    describe: (file) => join(dir, file),
    readText: (file) => readFile(join(dir, file), 'utf8'),
    async readBytes(file, onBytes) {
      const buffer = await readFile(join(dir, file));
      onBytes?.(buffer.length);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    },
  };
}
