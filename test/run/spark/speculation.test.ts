import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { lit } from '../../../src/engine/sql.ts';
import { assertPublishedComplete, assertUniqueKeys } from '../../helpers/invariants.ts';
import { duck, makeProject, type TestProject } from '../../helpers/project.ts';
import { startSparkConnect, type SparkServer } from '../../spark/sparkServer.ts';
import { bidsAnalyzer, runOnce, sparkConfigSource, withoutRemoteOverride } from './sparkProject.ts';
import { startStandaloneCluster, type StandaloneCluster } from './standaloneCluster.ts';

// Task retries and speculative copies on real executors cannot mix attempts' files: on a standalone cluster of two
// single-core executors on distinct hosts, with aggressive speculation and spark.task.maxFailures=4, the write
// stage's first task attempt on each executor fails (injected), and the next one on the first host sleeps, so a
// speculative copy of it runs on the other host. The version still has one file per bucket,
// every key once, and checksums that match its files.

const ANALYZER = 'bids';
const PARTITION = '2023-10-12T00';
const INJECTED = 'injected failure of the first task attempt on this executor: task';
const SLOW_HOST = '127.0.0.2';

// Evaluated after the GROUP BY, in the write stage (the repartition by the same keys is dropped as redundant), once
// per row; current_timestamp() is the query run's own instant. A JVM property per run fails the first task attempt on
// each executor. On the slow host, the first row of the next attempt sleeps 40 s, once per run: the other tasks finish
// fast on the other host, so Spark copies the sleeping one there, where the copy gets past the failure and finishes
// first (one long sleep: short ones wake late on a loaded machine; 15 s once ended before a cold executor on the
// other host had finished a task, and nothing was copied).
const QUERY_RUN = 'CAST(current_timestamp() AS STRING)';
const FAULTS = `(CASE WHEN reflect('java.lang.System', 'setProperty', concat('recount.fail.', ${QUERY_RUN}), '1') = 'null'
    THEN raise_error(concat('${INJECTED} ', spark_partition_id()))
  WHEN reflect('java.lang.System', 'getenv', 'SPARK_LOCAL_IP') = '${SLOW_HOST}'
    AND reflect('java.lang.System', 'setProperty', concat('recount.slow.', ${QUERY_RUN}), '1') = 'null'
    THEN reflect('java.lang.Thread', 'sleep', CAST(40000 AS BIGINT)) = 'null'
  ELSE true END)`;

const SPECULATION_CONF: Record<string, string> = {
  'spark.speculation': 'true',
  'spark.speculation.multiplier': '1',
  'spark.speculation.quantile': '0.1',
  'spark.speculation.minTaskRuntime': '100ms',
  'spark.speculation.interval': '100ms',
  'spark.task.maxFailures': '4',
  'spark.sql.shuffle.partitions': '4',
  // Start once both executors are there: speculation needs the second host.
  'spark.scheduler.minRegisteredResourcesRatio': '1.0',
  'spark.scheduler.maxRegisteredResourcesWaitingTime': '240s',
  'spark.executor.memory': '512m',
};

interface TaskInfo {
  readonly stageId: number;
  readonly index: number;
  readonly attempt: number;
  readonly status: string;
  readonly speculative: boolean;
  readonly host: string;
  readonly errorMessage?: string;
}

/** Every task of every stage the server ran, from the driver's REST API. */
async function tasksOf(uiUrl: string): Promise<TaskInfo[]> {
  const get = async (path: string) => (await fetch(`${uiUrl}/api/v1/applications${path}`)).json();
  const [app] = (await get('')) as { id: string }[];
  const stages = (await get(`/${app!.id}/stages`)) as { stageId: number; attemptId: number }[];
  const tasks: TaskInfo[] = [];
  for (const s of stages) {
    const list = (await get(`/${app!.id}/stages/${s.stageId}/${s.attemptId}/taskList?length=1000`)) as TaskInfo[];
    tasks.push(...list.map((t) => ({ ...t, stageId: s.stageId })));
  }
  return tasks;
}

