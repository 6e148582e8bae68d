import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executorSamples } from '../../src/engine/spark/executorMemory.ts';
import { executorPressure, MemoryMonitor } from '../../src/observe/memoryMonitor.ts';
import { RecountMetrics } from '../../src/observe/metrics.ts';
import type { Alerter } from '../../src/observe/alerts/alerter.ts';
import type { AlertInput } from '../../src/state/alert.ts';
import type { AttemptMemorySample, MemorySampleStore } from '../../src/state/memorySampleStore.ts';
import type { Logger } from '../../src/log.ts';

// An answer of /api/v1/applications/{id}/executors written by hand in Spark 4's format (not captured from a server):
// a local driver, a busy executor with off-heap memory, and a dead executor.
const fixture: unknown = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/sparkExecutors.json'), 'utf8'));

function setup() {
  const raised: AlertInput[] = [];
  const stored: AttemptMemorySample[] = [];
  const alerter = { raise: async (a: AlertInput) => (raised.push(a), a) } as unknown as Alerter;
  const samples = { add: async (s: readonly AttemptMemorySample[]) => void stored.push(...s) } as MemorySampleStore;
  const log = { warn() {}, error() {}, info() {}, debug() {} } as unknown as Logger;
  const metrics = new RecountMetrics({
    analyzers: () => ['a'],
    running: () => 1,
    workerPids: () => [42],
    queueCounts: async () => [],
    loadCounts: async () => [],
    openAlerts: async () => [],
    lag: () => new Map(),
  });
  const monitor = new MemoryMonitor({
    warnShare: 0.8,
    criticalShare: 0.9,
    alerter,
    samples,
    metrics,
    log,
    flushMs: 60_000,
  });
  return { raised, stored, metrics, monitor };
}

const worker = { pid: 42, rss: 100e6, heapUsed: 10e6, heapTotal: 20e6, external: 1e6, budgetBytes: 1e9 };
const attempt = { attemptId: 'att-1', analyzer: 'a', partition: '2023-10-12T00' };

describe("Spark executors' memory: REST API JSON to samples, metrics and alerts", () => {
  it('maps each live executor to on-heap, off-heap, peak execution and max memory', () => {
    expect(executorSamples(fixture)).toEqual([
      {
        executor: 'driver',
        onHeapUsedBytes: 94208,
        offHeapUsedBytes: 0,
        peakExecutionBytes: 67108864,
        maxBytes: 455501414,
      },
      {
        executor: '1',
        onHeapUsedBytes: 300e6,
        offHeapUsedBytes: 50e6,
        peakExecutionBytes: 500e6,
        maxBytes: 1e9,
      },
    ]);
    expect(executorSamples({ message: 'no such app' })).toEqual([]);
    const worst = executorPressure(executorSamples(fixture));
    expect(worst).toMatchObject({ executor: '1', usedBytes: 850e6, maxBytes: 1e9 });
    expect(worst!.share).toBeCloseTo(0.85);
  });

  it('exports the executor series while the attempt runs and removes them when it ends', async () => {
    const { metrics, monitor } = setup();
    monitor.sample({ ...worker, ...attempt, executors: executorSamples(fixture) });
    let text = await metrics.render();
    expect(text).toContain(
      'recount_spark_executor_memory_bytes{analyzer="a",executor="1",kind="peak_execution"} 500000000',
    );
    expect(text).toContain('recount_spark_executor_memory_bytes{analyzer="a",executor="1",kind="max"} 1000000000');
    expect(text).toContain(
      'recount_spark_executor_memory_bytes{analyzer="a",executor="driver",kind="on_heap_used"} 94208',
    );
    await monitor.attemptEnded({ ...attempt, peakRssBytes: 100e6, budgetBytes: 1e9, killed: false });
    text = await metrics.render();
    expect(text).not.toContain('recount_spark_executor_memory_bytes{');
    await monitor.stop();
  });

  it('raises the warning past 80% of an executor max, escalates past 90%, and does not resolve the alert', async () => {
    const { raised, monitor } = setup();
    const low = executorSamples(fixture).map((e) => ({ ...e, peakExecutionBytes: 0 }));
    monitor.sample({ ...worker, ...attempt, executors: low });
    expect(raised).toEqual([]);
    monitor.sample({ ...worker, ...attempt, executors: executorSamples(fixture) });
    monitor.sample({ ...worker, ...attempt, executors: executorSamples(fixture) });
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ kind: 'memory', severity: 'warning', key: 'memory:a/2023-10-12T00' });
    expect(raised[0]!.title).toContain('executor 1');
    const high = executorSamples(fixture).map((e) => ({ ...e, peakExecutionBytes: e.executor === '1' ? 600e6 : 0 }));
    monitor.sample({ ...worker, ...attempt, executors: high });
    expect(raised.map((a) => a.severity)).toEqual(['warning', 'critical']);
    // The worker itself stayed at 10% of its budget, but the executors did not: the alert stays open.
    expect(await monitor.attemptEnded({ ...attempt, peakRssBytes: 100e6, budgetBytes: 1e9, killed: false })).toBe(
      undefined,
    );
    await monitor.stop();
  });
});
