import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getAnalyzer } from '../../src/config/project.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { rollbackPartition } from '../../src/commit/rollback.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import type { StateStore } from '../../src/state/store.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { assertNoOrphans, assertPublishedComplete } from '../helpers/invariants.ts';

// Pruning old versions happens after the switch. A fault there (the state store failing, or the process dying
// between recording a deletion and removing the folder) must never leave a version listed as kept whose files
// are gone or partial, because rollback would publish it; nor fail an attempt whose version is already published.

const ANALYZER = 'ad_impressions_hourly';
const PARTITION = '2023-10-12T00';

/** The real state store, whose markVersionDeleted fails once: before recording, or after (as if the process died then). */
function failingDeletion(store: StateStore, when: 'before' | 'after'): StateStore {
  let failed = false;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== 'markVersionDeleted') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<StateStore['markVersionDeleted']>) => {
        if (failed) return target.markVersionDeleted(...args);
        failed = true;
        if (when === 'after') await target.markVersionDeleted(...args);
        throw new Error('state store unreachable');
      };
    },
  });
}

describe('a fault while pruning old versions', () => {
  let tp: TestProject;
  let ctx: Awaited<ReturnType<TestProject['open']>>;
  const out = () => join(tp.dir, 'data/out');

  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 2000 });
    ctx = await tp.open();
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  const run = (store: StateStore = ctx.store) => runPartition({ ...ctx, store }, getAnalyzer(ctx.project, ANALYZER), PARTITION);

  /** Publish until one retained version is beyond keepVersions at the next publish. */
  async function fillVersions(): Promise<number> {
    const keep = getAnalyzer(ctx.project, ANALYZER).versionsToKeep;
    for (;;) {
      const kept = (await ctx.store.listVersions(ANALYZER, PARTITION)).filter((v) => v.status === 'published' || v.status === 'retained');
      if (kept.length >= keep) return kept.at(-1)!.seq;
      expect((await run()).status).toBe('succeeded');
    }
  }

  it('a state store failure before the deletion is recorded keeps the oldest version whole and the publish succeeded', async () => {
    const oldest = await fillVersions();
    const r = await run(failingDeletion(ctx.store, 'before'));
    expect(r.status, r.error?.message).toBe('succeeded');
    expect(r.warnings.join('\n')).toContain('state store unreachable');
    expect((await assertPublishedComplete(out(), ANALYZER, PARTITION))?.version).toBe(r.version);
    expect((await ctx.store.getVersion(ANALYZER, PARTITION, oldest))?.status).toBe('retained');
    await assertNoOrphans(ctx.store, out());

    // The oldest version is still a valid rollback target, and the next publish prunes it.
    expect((await run()).status).toBe('succeeded');
    expect((await ctx.store.getVersion(ANALYZER, PARTITION, oldest))?.status).toBe('deleted');
    await assertNoOrphans(ctx.store, out());
  });

  it('a process that dies after recording the deletion leaves a folder no rollback can publish, removed at the next publish', async () => {
    const oldest = await fillVersions();
    const layout = new OutputLayout(ctx.project.outputRoot);
    const dir = layout.versionDir(ANALYZER, PARTITION, oldest);
    const r = await run(failingDeletion(ctx.store, 'after'));
    expect(r.status, r.error?.message).toBe('succeeded');
    expect((await ctx.store.getVersion(ANALYZER, PARTITION, oldest))?.status).toBe('deleted');
    await expect(rollbackPartition(ctx.store, layout, ANALYZER, PARTITION, oldest)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });

    expect((await run()).status).toBe('succeeded');
    expect(existsSync(dir), `${dir} removed`).toBe(false);
    await assertNoOrphans(ctx.store, out());
  });
});
