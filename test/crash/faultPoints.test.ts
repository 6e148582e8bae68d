import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { faultPoints, type FaultPoint } from '../../src/fault.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { assertPublishedComplete, assertReaderSeesOnlyCommitted, assertRecovered, cleanCopy, type PublishedView } from '../helpers/invariants.ts';

// A real `recount run` child process kills itself with SIGKILL at each named fault point (RECOUNT_FAULT);
// right after the kill a reader must still see one complete version, and the plain retry that follows must
// recover and publish exactly the rows of a fault-free run, with nothing left behind.

const ANALYZER = 'ad_impressions_hourly'; // files: 4, so the kill after the first of several files is reached
const HOURS = 10;
const hour = (h: number) => `2023-10-12T${String(h).padStart(2, '0')}`;

/** Points at which the published link already points at the new version when the process dies. */
const AFTER_SWITCH: readonly FaultPoint[] = ['after-publish', 'before-complete'];
/** Points reached only after the publish was claimed in the state store: recovery rolls them forward. */
const AFTER_CLAIM: readonly FaultPoint[] = ['after-claim', 'during-publish', ...AFTER_SWITCH];
const attemptPoints = faultPoints.filter((p) => p !== 'during-recovery');

describe('a recount run killed by SIGKILL at each fault point', () => {
  let tp: TestProject;
  let baseline: ReturnType<typeof cleanCopy>;
  let out: string;

  beforeAll(async () => {
    tp = await makeProject({ hours: HOURS, rowsPerHour: 4000 });
    out = join(tp.dir, 'data/out');
    baseline = cleanCopy(tp);
    const b = baseline.cli(['backfill', ANALYZER, '--from', hour(0), '--to', hour(HOURS - 1)]);
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

  /** Retry with a plain `recount run`, assert everything, and check how the killed attempt was recorded. */
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

  describe('while a previous version is published', () => {
    const partition = hour(0);

    async function previous(): Promise<PublishedView> {
      let view = await assertPublishedComplete(out, ANALYZER, partition);
      if (!view) {
        const first = run(partition);
        expect(first.code, first.stderr).toBe(0);
        view = await assertPublishedComplete(out, ANALYZER, partition);
      }
      return view!;
    }

    for (const point of attemptPoints) {
      const expectation = AFTER_SWITCH.includes(point) ? 'the new version is visible and complete' : 'the previous version stays visible and complete';
      it(`${point}: ${expectation}; the retry publishes the fault-free rows and leaves no orphans`, async () => {
        const prev = await previous();
        const before = await attemptIds(partition);

        const killed = run(partition, point);
        expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');

        const now = await assertPublishedComplete(out, ANALYZER, partition);
        if (AFTER_SWITCH.includes(point)) {
          expect(now?.version).toBe(prev.version + 1);
          expect(now?.manifest.attemptId).not.toBe(prev.manifest.attemptId);
          // _SUCCESS follows the switch: absent if the process died right after it, present just before completion.
          expect(now?.success).toBe(point === 'before-complete');
        } else {
          expect(now?.version).toBe(prev.version);
          expect(now?.manifest.attemptId).toBe(prev.manifest.attemptId);
          expect(now?.success).toBe(true);
        }
        await assertReaderSeesOnlyCommitted(out, ANALYZER);

        await retryAndAssert(partition, before, { point, seq: prev.version + 1 });
      });
    }

    it('during-recovery: a recovery killed twice while finishing an interrupted publish still rolls it forward on the next start', async () => {
      const prev = await previous();
      const before = await attemptIds(partition);

      const claimed = run(partition, 'after-claim');
      expect(claimed.signal, claimed.stderr).toBe('SIGKILL');
      expect((await assertPublishedComplete(out, ANALYZER, partition))?.version).toBe(prev.version);

      // Recovery runs at the start of every command: this one dies inside it, after moving the staged files
      // to their version folder; the second dies there again, now with the folder already in place.
      for (let i = 0; i < 2; i++) {
        const recovering = run(partition, 'during-recovery');
        expect(recovering.signal, recovering.stderr).toBe('SIGKILL');
        const now = await assertPublishedComplete(out, ANALYZER, partition);
        expect(now?.version).toBe(prev.version);
        expect(now?.manifest.attemptId).toBe(prev.manifest.attemptId);
        await assertReaderSeesOnlyCommitted(out, ANALYZER);
      }

      await retryAndAssert(partition, before, { point: 'after-claim', seq: prev.version + 1 });
    });
  });

  describe('during the first publish of a partition', () => {
    // Each kill is retried before the next: a pending intent left by one would make the next command die
    // in its recovery (which passes the same fault points) instead of in its own attempt.
    attemptPoints.forEach((point, i) => {
      const partition = hour(i + 1);
      const expectation = AFTER_SWITCH.includes(point) ? 'the first version is visible and complete' : 'nothing is visible';
      it(`${point}: ${expectation}; the retry publishes the fault-free rows and leaves no orphans`, async () => {
        const killed = run(partition, point);
        expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');

        const now = await assertPublishedComplete(out, ANALYZER, partition);
        if (AFTER_SWITCH.includes(point)) {
          expect(now?.version).toBe(1);
          expect(now?.success).toBe(point === 'before-complete');
        } else {
          expect(now).toBeUndefined();
        }
        await assertReaderSeesOnlyCommitted(out, ANALYZER);

        await retryAndAssert(partition, new Set(), { point, seq: 1 });
      });
    });
  });
});
