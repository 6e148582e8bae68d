import { afterAll, beforeAll, expect } from 'vitest';
import { join } from 'node:path';
import type { FaultPoint } from '../../src/fault.ts';
import { makeProject, type TestProject, type TestProjectOptions } from '../helpers/project.ts';
import { assertRecovered, cleanCopy, type PublishedView } from '../helpers/invariants.ts';

/** The analyzer the fault-point tests kill: files: 4, so the kill after the first of several files is reached. */
export const ANALYZER = 'ad_impressions_hourly';

/** Partition id of hour h of the test day. */
export const hour = (h: number) => `2023-10-12T${String(h).padStart(2, '0')}`;

/** Points at which the published link already points at the new version when the process dies. */
export const AFTER_SWITCH: readonly FaultPoint[] = ['after-publish', 'before-complete'];
/** Points reached only after the publish was claimed in the state store: recovery rolls them forward. */
export const AFTER_CLAIM: readonly FaultPoint[] = ['after-claim', 'during-publish', ...AFTER_SWITCH];
/** The commit protocol's points, in the order an attempt passes them (warehouse loads and memory have their own tests). */
export const ATTEMPT_POINTS: readonly FaultPoint[] = ['during-query', 'after-first-file-staged', 'after-files-staged', 'after-manifest', 'after-claim', 'during-publish', 'after-publish', 'before-complete'];

/** A project under test plus a fault-free copy of it whose published output is the I2 baseline. */
export interface CrashProject {
  readonly tp: TestProject;
  readonly out: string;
  /** `recount --json run` of one partition, armed with a fault point or not. */
  run(partition: string, fault?: FaultPoint): ReturnType<TestProject['cli']>;
  /** Attempt ids recorded so far for a partition. */
  attemptIds(partition: string): Promise<Set<string>>;
  /** Retry with a plain `recount run`, assert I1, I2, I4 and no orphans, and check how the killed attempt was recorded. */
  retryAndAssert(partition: string, before: Set<string>, killed: { point: FaultPoint; seq: number }): Promise<PublishedView>;
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

  const run = (partition: string, fault?: FaultPoint) => tp.cli(['--json', 'run', ANALYZER, '--partition', partition], fault ? { RECOUNT_FAULT: fault } : undefined);

  async function attemptIds(partition: string): Promise<Set<string>> {
    const ctx = await tp.open();
    try {
      return new Set((await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: partition })).map((a) => a.attempt_id));
    } finally {
      await ctx.close();
    }
  }

  async function retryAndAssert(partition: string, before: Set<string>, killed: { point: FaultPoint; seq: number }): Promise<PublishedView> {
    const retry = run(partition);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.json.status).toBe('succeeded');
    const view = await assertRecovered(tp, { analyzer: ANALYZER, partition, baselineOutput: join(baseline.dir, 'data/out') });
    expect(view.version).toBe(retry.json.version);
    expect(view.manifest.attemptId).toBe(retry.json.attemptId);

    const ctx = await tp.open();
    try {
      const fresh = (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: partition })).filter((a) => !before.has(a.attempt_id) && a.attempt_id !== retry.json.attemptId);
      expect(fresh, 'the killed attempt is recorded').toHaveLength(1);
      const victim = fresh[0]!;
      if (AFTER_CLAIM.includes(killed.point)) {
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

  return {
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
