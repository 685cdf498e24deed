/** Shared set-up for unit tests: real MNIST from public/data and a real tfjs backend. */
import { loadSplit, type MnistSplit, type SplitName } from '../../src/models/data/mnist';
import { nodeSource } from '../../src/models/data/node-source';
import { useBackend, type NodeBackend } from '../../scripts/lib/node-backend';

const cache = new Map<string, Promise<MnistSplit>>();

/** Loads (once per test file) the first `maxExamples` digits of a split. */
export function mnist(split: SplitName, maxExamples = 10_000): Promise<MnistSplit> {
  const key = `${split}:${maxExamples}`;
  if (!cache.has(key)) cache.set(key, loadSplit(nodeSource(), split, { maxExamples }));
  return cache.get(key)!;
}

/** wasm with the training kernels is the default: the cpu backend takes ~50 s per conv training step. */
export function backend(name: NodeBackend = 'wasm'): Promise<string> {
  return useBackend(name);
}
