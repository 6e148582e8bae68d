import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../../helpers/serve.ts';
import { getAnalyzer } from '../../../src/config/project.ts';
import { parsePartition } from '../../../src/catalog/partition.ts';
import { partitionPage } from '../../../src/web/pages/partition.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { dashboardUrl, scrape } from '../../observe/observeHelpers.ts';

// A Spark attempt run by the daemon keeps its executors' memory (from the driver's REST API, via the worker's
// memory reports) with its memory samples, and the partition page draws it against the executors' max. While the
// attempt runs, the daemon's /metrics has the executors' series; once it ends they are gone.

const CONFIG = () => `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  engine: { spark: { remote: ${JSON.stringify(sparkRemote())}, conf: { 'spark.sql.shuffle.partitions': '4' } } },
  serve: { minWorkers: 1, maxWorkers: 1, scanIntervalMs: 400, lookbackHours: 1000000 },
  defaults: { memory: '1GB', threads: 1, files: 2 },
});
`;

// A few seconds of Spark work (a shuffle and a sort over 50 copies of the hour), so the attempt spans samples.
const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', start: '2023-10-12T00',
  sql: 'SELECT ad_id, count(*) AS n, count(DISTINCT user_id, r.id) AS d FROM events, range(50) AS r GROUP BY ad_id' });`;
const P = '2023-10-12T00';
const PC = { nonce: 'n', csrf: 'c', openAlerts: 0, critical: false };

describe("a Spark attempt's executor memory on the partition page", () => {
  let tp: TestProject | undefined;
  let serve: ServeProcess | undefined;
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) await serve.kill();
    tp?.cleanup();
  });

  it('exports the executors’ memory on /metrics while the attempt runs, stores it and draws it against their max', async () => {
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 3000,
      examples: false,
      config: CONFIG(),
      analyzers: { counts: COUNTS },
    });
    serve = startServe(tp, ['--port', '0']);
    const base = await dashboardUrl(serve);
    const ctx = await tp.open();
    try {
      // Scraped as Prometheus would, through the worker pool's memory reports, while the attempt runs.
      const during = waitFor(
        'executor memory on /metrics',
        async () => {
          const m = (await scrape(base)).family('recount_spark_executor_memory_bytes');
          const max = m?.metrics.find((x) => x.labels?.analyzer === 'counts' && x.labels?.kind === 'max');
          return max && Number(max.value) > 0 ? m : undefined;
        },
        180_000,
        100,
      );
      const attempt = await waitFor(
        'the Spark attempt to publish',
        async () =>
          (await ctx.store.listAttempts({ analyzer: 'counts', partitionId: P, limit: 5 })).find(
            (a) => a.status === 'succeeded',
          ),
        180_000,
        500,
      );
      // Samples are written in batches every 2 s.
      const samples = await waitFor('executor samples in the store', async () => {
        const s = await ctx.store.observe.samples.forAttempt(attempt.attempt_id);
        return s.some((x) => Number(x.spark_max_bytes) > 0) && s;
      });
      const family = await during;
      expect(family.type).toBe('GAUGE');
      const kinds = new Set(family.metrics.map((x) => x.labels?.kind));
      expect([...kinds].sort()).toEqual(['max', 'off_heap_used', 'on_heap_used', 'peak_execution']);
      // The attempt ended: its executors' series went with it.
      const after = await waitFor('executor series removed', async () => {
        const m = (await scrape(base)).family('recount_spark_executor_memory_bytes');
        return !m?.metrics.some((x) => x.labels?.analyzer === 'counts') && true;
      });
      expect(after).toBe(true);
      const spark = samples.filter((s) => s.spark_max_bytes != null);
      expect(Number(spark[0]!.spark_max_bytes)).toBeGreaterThan(0);
      expect(spark.every((s) => Number(s.spark_on_heap_bytes) >= 0 && Number(s.spark_execution_bytes) >= 0)).toBe(true);

      const html = await partitionPage(ctx, PC, getAnalyzer(ctx.project, 'counts'), parsePartition(P, 'hour'));
      const detail = html.slice(html.indexOf(`data-attempt="${attempt.attempt_id}"`));
      const svg = detail.slice(detail.indexOf('<svg'), detail.indexOf('</svg>'));
      expect(svg).toContain('data-memory="spark"');
      expect(svg).toContain('>Spark executors in use<');
      expect(svg).toMatch(/>executors&#39; max \d+ MB</);
      expect(svg).toMatch(/<polyline fill="none" stroke="#3e7be6"/);
      expect(svg).not.toContain('>budget<');
    } finally {
      await ctx.close();
    }
  });
});
