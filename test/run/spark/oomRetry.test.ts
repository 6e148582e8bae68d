import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeProject, readPublished, type TestProject } from '../../helpers/project.ts';
import { runPartition, type RunContext } from '../../../src/run/runPartition.ts';
import { getAnalyzer } from '../../../src/config/project.ts';
import { sparkRemote } from '../../spark/remote.ts';

// After its partition's last attempt ran out of memory, a Spark attempt runs with smaller tasks: the session
// really has the adapted settings (the analyzer's SQL reads one of them back through Spark's ${…} substitution),
// the attempt records them, and an attempt after a success is back to the analyzer's own settings.

const CONFIG = () => `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  engine: { spark: { remote: ${JSON.stringify(sparkRemote())}, conf: { 'spark.sql.shuffle.partitions': '4' } } },
  defaults: { memory: '1GB', threads: 1, files: 2 },
});
`;
const SQL =
  "SELECT ad_id, count(*) AS n, CAST('${spark.sql.shuffle.partitions}' AS INT) AS shuffle_partitions FROM events GROUP BY ad_id";
const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', keys: ['ad_id'], sql: ${JSON.stringify(SQL)} });`;
const P = '2023-10-12T00';

describe('a Spark attempt after out-of-memory attempts of its partition', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  beforeAll(async () => {
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 500,
      examples: false,
      config: CONFIG(),
      analyzers: { counts: COUNTS },
    });
    ctx = await tp.open();
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  /** An attempt of the partition that ended out of memory, as a worker records one. */
  async function outOfMemoryAttempt(id: string): Promise<void> {
    const common = { runId: id, attemptId: id, analyzer: 'counts', partitionId: P, trigger: 'test' };
    await ctx.store.beginAttempt({
      ...common,
      pid: process.pid,
      host: 'elsewhere',
      procToken: 'gone',
      threads: 1,
      memoryBytes: 1,
      stagingDir: join(tp.dir, 'nowhere'),
    });
    await ctx.store.finishAttempt(id, {
      status: 'oom',
      error: {
        code: 'OUT_OF_MEMORY',
        message: 'ExecutorLostFailure (executor 1 exited caused by one of the running tasks)',
      },
    });
  }

  const run = () => runPartition(ctx, getAnalyzer(ctx.project, 'counts'), P);
  const published = () => readPublished(join(tp.dir, 'data/out/counts/dt=2023-10-12/hour=00'), ['ad_id']);

  it('runs with twice the shuffle partitions per out-of-memory attempt, no broadcast, and says so', async () => {
    await outOfMemoryAttempt('oom-1');
    await outOfMemoryAttempt('oom-2');
    const r = await run();
    expect(r.status).toBe('succeeded');
    expect(r.warnings.join('\n')).toContain(
      'after 2 out-of-memory attempts of this partition, Spark runs with smaller tasks',
    );
    const rows = await published();
    expect(new Set(rows.map((x) => Number(x.shuffle_partitions)))).toEqual(new Set([16]));
    const attempt = (await ctx.store.listAttempts({ analyzer: 'counts', partitionId: P, limit: 1 }))[0]!;
    expect(attempt.attempt_id).toBe(r.attemptId);
    expect(JSON.parse(attempt.spark_conf!)).toMatchObject({
      'spark.sql.shuffle.partitions': '16',
      'spark.sql.autoBroadcastJoinThreshold': '-1',
    });
  });

  it("is back to the analyzer's own settings once an attempt succeeded", async () => {
    const r = await run();
    expect(r.error?.message).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(r.warnings.join('\n')).not.toContain('out-of-memory');
    expect(new Set((await published()).map((x) => Number(x.shuffle_partitions)))).toEqual(new Set([4]));
    expect((await ctx.store.listAttempts({ analyzer: 'counts', partitionId: P, limit: 1 }))[0]!.spark_conf).toBeNull();
  });
});
