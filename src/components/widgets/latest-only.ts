/**
 * Runs async work one call at a time and drops superseded calls: while one runs, only
 * the newest request waits, and older waiting requests are discarded. Keeps a fast
 * input (a stroke per key press) from queueing work in the model worker.
 */
export function latestOnly<T>(work: (value: T) => Promise<void>): (value: T) => Promise<void> {
  let running = false;
  let pending: { value: T } | null = null;

  return async (value: T) => {
    pending = { value };
    if (running) return;

    running = true;
    try {
      while (pending) {
        const next: { value: T } = pending;
        pending = null;
        await work(next.value);
      }
    } finally {
      running = false;
    }
  };
}
