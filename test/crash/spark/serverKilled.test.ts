import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../../src/commit/paths.ts';
import { lit } from '../../../src/engine/sql.ts';
import {
  assertNoOrphans,
  assertPublishedComplete,
  assertReaderSeesOnlyCommitted,
  assertSameRows,
  assertUniqueKeys,
} from '../../helpers/invariants.ts';
import { duck, makeProject, type TestProject } from '../../helpers/project.ts';
import { answerSql, startReaderProcess } from '../../helpers/readers.ts';
import { bidsAnalyzer, runOnce, sparkConfigSource, withoutRemoteOverride } from '../../run/spark/sparkProject.ts';
import { freePort, startSparkConnect, type SparkServer } from '../../spark/sparkServer.ts';
import { assertReadersI1 } from '../harness.ts';

// The Spark Connect server's JVM is killed with SIGKILL while an attempt's Spark job runs: the attempt fails with
// an error naming the endpoint, nothing is published (readers keep seeing the previous version), the attempt's
// staging is removed, and once a server is back on the same port the retry publishes the same rows once.

const ANALYZER = 'slow_bids';
const PARTITION = '2023-10-12T00';
// One 4 s sleep in a Spark task per query run (the first row sets a JVM property named after the query's own
// current_timestamp): the write job lasts seconds, so the kill lands inside it. One long sleep, not one per row:
// on a loaded machine every short sleep wakes late, and the job took minutes.
const SLOW = `reflect('java.lang.Thread', 'sleep', CASE WHEN reflect('java.lang.System', 'setProperty', concat('recount.slow.', CAST(current_timestamp() AS STRING)), '1') = 'null' THEN CAST(4000 AS BIGINT) ELSE CAST(0 AS BIGINT) END) = 'null'`;

/** Resolve once `found()` is true, polling every few milliseconds; reject after `ms`. */
async function waitFor(found: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!found()) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Whether an attempt's Spark write has begun: Spark made its output folder inside the attempt's staging. */
function sparkWriting(stagingRoot: string): boolean {
  if (!existsSync(stagingRoot)) return false;
  return readdirSync(stagingRoot).some((a) => existsSync(join(stagingRoot, a, '_spark_out')));
}

/** A `recount files` reader of the partition in its own process, whose complete answer is the version in `dir`'s. */
async function startFilesReader(out: string, dir: string) {
  const glob = lit(join(dir, '*.parquet'));
  const [{ answer }] = await duck<{ answer: string }>(
    answerSql(`read_parquet(${glob}, hive_partitioning = false)`, 'ad_id', 'impression_count'),
  );
  const reader = startReaderProcess({
    ...{ mode: 'files', name: 'files', outputRoot: out, analyzer: ANALYZER, partition: PARTITION },
    ...{ complete: [answer!], a: 'ad_id', b: 'impression_count', pauseMs: 10 },
  });
  await reader.ready;
  return reader;
}

/** How the state store recorded an attempt: its status and error code. */
async function attemptOutcome(tp: TestProject, attemptId: string): Promise<unknown[]> {
  const ctx = await tp.open();
  try {
    const a = (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: PARTITION })).find(
      (x) => x.attempt_id === attemptId,
    );
    return [a?.status, a?.error_code];
  } finally {
    await ctx.close();
  }
}

describe('the Spark Connect server killed while an attempt runs on it', () => {
  let port: number;
  let server: SparkServer | undefined;
  let tp: TestProject;
  let restoreRemote: () => void;
  const out = () => join(tp.dir, 'data/out');

  beforeAll(async () => {
    restoreRemote = withoutRemoteOverride();
    port = await freePort();
    server = await startSparkConnect({ port, ownerPid: process.pid });
    tp = await makeProject({
      examples: false,
      analyzers: { [ANALYZER]: bidsAnalyzer(ANALYZER, SLOW) },
      hours: 1,
      rowsPerHour: 3000,
      config: sparkConfigSource(server.remote),
    });
  });
  afterAll(async () => {
    restoreRemote?.();
    await server?.stop();
    tp?.cleanup();
  });

  it('fails naming sc://host:port, publishes nothing, cleans its staging; the retry on a restarted server publishes once', async () => {
    const first = await runOnce(tp, ANALYZER, PARTITION);
    expect(first.error).toBeUndefined();
    const prev = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
    expect(prev.version).toBe(1);

    const reader = await startFilesReader(out(), prev.dir);

    const stagingRoot = new OutputLayout(out()).stagingRoot;
    const attempt = runOnce(tp, ANALYZER, PARTITION);
    await waitFor(() => sparkWriting(stagingRoot), 60_000, "the attempt's Spark write");
    const jvm = server!.jvmPid();
    expect(jvm, 'the server JVM').toBeDefined();
    process.kill(jvm!, 'SIGKILL');
    const failed = await attempt;
    await server!.stop();
    server = undefined;

    expect(failed.status).toBe('failed');
    expect(failed.error?.code, failed.error?.message).toBe('ENGINE_UNREACHABLE');
    const endpoint = `sc://127.0.0.1:${port}`;
    expect(failed.error?.message).toContain(endpoint);
    expect(failed.error?.hint).toContain(endpoint);
    // Nothing published: the previous version is what the path and a globbing reader see; no staging is left.
    const now = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
    expect([now.version, now.manifest.attemptId]).toEqual([1, prev.manifest.attemptId]);
    await assertReaderSeesOnlyCommitted(out(), ANALYZER);
    expect(existsSync(stagingRoot) ? readdirSync(stagingRoot) : []).toEqual([]);
    expect(await attemptOutcome(tp, failed.attemptId)).toEqual(['failed', 'ENGINE_UNREACHABLE']);

    server = await startSparkConnect({ port, ownerPid: process.pid });
    const retry = await runOnce(tp, ANALYZER, PARTITION);
    expect(retry.error).toBeUndefined();
    expect([retry.status, retry.version]).toEqual(['succeeded', 2]);
    const view = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
    expect(view.manifest.attemptId).toBe(retry.attemptId);
    await assertUniqueKeys(view.path, view.manifest.keys);
    // The same rows as the fault-free first version (same input), every key in the same file.
    await assertSameRows(view.path, prev.dir, view.manifest);
    const after = await tp.open();
    try {
      await assertNoOrphans(after.store, out());
    } finally {
      await after.close();
    }
    assertReadersI1([await reader.stop()], 'server killed mid-job');
    // Two server starts and three attempts: about a minute on a quiet machine, ten when eight engineers share its 2 cores.
  }, 1_200_000);
});