describe('Spark task retries and speculative copies', () => {
  let cluster: StandaloneCluster | undefined;
  let server: SparkServer | undefined;
  let tp: TestProject;
  let restoreRemote: () => void;

  beforeAll(async () => {
    restoreRemote = withoutRemoteOverride();
    cluster = await startStandaloneCluster(2, process.pid);
    server = await startSparkConnect({ master: cluster.master, ownerPid: process.pid, conf: SPECULATION_CONF });
    tp = await makeProject({
      examples: false,
      analyzers: {
        [ANALYZER]: bidsAnalyzer(ANALYZER).replace(
          'GROUP BY ad_id, user_segment',
          `GROUP BY ad_id, user_segment HAVING ${FAULTS}`,
        ),
      },
      hours: 1,
      rowsPerHour: 3000,
      config: sparkConfigSource(server.remote),
    });
    // Six JVMs (master, two workers, two executors, the driver) start before the test.
  }, 900_000);
  afterAll(async () => {
    restoreRemote?.();
    await server?.stop();
    cluster?.stop();
    tp?.cleanup();
  });

  /** One run of the partition: a new version with one file per bucket, every key once, checksums that match. */
  async function runAndCheck(): Promise<string> {
    const result = await runOnce(tp, ANALYZER, PARTITION);
    expect(result.error).toBeUndefined();
    expect([result.status, result.files]).toEqual(['succeeded', 4]);
    // assertPublishedComplete: the files on disk are exactly the manifest's, each with its size, sha256 and rows.
    const view = (await assertPublishedComplete(join(tp.dir, 'data/out'), ANALYZER, PARTITION))!;
    expect(view.manifest.files.map((f) => f.path.slice(0, 10))).toEqual([0, 1, 2, 3].map((i) => `part-0000${i}`));
    await assertUniqueKeys(view.path, view.manifest.keys);
    const events = lit(join(tp.dir, 'data/events/*/*/*.parquet'));
    const published = lit(join(view.path, '*.parquet'));
    const [diff] = await duck<{ missing: string; extra: string; rows: string }>(
      `WITH want AS (SELECT ad_id, user_segment, count(*) AS impression_count FROM read_parquet(${events}, hive_partitioning = false)
                     WHERE event_type = 'impression' GROUP BY ALL),
            got AS (SELECT ad_id, user_segment, impression_count FROM read_parquet(${published}, hive_partitioning = false))
       SELECT (SELECT count(*) FROM (FROM want EXCEPT ALL FROM got)) AS missing,
              (SELECT count(*) FROM (FROM got EXCEPT ALL FROM want)) AS extra, (SELECT count(*) FROM got) AS rows`,
    );
    expect([Number(diff!.missing), Number(diff!.extra)]).toEqual([0, 0]);
    return diff!.rows;
  }

  it('one file per bucket, every key once, checksums that match: no file of a failed or speculative attempt', async () => {
    // The faults must be real, in the write stage (the one whose tasks failed as injected): failed task attempts, and
    // a speculative copy launched on the other host. Where a retried task lands is Spark's choice: a run whose slow
    // attempt went to the fast host is copied nowhere, so the partition is run again (each run its own version and
    // its own injected faults) until one run was speculated, twenty runs at most. Every run is checked. A run that
    // nobody copies takes about 5 s (its slow host got no second task, so nothing slept); 1 run in 3 or 4 is copied.
    let runs = 0;
    let writes: TaskInfo[] = [];
    let rows = '';
    while (runs < 20 && !writes.some((t) => t.speculative)) {
      rows = await runAndCheck();
      runs++;
      const tasks = await tasksOf(server!.uiUrl);
      const writeStages = new Set(tasks.filter((t) => t.errorMessage?.includes(INJECTED)).map((t) => t.stageId));
      expect(writeStages.size).toBe(runs);
      writes = tasks.filter((t) => writeStages.has(t.stageId));
    }
    const failed = writes.filter((t) => t.status === 'FAILED').length;
    const speculative = writes.filter((t) => t.speculative);
    console.log(
      `spark speculation, write stages of ${runs} runs: ${writes.length} task attempts, ${failed} failed (injected), ${speculative.length} speculative (${speculative.map((t) => `task ${t.index} ${t.status} on ${t.host}`).join(', ')}); ${rows} rows in 4 files`,
    );
    // At least the first attempt to reach a row fails (a cold executor's first attempt may be copied and killed first).
    expect(failed).toBeGreaterThanOrEqual(runs);
    expect(speculative.length).toBeGreaterThanOrEqual(1);
  }, 1_800_000);
});
