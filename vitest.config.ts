import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    // Real tfjs on 2 CPU cores: training-based tests need more than the 5 s default.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One worker process per file keeps tfjs backends and WebAssembly heaps isolated.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
