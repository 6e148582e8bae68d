import { describe, expect, it } from 'vitest';
import { assertPublishedComplete, assertReaderSeesOnlyCommitted } from '../helpers/invariants.ts';
import { ANALYZER, hour, useCrashProject } from './harness.ts';

// A kill after the publish's intent completed and before the attempt is recorded as finished (pruning big
// folders, recording the outcome): the version is published, so recovery must record the attempt as succeeded
// with that version, never "crashed … nothing of this attempt was published".

describe('a recount run killed by SIGKILL after its intent completed (after-intent-complete)', () => {
  const cp = useCrashProject(1);
  const partition = hour(0);

  it('its version is published and ready; recovery records the attempt as succeeded; the retry publishes the fault-free rows', async () => {
    const first = cp.run(partition);
    expect(first.code, first.stderr).toBe(0);
    const prev = (await assertPublishedComplete(cp.out, ANALYZER, partition))!;
    const before = await cp.attemptIds(partition);

    const killed = cp.run(partition, 'after-intent-complete');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const now = await assertPublishedComplete(cp.out, ANALYZER, partition);
    expect(now?.version).toBe(prev.version + 1);
    expect(now?.success).toBe(true);
    await assertReaderSeesOnlyCommitted(cp.out, ANALYZER);

    // gc --dry-run (read-only) plans the same: nothing to mark as crashed.
    const plan = cp.tp.cli(['--json', 'gc', '--dry-run']);
    expect(plan.json?.recovery, plan.stderr).toMatchObject({ ran: false, crashedAttempts: [] });

    const recovered = cp.tp.cli(['--json', 'recover']);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.json.crashedAttempts).toEqual([]);
    expect(recovered.json.finishedAttempts).toHaveLength(1);
    const ctx = await cp.tp.open();
    try {
      const victim = (await ctx.store.getAttempt(recovered.json.finishedAttempts[0]))!;
      expect(before.has(victim.attempt_id)).toBe(false);
      expect([victim.status, victim.version_seq, victim.error_code]).toEqual(['succeeded', prev.version + 1, null]);
    } finally {
      await ctx.close();
    }

    await cp.retryAndAssert(partition, before, { point: 'after-intent-complete', seq: prev.version + 1 });
  });
});
