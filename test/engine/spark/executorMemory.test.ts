import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SparkEngine } from '../../../src/engine/spark/sparkEngine.ts';
import { RecountMetrics } from '../../../src/observe/metrics.ts';
import { sparkRemote } from '../../spark/remote.ts';

describe("Spark executors' memory from the driver's REST API", () => {
  it('a session reports the memory its executors use once a query with a shuffle and a sort has run', async () => {
    const session = await new SparkEngine({ remote: sparkRemote() }).open({
      memoryBytes: 1,
      threads: 1,
      spillDir: join(tmpdir(), 'recount-spark-mem'),
    });
    try {
      await session.query(
        'SELECT k, count(*) AS n FROM (SELECT id % 1000 AS k FROM range(2000000)) GROUP BY k ORDER BY n DESC, k LIMIT 3',
      );
      let bytes = 0;
      // The executors report their peaks with their heartbeats: give them a few.
      for (let i = 0; i < 40 && bytes === 0; i++) {
        await new Promise((r) => setTimeout(r, 1_000));
        bytes = (await session.usage()).memoryBytes;
      }
      expect(bytes).toBeGreaterThan(0);
      // Per executor, as the memory monitor exports them on /metrics while the attempt runs.
      const executors = session.executorMemory?.() ?? [];
      expect(executors.length).toBeGreaterThan(0);
      expect(executors.some((e) => e.maxBytes > 0)).toBe(true);
      const metrics = new RecountMetrics({
        analyzers: () => ['a'],
        running: () => 1,
        workerPids: () => [],
        queueCounts: async () => [],
        loadCounts: async () => [],
        openAlerts: async () => [],
        lag: () => new Map(),
      });
      metrics.executorSample('att-1', 'a', executors);
      const max = (await metrics.render())
        .split('\n')
        .find((l) => l.startsWith('recount_spark_executor_memory_bytes{') && l.includes('kind="max"'));
      expect(Number(max?.split(' ').at(-1))).toBeGreaterThan(0);
    } finally {
      session.close();
    }
  });
});
