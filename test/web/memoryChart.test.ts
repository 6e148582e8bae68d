import { describe, expect, it } from 'vitest';
import { memoryChart, type MemoryPoint } from '../../src/web/memoryChart.ts';

const opts = { budget: 1e9, warnShare: 0.8, criticalShare: 0.9, startMs: 0, endMs: 3_000, peakRss: 420e6 };
const worker = (atMs: number, rss: number): MemoryPoint => ({
  atMs,
  rss,
  heap: 20e6,
  external: 1e6,
  duckdb: rss / 2,
  spill: null,
});

describe('the memory chart of an attempt', () => {
  it("draws a DuckDB attempt's worker RSS against its budget, the shares and the recorded peak", () => {
    const svg = String(memoryChart([worker(0, 200e6), worker(1_000, 400e6), worker(2_000, 300e6)], opts));
    expect(svg).toContain('data-memory="worker"');
    for (const label of ['RSS', 'DuckDB memory', 'budget', 'critical 90%', 'warning 80%', 'peak RSS 420 MB'])
      expect(svg).toContain(`>${label}<`);
    expect(svg).toContain('<title>RSS 400 MB at +1.00 s</title>');
    expect(svg).not.toContain('Spark');
  });

  it("draws a Spark attempt's executors against their max, not the worker's budget", () => {
    const spark = (atMs: number, storage: number, execution: number): MemoryPoint => ({
      ...worker(atMs, 150e6),
      sparkStorage: storage,
      sparkExecution: execution,
      sparkMax: 434e6,
    });
    // The first sample came before the driver's REST API answered: no executor figures yet.
    const svg = String(memoryChart([worker(0, 140e6), spark(1_000, 1e6, 64e6), spark(2_000, 2e6, 300e6)], opts));
    expect(svg).toContain('data-memory="spark"');
    expect(svg).toContain('<title>Spark executors&#39; memory against their max</title>');
    for (const label of [
      'Spark executors in use',
      'peak execution',
      'storage',
      "executors' max 434 MB",
      'critical 90%',
    ])
      expect(svg).toContain(`>${label.replace("'", '&#39;')}<`);
    expect(svg).toContain('<title>Spark executors in use 302 MB at +2.00 s</title>');
    expect(svg).not.toContain('>budget<');
    expect(svg).not.toContain('>RSS<');
  });

  it('says why there is no chart when no sample was kept', () => {
    expect(String(memoryChart([], { ...opts, endMs: Date.now() - 60_000 }))).toContain('No memory samples were kept');
  });
});
