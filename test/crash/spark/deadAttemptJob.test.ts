import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../../src/commit/paths.ts';
import { attemptSessionId } from '../../../src/engine/spark/attemptSession.ts';
import { SparkConnectClient, sql, tableRows } from '../../../src/engine/spark/connect/index.ts';
import { assertNoOrphans } from '../../helpers/invariants.ts';
import { makeProject, type TestProject } from '../../helpers/project.ts';
import { bidsAnalyzer, sparkConfigSource } from '../../run/spark/sparkProject.ts';
import { sparkRemote, sparkUiUrl } from '../../spark/remote.ts';

// A `recount run` on Spark killed with SIGKILL while its Spark write job runs: nothing tells Spark its client died,
// so the job runs on. Recovery must interrupt it (in the attempt's own session, named after the attempt) before it
// removes the attempt's staging: a job left running would make the staging folder again when its tasks write.

const ANALYZER = 'sleepy_bids';
const PARTITION = '2023-10-12T00';
/** How long the job sleeps (once, in one task): far longer than recovery takes, so an uninterrupted job writes after it. */
const SLEEP_MS = 20_000;
/** Names the marker file the sleeping task makes in the Spark driver's temporary folder as it starts its sleep. */
const MARK = `recount-sleepy-${process.pid}-${Date.now()}-`;
// The first row of the query (a JVM property named after the query's current_timestamp marks it) makes the marker
// file, then sleeps; the rest do not.
const SLEEPY = `reflect('java.lang.Thread', 'sleep', CASE WHEN reflect('java.lang.System', 'setProperty', concat('recount.sleepy.', CAST(current_timestamp() AS STRING)), '1') = 'null' AND reflect('java.io.File', 'createTempFile', '${MARK}', '.mark') IS NOT NULL THEN CAST(${SLEEP_MS} AS BIGINT) ELSE CAST(0 AS BIGINT) END) = 'null'`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolve once `found()` is true; reject after `ms`. */
async function waitFor(found: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!found()) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await sleep(5);
  }
}

interface JobData {
  jobId: number;
  status: string;
  jobTags?: string[];
  /** e.g. `2026-12-03T16:02:39.357GMT`. */
  completionTime?: string;
}

/** When a job ended (ms since the epoch), or Infinity while it runs. */
function endedAt(j: JobData): number {
  return j.completionTime ? Date.parse(j.completionTime.replace(/GMT$/, 'Z')) : Number.POSITIVE_INFINITY;
}

/** The Spark jobs of one Spark Connect session, from the driver's REST API (its job tags name the session). */
async function sessionJobs(ui: string, sessionId: string): Promise<JobData[]> {
  const [app] = (await (await fetch(`${ui}/api/v1/applications`)).json()) as { id: string }[];
  const jobs = (await (await fetch(`${ui}/api/v1/applications/${app!.id}/jobs`)).json()) as JobData[];
  return jobs.filter((j) => (j.jobTags ?? []).some((t) => t.includes(`_Session_${sessionId}_`)));
}

describe('recovery of a Spark attempt whose process was killed mid-job', () => {
  let tp: TestProject;
  const stagingRoot = () => new OutputLayout(join(tp.dir, 'data/out')).stagingRoot;
  const staged = () => (existsSync(stagingRoot()) ? readdirSync(stagingRoot()) : []);
  let tmp: string;
  beforeAll(async () => {
    tp = await makeProject({
      examples: false,
      analyzers: { [ANALYZER]: bidsAnalyzer(ANALYZER, SLEEPY) },
      hours: 1,
      rowsPerHour: 2000,
      config: sparkConfigSource(sparkRemote()),
    });
    // The Spark driver's temporary folder, where the sleeping task makes its marker (the same machine in the tests).
    const client = SparkConnectClient.connect(sparkRemote());
    try {
      const [row] = tableRows<{ t: string }>(
        await client.collect(sql("SELECT reflect('java.lang.System', 'getProperty', 'java.io.tmpdir') AS t")),
      );
      tmp = row!.t;
    } finally {
      await client.close();
    }
  });
  afterAll(() => {
    tp?.cleanup();
    for (const f of tmp ? readdirSync(tmp) : []) if (f.startsWith(MARK)) rmSync(join(tmp, f), { force: true });
  });

  it("interrupts the dead attempt's Spark job before removing its staging, which then stays gone", async () => {
    const child = tp.spawnCli(['run', ANALYZER, '--partition', PARTITION]);
    const exited = new Promise((r) => child.on('exit', r));
    // The attempt's Spark job is running once its sleeping task made the marker file.
    const marked = () => readdirSync(tmp).some((f) => f.startsWith(MARK));
    await waitFor(marked, 120_000, "the attempt's sleeping Spark task");
    await sleep(500);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await exited;
    const [attemptId] = staged();

    const recovered = tp.cli(['--json', 'recover']);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.json.crashedAttempts).toEqual([attemptId]);
    expect(recovered.json.removedStaging).toEqual([attemptId]);
    expect(recovered.json.interruptedAttempts, 'the Spark job the dead attempt left running').toEqual([attemptId]);

    // Watch the staging root for as long as the job would have run on (its sleep and the write after it), or,
    // with the driver's REST API, until the session's jobs ended: it must never come back.
    const ui = sparkUiUrl();
    const until = Date.now() + SLEEP_MS + 10_000;
    let jobs: JobData[] = [];
    while (Date.now() < until) {
      expect(staged(), "staging made again by the dead attempt's job").toEqual([]);
      if (ui) {
        jobs = await sessionJobs(ui, attemptSessionId(attemptId!));
        if (jobs.length > 0 && jobs.every((j) => j.status !== 'RUNNING')) break;
      }
      await sleep(100);
    }
    await sleep(2_000);
    expect(staged(), "staging made again by the dead attempt's job").toEqual([]);
    if (ui) {
      // Its jobs that had not ended when its process died were cancelled: none ran on to success.
      const cut = jobs.filter((j) => endedAt(j) >= killedAt);
      expect(cut.length, "the dead attempt's job running at the kill, by its session").toBeGreaterThan(0);
      expect(cut.map((j) => `${j.jobId} ${j.status}`).filter((s) => !s.endsWith('FAILED'))).toEqual([]);
    }
    const ctx = await tp.open();
    try {
      await assertNoOrphans(ctx.store, join(tp.dir, 'data/out'));
    } finally {
      await ctx.close();
    }
  }, 600_000);
});
