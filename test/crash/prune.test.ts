import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import type { StateStore } from '../../src/state/store.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { assertNoOrphans, assertPublishedComplete, assertReaderSeesOnlyCommitted } from '../helpers/invariants.ts';
import { ANALYZER, hour, useCrashProject } from './harness.ts';

// Pruning old versions happens after the switch. A fault there (the state store failing, or the process dying
// between recording a deletion and removing the folder) must never leave a version listed as kept whose files
// are gone or partial, because rollback would publish it; nor fail an attempt whose version is already published.

const PARTITION = hour(0);

/** The real state store, whose deletion record fails once before anything is recorded (an unreachable store). */
function failingDeletion(store: StateStore): StateStore {
  let failed = false;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== 'deleteVersionUnlessClaimed') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<StateStore['deleteVersionUnlessClaimed']>) => {
        if (failed) return target.deleteVersionUnlessClaimed(...args);
        failed = true;
        throw new Error('state store unreachable');
      };
    },
  });
}

describe('a state store failure while pruning old versions', () => {
  let tp: TestProject;
  let ctx: Awaited<ReturnType<TestProject['open']>>;

  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 2000 });
    ctx = await tp.open();
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  const run = (store: StateStore = ctx.store) =>
    runPartition({ ...ctx, store }, getAnalyzer(ctx.project, ANALYZER), PARTITION);

  it('before the deletion is recorded keeps the oldest version whole and the publish succeeded', async () => {
    const keep = getAnalyzer(ctx.project, ANALYZER).versionsToKeep;
    for (;;) {
      const kept = (await ctx.store.listVersions(ANALYZER, PARTITION)).filter(
        (v) => v.status === 'published' || v.status === 'retained',
      );
      if (kept.length >= keep) break;
      expect((await run()).status).toBe('succeeded');
    }
    const oldest = (await ctx.store.listVersions(ANALYZER, PARTITION))
      .filter((v) => v.status === 'retained')
      .at(-1)!.seq;
    const r = await run(failingDeletion(ctx.store));
    expect(r.status, r.error?.message).toBe('succeeded');
    expect(r.warnings.join('\n')).toContain('state store unreachable');
    const out = ctx.project.outputRoot;
    expect((await assertPublishedComplete(out, ANALYZER, PARTITION))?.version).toBe(r.version);
    expect((await ctx.store.getVersion(ANALYZER, PARTITION, oldest))?.status).toBe('retained');
    await assertNoOrphans(ctx.store, out);

    // The oldest version is still a valid rollback target, and the next publish prunes it.
    expect((await run()).status).toBe('succeeded');
    expect((await ctx.store.getVersion(ANALYZER, PARTITION, oldest))?.status).toBe('deleted');
    await assertNoOrphans(ctx.store, out);
  });
});

describe('a recount run killed by SIGKILL while pruning (during-prune)', () => {
  const cp = useCrashProject(1);

  it('its version stays published and ready, the version being removed is no rollback target, recovery records the attempt as succeeded, and the retry leaves no orphans', async () => {
    // Publish until the next publish prunes one version.
    let keep = 0;
    for (;;) {
      const ctx = await cp.tp.open();
      const kept = (await ctx.store.listVersions(ANALYZER, PARTITION)).filter(
        (v) => v.status === 'published' || v.status === 'retained',
      );
      keep = getAnalyzer(ctx.project, ANALYZER).versionsToKeep;
      await ctx.close();
      if (kept.length >= keep) break;
      const r = cp.run(PARTITION);
      expect(r.code, r.stderr).toBe(0);
    }
    const prev = (await assertPublishedComplete(cp.out, ANALYZER, PARTITION))!;
    const before = await cp.attemptIds(PARTITION);
    let ctx = await cp.tp.open();
    const oldest = (await ctx.store.listVersions(ANALYZER, PARTITION)).filter((v) => v.status === 'retained').at(-1)!;
    await ctx.close();

    const killed = cp.run(PARTITION, 'during-prune');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');

    // Right after the kill: the new version is published, complete and ready; readers see only committed versions.
    const now = await assertPublishedComplete(cp.out, ANALYZER, PARTITION);
    expect(now?.version).toBe(prev.version + 1);
    expect(now?.success).toBe(true);
    await assertReaderSeesOnlyCommitted(cp.out, ANALYZER);
    ctx = await cp.tp.open();
    try {
      // Recorded as deleted before its folder went: never listed as kept with its files half gone.
      expect((await ctx.store.getVersion(ANALYZER, PARTITION, oldest.seq))?.status).toBe('deleted');
    } finally {
      await ctx.close();
    }

    // The next command recovers: the killed attempt published its version, so it succeeded; the pruned version is
    // no rollback target.
    const rollback = cp.tp.cli([
      '--json',
      'rollback',
      ANALYZER,
      '--partition',
      PARTITION,
      '--version',
      String(oldest.seq),
    ]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
    expect(rollback.stdout + rollback.stderr).toContain('VERSION_NOT_FOUND');
    ctx = await cp.tp.open();
    try {
      const victim = (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: PARTITION })).find(
        (a) => !before.has(a.attempt_id),
      )!;
      expect([victim.status, victim.version_seq]).toEqual(['succeeded', prev.version + 1]);
    } finally {
      await ctx.close();
    }

    // The retry publishes the fault-free rows and removes what the kill left of the pruned folder.
    await cp.retryAndAssert(PARTITION, before, { point: 'during-prune', seq: prev.version + 1 });
  });
});
