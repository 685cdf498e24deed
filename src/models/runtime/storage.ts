/**
 * The reader's saved weights in IndexedDB: one record per model name, holding a packed
 * checkpoint (checkpoint.ts `packCheckpoint`), the model card, the save time and the step.
 *
 * A save is one `put` in one readwrite transaction. IndexedDB commits a transaction whole
 * or rolls it back whole, so a save that fails (a full quota, a closed tab) leaves the
 * previously saved record as it was. Every failure is a `StorageError` whose code selects the
 * fix the page offers.
 */
import type { ModelCard } from '../card';

export const DATABASE_NAME = 'universe-of-dalle';
const DATABASE_VERSION = 1;
const STORE_NAME = 'weights';
/** Layout version of one record, checked on every read. */
const RECORD_VERSION = 1;

export interface SavedWeights {
  /** Model name, the record's key. */
  name: string;
  /** Packed single-file checkpoint bytes. */
  checkpoint: Uint8Array;
  card?: ModelCard;
  /** ISO 8601 time of the save. */
  savedAt: string;
  /** Training step of the weights. */
  step: number;
}

export interface SavedWeightsInfo {
  savedAt: string;
  step: number;
  bytes: number;
}

interface StoredRecord extends SavedWeights {
  recordVersion: number;
  bytes: number;
}

export type StorageErrorCode = 'unavailable' | 'blocked' | 'quota' | 'corrupt' | 'failed';

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class WeightsStore {
  constructor(
    /** IndexedDB, or undefined where the browser offers none (some private modes, Node). */
    private readonly factory: IDBFactory | undefined = globalThis.indexedDB,
    readonly databaseName: string = DATABASE_NAME,
  ) {}

  /** Writes the record for `weights.name`, replacing the old one only if the write commits. */
  async save(weights: SavedWeights): Promise<void> {
    const record: StoredRecord = {
      ...weights,
      recordVersion: RECORD_VERSION,
      bytes: weights.checkpoint.length,
    };
    const action = `Saving the ${weights.name} weights (${formatKiB(record.bytes)})`;
    // 'strict' requests a flush to disk before the transaction reports success (Chrome's default is relaxed).
    await this.transact('readwrite', action, (store) => store.put(record), { durability: 'strict' });
  }

  /** Reads the saved record, or returns null when none exists. Throws a 'corrupt' StorageError for a damaged record. */
  async load(name: string): Promise<SavedWeights | null> {
    const value = await this.transact('readonly', `Reading the saved ${name} weights`, (store) => store.get(name));
    if (value === undefined) return null;
    const record = validateRecord(value, name);
    return { name: record.name, checkpoint: record.checkpoint, card: record.card, savedAt: record.savedAt, step: record.step };
  }

  async info(name: string): Promise<SavedWeightsInfo | null> {
    const saved = await this.load(name);
    return saved ? { savedAt: saved.savedAt, step: saved.step, bytes: saved.checkpoint.length } : null;
  }

  /** Deletes the record; returns whether there was one. */
  async delete(name: string): Promise<boolean> {
    const action = `Deleting the saved ${name} weights`;
    const count = await this.transact('readwrite', action, (store) => store.count(name));
    if (count === 0) return false;
    await this.transact('readwrite', action, (store) => store.delete(name));
    return true;
  }

  private open(): Promise<IDBDatabase> {
    const factory = this.factory;
    if (!factory) {
      return Promise.reject(
        new StorageError(
          'unavailable',
          'This browser offers no IndexedDB to this page (private browsing or disabled site data), so weights cannot be saved here. Use Download to keep them as a file.',
        ),
      );
    }

    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: StorageError) => {
        if (settled) return;
        settled = true;
        reject(error);
      };

      let request: IDBOpenDBRequest;
      try {
        request = factory.open(this.databaseName, DATABASE_VERSION);
      } catch (error) {
        fail(openError(error));
        return;
      }

      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE_NAME)) db.createObjectStore(STORE_NAME, { keyPath: 'name' });
      };
      request.onblocked = () => {
        fail(
          new StorageError(
            'blocked',
            'Saved weights are locked by another tab of this course that uses an older storage layout. Close the other tabs of this site and try again.',
          ),
        );
      };
      request.onerror = () => {
        // Handled here, so the error does not also surface as an uncaught event.
        request.onerror = null;
        fail(openError(request.error));
      };
      request.onsuccess = () => {
        const db = request.result;
        if (settled) {
          // The open finished after a 'blocked' rejection, so no caller will use this connection.
          db.close();
          return;
        }
        // Let a newer version of the site, opened in another tab, upgrade the database.
        db.onversionchange = () => db.close();
        settled = true;
        resolve(db);
      };
    });
  }

  /** Runs one request in one transaction and resolves with its result once the transaction commits. */
  private async transact<T>(
    mode: IDBTransactionMode,
    action: string,
    makeRequest: (store: IDBObjectStore) => IDBRequest<T>,
    options?: IDBTransactionOptions,
  ): Promise<T> {
    const db = await this.open();
    try {
      return await new Promise<T>((resolve, reject) => {
        let transaction: IDBTransaction | undefined;
        let request: IDBRequest<T>;
        try {
          transaction = db.transaction(STORE_NAME, mode, options);
          request = makeRequest(transaction.objectStore(STORE_NAME));
        } catch (error) {
          // A synchronous throw (DataCloneError, or a quota check some engines make up front)
          // leaves the transaction without a committed write. Aborting it discards any partial work.
          try {
            transaction?.abort();
          } catch {
            // The transaction may already be finished.
          }
          reject(transactionError(error, action));
          return;
        }
        const started = transaction;

        let result: T;
        request.onsuccess = () => {
          result = request.result;
        };
        started.oncomplete = () => resolve(result);
        started.onabort = () => reject(transactionError(started.error ?? request.error, action));
      });
    } finally {
      db.close();
    }
  }
}

