import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../../helpers/project.ts';
import { runPartition, type RunContext } from '../../../src/run/runPartition.ts';
import { getAnalyzer } from '../../../src/config/project.ts';
import { judgeOutcome } from '../../../src/scheduler/judgeOutcome.ts';
import { startSparkConnect, type SparkServer } from '../../spark/sparkServer.ts';

// A real Spark out of memory, not a text: a server of its own (the shared one must not run short) whose
// executors have ~2 MB of execution memory (spark.memory.fraction 0.01 of a 600 MB driver), and a GROUP BY over
// 8 MB keys: Spark 4.1.3 fails the task with SparkOutOfMemoryError [AGGREGATE_OUT_OF_MEMORY] (the JVM lives on).
// recount records the attempt as oom, the daemon's judgement retries it, and the retry runs with smaller tasks.
// No count of partitions makes one 8 MB key fit in 2 MB: the retry fails too, as it would on a real cluster.

const CONFIG = (remote: string) => `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  engine: { spark: { remote: ${JSON.stringify(remote)}, conf: { 'spark.sql.shuffle.partitions': '2' } } },
  defaults: { memory: '1GB', threads: 1, files: 1 },
});
`;
// The key is computed per row (a literal 8 MB string would be folded into the plan, whose text then fills the heap).
const SQL =
  "SELECT ad_id, count(*) AS n FROM (SELECT ad_id, repeat('x', 8000000 + length(CAST(ad_id AS STRING))) AS big FROM events) GROUP BY ad_id, big";
const BIG = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'big', inputs: ['events'], grain: 'hour', keys: ['ad_id'], sql: ${JSON.stringify(SQL)} });`;
const P = '2023-10-12T00';
const judge = { stopping: false, tries: 1, maxTries: 3, heapMb: 64, postmortemDir: '.', engine: 'spark' };

describe('a real Spark out of memory', () => {
  let server: SparkServer | undefined;
  let tp: TestProject | undefined;
  let ctx: (RunContext & { close(): Promise<void> }) | undefined;
  let savedRemote: string | undefined;
  beforeAll(async () => {
    server = await startSparkConnect({
      master: 'local[1]',
      driverMemory: '600m',
      conf: { 'spark.memory.fraction': '0.01' },
      ownerPid: process.pid,
    });
    // RECOUNT_SPARK_REMOTE (the shared server of the run) would replace the config's remote: this test's must win.
    savedRemote = process.env.RECOUNT_SPARK_REMOTE;
    process.env.RECOUNT_SPARK_REMOTE = server.remote;
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 20,
      examples: false,
      config: CONFIG(server.remote),
      analyzers: { big: BIG },
    });
    ctx = await tp.open();
    const engine = getAnalyzer(ctx.project, 'big').engineChoice;
    if (engine.name !== 'spark' || engine.remote !== server.remote)
      throw new Error(`the analyzer would run on ${JSON.stringify(engine)}, not on this test's own server`);
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
    await server?.stop();
    if (savedRemote === undefined) delete process.env.RECOUNT_SPARK_REMOTE;
    else process.env.RECOUNT_SPARK_REMOTE = savedRemote;
  });

  it('is recorded as oom, retried, and the retry runs with twice the shuffle partitions and no broadcast', async () => {
    const first = await runPartition(ctx!, getAnalyzer(ctx!.project, 'big'), P);
    expect(first.status).toBe('failed');
    expect(first.error?.code).toBe('OUT_OF_MEMORY');
    expect(first.error?.message).toContain(server!.remote);
    expect(first.error?.message).toContain('SparkOutOfMemoryError: [AGGREGATE_OUT_OF_MEMORY]');
    const report = {
      attemptId: first.attemptId,
      status: 'failed' as const,
      durationMs: 1,
      peakRssBytes: 1,
      error: first.error!,
    };
    expect(judgeOutcome({ kind: 'report', report, peakRssBytes: 1 }, judge)).toMatchObject({
      kind: 'failed',
      status: 'oom',
      oomReason: 'spark',
      retry: true,
    });
    const attempts = () => ctx!.store.listAttempts({ analyzer: 'big', partitionId: P, limit: 2 });
    expect((await attempts())[0]).toMatchObject({ status: 'oom', error_code: 'OUT_OF_MEMORY', spark_conf: null });

    const retry = await runPartition(ctx!, getAnalyzer(ctx!.project, 'big'), P);
    expect(retry.warnings.join('\n')).toContain('after 1 out-of-memory attempt of this partition');
    expect(retry.error?.code).toBe('OUT_OF_MEMORY');
    const [latest] = await attempts();
    expect(latest!.attempt_id).toBe(retry.attemptId);
    expect(JSON.parse(latest!.spark_conf!)).toMatchObject({
      'spark.sql.shuffle.partitions': '4',
      'spark.sql.autoBroadcastJoinThreshold': '-1',
    });
  }, 400_000);
});
