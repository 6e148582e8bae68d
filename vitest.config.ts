import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests that need a Spark Connect server live in a `spark/` folder; their project starts one server for the run.
const sparkTests = 'test/**/spark/**/*.test.ts';

export default defineConfig({
  resolve: { alias: { recount: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [sparkTests] } },
      {
        extends: true,
        test: {
          name: 'spark',
          include: [sparkTests],
          globalSetup: ['test/spark/globalSetup.ts'],
          // One local[2] server for all: files run one after another so a CPU-heavy test cannot starve another's timing.
          fileParallelism: false,
          // pyspark's install (first run on a machine) and the JVM's start come before the first test.
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
