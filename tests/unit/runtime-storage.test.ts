/** WeightsStore on fake-indexeddb: round trips, and every failure with its own code and message. */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { DATABASE_NAME, StorageError, WeightsStore, type SavedWeights } from '../../src/models/runtime/storage';

function weights(step: number, size = 1000): SavedWeights {
  const checkpoint = new Uint8Array(size).map((_, i) => (i * 7 + step) % 256);
  return { name: 'dvae', checkpoint, savedAt: new Date(Date.UTC(2026, 0, 1, 0, step)).toISOString(), step };
}

async function storageErrorOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the call should have been rejected').toBeInstanceOf(StorageError);
  return error as StorageError;
}

/** Opens the store's database directly, to plant records the store itself would never write. */
function openRaw(factory: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DATABASE_NAME, 1);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function putRaw(factory: IDBFactory, record: unknown): Promise<void> {
  const db = await openRaw(factory);
  await new Promise<void>((resolve, reject) => {
    const transaction = db.transaction('weights', 'readwrite');
    transaction.objectStore('weights').put(record);
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
  });
  db.close();
}

/** An IDBFactory whose open() request fires `event` (with `errorName` for 'error') on the next turn. */
function failingFactory(event: 'error' | 'blocked', errorName = 'InvalidStateError'): IDBFactory {
  return {
    open() {
      const request = {
        error: new DOMException('simulated', errorName),
        onerror: null as null | (() => void),
        onblocked: null as null | (() => void),
        onsuccess: null,
        onupgradeneeded: null,
      };
      setTimeout(() => (event === 'error' ? request.onerror?.() : request.onblocked?.()), 0);
      return request;
    },
  } as unknown as IDBFactory;
}

const originalPut = IDBObjectStore.prototype.put;
afterEach(() => {
  IDBObjectStore.prototype.put = originalPut;
});

describe('WeightsStore', () => {
  it('round trips a record', async () => {
    const store = new WeightsStore(new IDBFactory());
    expect(await store.load('dvae')).toBeNull();
    const saved = { ...weights(5), card: { model: 'dvae' } as SavedWeights['card'] };
    await store.save(saved);

    const loaded = await store.load('dvae');
    expect(loaded).toEqual(saved);
    expect(loaded!.checkpoint).toBeInstanceOf(Uint8Array);
    expect(await store.info('dvae')).toEqual({ savedAt: saved.savedAt, step: 5, bytes: 1000 });
    expect(await store.info('classifier')).toBeNull();
  });

  it('save replaces the old record', async () => {
    const store = new WeightsStore(new IDBFactory());
    await store.save(weights(1));
    await store.save(weights(2, 500));
    expect(await store.info('dvae')).toMatchObject({ step: 2, bytes: 500 });
  });

  it('quota abort keeps the old record', async () => {
    const store = new WeightsStore(new IDBFactory());
    await store.save(weights(1));

    // What a browser does on a full quota: the transaction aborts with a QuotaExceededError.
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      const request = originalPut.apply(this, args);
      (this.transaction as unknown as { _abort(name: string): void })._abort('QuotaExceededError');
      return request;
    };
    const error = await storageErrorOf(store.save(weights(2, 5000)));
    expect(error.code).toBe('quota');
    expect(error.message).toContain('storage for this site is full');
    expect(error.message).toContain('previously saved weights are unchanged');

    IDBObjectStore.prototype.put = originalPut;
    expect(await store.load('dvae')).toEqual(weights(1));
  });

  it('synchronous quota error keeps the old record', async () => {
    const store = new WeightsStore(new IDBFactory());
    await store.save(weights(1));
    IDBObjectStore.prototype.put = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    expect((await storageErrorOf(store.save(weights(2)))).code).toBe('quota');
    IDBObjectStore.prototype.put = originalPut;
    expect(await store.load('dvae')).toEqual(weights(1));
  });

  it('missing IndexedDB is unavailable', async () => {
    const store = new WeightsStore(undefined);
    const error = await storageErrorOf(store.save(weights(1)));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('Download');
    expect((await storageErrorOf(store.info('dvae'))).code).toBe('unavailable');
  });

  it('open() that throws is unavailable', async () => {
    const factory = {
      open() {
        throw new DOMException('access denied', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const error = await storageErrorOf(new WeightsStore(factory).load('dvae'));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('SecurityError');
  });

  it('open error is unavailable', async () => {
    const error = await storageErrorOf(new WeightsStore(failingFactory('error')).save(weights(1)));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('private browsing');
  });

  it('blocked open is reported', async () => {
    const error = await storageErrorOf(new WeightsStore(failingFactory('blocked')).save(weights(1)));
    expect(error.code).toBe('blocked');
    expect(error.message).toContain('Close the other tabs');
  });

  it('newer database version is reported', async () => {
    const factory = new IDBFactory();
    await new Promise<void>((resolve) => {
      const request = factory.open(DATABASE_NAME, 7);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
    });
    const error = await storageErrorOf(new WeightsStore(factory).load('dvae'));
    expect(error.code).toBe('failed');
    expect(error.message).toContain('newer version');
  });

  it('corrupt record is reported, and can be deleted', async () => {
    const factory = new IDBFactory();
    const store = new WeightsStore(factory);
    await store.save(weights(1));

    const cases: [unknown, string][] = [
      [{ name: 'dvae', recordVersion: 1, checkpoint: 'oops', bytes: 4, savedAt: weights(1).savedAt, step: 1 }, 'checkpoint bytes are missing'],
      [{ name: 'dvae', recordVersion: 1, checkpoint: new Uint8Array(3), bytes: 4, savedAt: weights(1).savedAt, step: 1 }, '3 bytes stored, 4 expected'],
      [{ name: 'dvae', recordVersion: 9, checkpoint: new Uint8Array(4), bytes: 4, savedAt: weights(1).savedAt, step: 1 }, 'record version 9'],
      [{ name: 'dvae', recordVersion: 1, checkpoint: new Uint8Array(4), bytes: 4, savedAt: 'yesterday', step: 1 }, 'save time'],
      [{ name: 'dvae', recordVersion: 1, checkpoint: new Uint8Array(4), bytes: 4, savedAt: weights(1).savedAt, step: -2 }, 'step -2'],
    ];
    for (const [record, detail] of cases) {
      await putRaw(factory, record);
      const error = await storageErrorOf(store.load('dvae'));
      expect(error.code, detail).toBe('corrupt');
      expect(error.message).toContain(detail);
      expect(error.message).toContain('Delete them and save again');
    }

    expect(await store.delete('dvae')).toBe(true);
    expect(await store.load('dvae')).toBeNull();
    expect(await store.delete('dvae')).toBe(false);
  });
});
