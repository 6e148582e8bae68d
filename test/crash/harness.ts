import { afterAll, beforeAll, expect } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../src/commit/paths.ts';
import type { FaultPoint } from '../../src/fault.ts';
import { makeProject, type TestProject, type TestProjectOptions } from '../helpers/project.ts';
import { assertRecovered, cleanCopy, type PublishedView } from '../helpers/invariants.ts';
import { answerSql, startReaderProcess, type ReaderTally } from '../helpers/readers.ts';
import { duck } from '../helpers/project.ts';
import { lit } from '../../src/engine/sql.ts';

/** The analyzer the fault-point tests kill: files: 4, so the kill after the first of several files is reached. */
export const ANALYZER = 'ad_impressions_hourly';

/** Partition id of hour h of the test day. */
export const hour = (h: number) => `2023-10-12T${String(h).padStart(2, '0')}`;

/** Points at which the published link already points at the new version when the process dies. */
export const AFTER_SWITCH: readonly FaultPoint[] = ['after-publish', 'before-complete'];
/** Points after the intent completed (the version is published) but before the attempt is recorded as finished. */
export const AFTER_COMPLETE: readonly FaultPoint[] = ['after-intent-complete', 'during-prune'];
/** Points reached only after the publish was claimed in the state store: recovery rolls them forward. */
export const AFTER_CLAIM: readonly FaultPoint[] = ['after-claim', 'during-publish', ...AFTER_SWITCH];
/** The commit protocol's points, in the order an attempt passes them (warehouse loads and memory have their own tests). */
export const ATTEMPT_POINTS: readonly FaultPoint[] = [
  'during-query',
  'after-first-file-staged',
  'after-files-staged',
  'after-manifest',
  'after-claim',
  'during-publish',
  'after-publish',
  'before-complete',
];

/** Bytes of the Parquet files in every attempt's staging folder under an output root (before recovery cleans them). */
export function stagedParquetBytes(outputRoot: string): number {
  const root = new OutputLayout(outputRoot).stagingRoot;
  if (!existsSync(root)) return 0;
  let bytes = 0;
  for (const attempt of readdirSync(root)) {
    // Recursive: on one thread a layout's files are first written into bucket folders of the staging (duckdbLayout.ts).
    for (const f of readdirSync(join(root, attempt), { recursive: true }).map(String))
      if (f.endsWith('.parquet')) bytes += statSync(join(root, attempt, f)).size;
  }
  return bytes;
}

/** A project under test plus a fault-free copy of it whose published output is the I2 baseline. */
export interface CrashProject {
  readonly tp: TestProject;
  readonly out: string;
  /** `recount --json run` of one partition, armed with a fault point or not. */
  run(partition: string, fault?: FaultPoint): ReturnType<TestProject['cli']>;
  /** Attempt ids recorded so far for a partition. */
  attemptIds(partition: string): Promise<Set<string>>;
  /** Retry with a plain `recount run`, assert I1, I2, I4 and no orphans, and check how the killed attempt was recorded. */
  retryAndAssert(
    partition: string,
    before: Set<string>,
    killed: { point: FaultPoint; seq: number },
  ): Promise<PublishedView>;
  /**
   * Start two readers of `partition` in their own processes — one through the README's glob, one through the files
   * `recount files` resolves — that read until stopped; stop() asserts I1 over everything they saw (see assertReadersI1).
   */
  startReaders(partition: string): Promise<{ stop(): Promise<ReaderTally[]> }>;
}

/** Columns a crash-suite reader sums: integers, so every complete version of the same input gives the same answer. */
const READ_A = 'ad_id';
const READ_B = 'impression_count';

/**
 * I1 over what concurrent readers saw: no answer that is not a complete version's (nor one read from two versions'
 * files), no error but a loud "file not found" from the glob, none at all for readers of the exact files.
 */
export function assertReadersI1(tallies: readonly ReaderTally[], where: string): void {
  const report = `${where}: ${JSON.stringify(tallies)}`;
  if (process.env.RECOUNT_READERS_REPORT) console.log(report);
  for (const t of tallies) {
    expect(t.answers + t.loudErrors, report).toBeGreaterThan(0);
    expect(t.mixed, report).toBe(0);
    expect(t.otherErrors, report).toBe(0);
    if (!t.name.startsWith('glob')) expect(t.loudErrors, report).toBe(0);
  }
}

/**
 * Set up (in beforeAll) a project with `hours` of events and its fault-free baseline; torn down in afterAll.
 * `options` (called in beforeAll) changes the project, e.g. a config that runs it on Spark.
 */