function errorName(error: unknown): string {
  return error && typeof error === 'object' && 'name' in error ? String((error as { name: unknown }).name) : '';
}

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

function openError(error: unknown): StorageError {
  const name = errorName(error);
  if (name === 'QuotaExceededError') {
    return new StorageError('quota', "Browser storage for this site is full, so saved weights cannot be opened. Free space in the browser's site data settings, or use Download.");
  }
  if (name === 'VersionError') {
    return new StorageError('failed', 'Saved weights were written by a newer version of this course. Reload the page to get the newer version.');
  }
  return new StorageError(
    'unavailable',
    `This browser refused to open IndexedDB (${name || 'error'}: ${errorMessage(error)}), as it does in some private browsing modes. Use Download to keep weights as a file.`,
  );
}

function transactionError(error: unknown, action: string): StorageError {
  const name = errorName(error);
  if (name === 'QuotaExceededError') {
    return new StorageError(
      'quota',
      `${action} failed: browser storage for this site is full. The previously saved weights are unchanged. Free space in the browser's site data settings, or use Download to keep a file.`,
    );
  }
  return new StorageError('failed', `${action} failed (${name || 'error'}: ${errorMessage(error)}). The previously saved weights are unchanged.`);
}

/** Checks the fields of a stored record; a record that fails is reported, never used. */
function validateRecord(value: unknown, name: string): StoredRecord {
  const damaged = (what: string) =>
    new StorageError('corrupt', `The saved ${name} weights in this browser are damaged (${what}). Delete them and save again.`);

  if (!value || typeof value !== 'object') throw damaged('the record is not an object');
  const record = value as Partial<StoredRecord>;
  if (record.recordVersion !== RECORD_VERSION) throw damaged(`record version ${String(record.recordVersion)}, expected ${RECORD_VERSION}`);
  if (record.name !== name) throw damaged(`the record is named "${String(record.name)}"`);
  if (Object.prototype.toString.call(record.checkpoint) !== '[object Uint8Array]') throw damaged('the checkpoint bytes are missing');
  if (record.checkpoint!.length !== record.bytes) throw damaged(`${record.checkpoint!.length} bytes stored, ${String(record.bytes)} expected`);
  if (typeof record.savedAt !== 'string' || Number.isNaN(Date.parse(record.savedAt))) throw damaged('the save time is missing');
  if (!Number.isInteger(record.step) || record.step! < 0) throw damaged(`step ${String(record.step)} is not a count`);
  return record as StoredRecord;
}

function formatKiB(bytes: number): string {
  return `${Math.ceil(bytes / 1024)} KiB`;
}