export function useCrashProject(hours: number, options: () => TestProjectOptions = () => ({})): CrashProject {
  let tp: TestProject;
  let baseline: ReturnType<typeof cleanCopy>;

  beforeAll(async () => {
    tp = await makeProject({ hours, rowsPerHour: 4000, ...options() });
    baseline = cleanCopy(tp);
    const b = baseline.cli(['backfill', ANALYZER, '--from', hour(0), '--to', hour(hours - 1)]);
    expect(b.code, b.stderr).toBe(0);
  });
  afterAll(() => {
    tp?.cleanup();
    baseline?.cleanup();
  });

  const run = (partition: string, fault?: FaultPoint) =>
    tp.cli(['--json', 'run', ANALYZER, '--partition', partition], fault ? { RECOUNT_FAULT: fault } : undefined);

  async function attemptIds(partition: string): Promise<Set<string>> {
    const ctx = await tp.open();
    try {
      return new Set(
        (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: partition })).map((a) => a.attempt_id),
      );
    } finally {
      await ctx.close();
    }
  }

  async function retryAndAssert(
    partition: string,
    before: Set<string>,
    killed: { point: FaultPoint; seq: number },
  ): Promise<PublishedView> {
    const retry = run(partition);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.json.status).toBe('succeeded');
    const view = await assertRecovered(tp, {
      analyzer: ANALYZER,
      partition,
      baselineOutput: join(baseline.dir, 'data/out'),
    });
    expect(view.version).toBe(retry.json.version);
    expect(view.manifest.attemptId).toBe(retry.json.attemptId);

    const ctx = await tp.open();
    try {
      const fresh = (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: partition })).filter(
        (a) => !before.has(a.attempt_id) && a.attempt_id !== retry.json.attemptId,
      );
      expect(fresh, 'the killed attempt is recorded').toHaveLength(1);
      const victim = fresh[0]!;
      if (AFTER_COMPLETE.includes(killed.point)) {
        // Published before the kill: recovery records the attempt as succeeded with its version, never as crashed.
        expect([victim.status, victim.version_seq, victim.error_code]).toEqual(['succeeded', killed.seq, null]);
        expect(view.version).toBe(killed.seq + 1);
        expect((await ctx.store.getVersion(ANALYZER, partition, killed.seq))?.status).toBe('retained');
      } else if (AFTER_CLAIM.includes(killed.point)) {
        // Its intent was recorded, so recovery finished its publish; the retry then published the next version.
        expect([victim.status, victim.version_seq]).toEqual(['succeeded', killed.seq]);
        expect(retry.stderr).toContain('recovered interrupted publish');
        expect(view.version).toBe(killed.seq + 1);
        expect((await ctx.store.getVersion(ANALYZER, partition, killed.seq))?.status).toBe('retained');
      } else {
        expect(victim.status).toBe('crashed');
        expect(victim.error_code).toBe('CRASHED');
        expect(view.version).toBe(killed.seq);
      }
    } finally {
      await ctx.close();
    }
    return view;
  }

  let completeAnswer: string | undefined;
  async function startReaders(partition: string) {
    if (!completeAnswer) {
      const p = `${partition.slice(0, 10)}`;
      const glob = join(baseline.dir, 'data/out', ANALYZER, `dt=${p}`, '*', '*.parquet');
      completeAnswer = (
        await duck<{ answer: string }>(
          answerSql(`read_parquet(${lit(glob)}, hive_partitioning = false)`, READ_A, READ_B),
        )
      )[0]!.answer;
    }
    // A pause between reads leaves the killed run and the retry most of the 2 cores; still hundreds of reads per point.
    const common = { complete: [completeAnswer], a: READ_A, b: READ_B, pauseMs: 10 };
    const out = join(tp.dir, 'data/out');
    const readers = [
      startReaderProcess({ ...common, mode: 'glob', name: 'glob', glob: join(out, ANALYZER, '*/*/*.parquet') }),
      startReaderProcess({ ...common, mode: 'files', name: 'files', outputRoot: out, analyzer: ANALYZER, partition }),
    ];
    await Promise.all(readers.map((r) => r.ready));
    return { stop: () => Promise.all(readers.map((r) => r.stop())) };
  }

  return {
    startReaders,
    get tp() {
      return tp;
    },
    get out() {
      return join(tp.dir, 'data/out');
    },
    run,
    attemptIds,
    retryAndAssert,
  };
}
