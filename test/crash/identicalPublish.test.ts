import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAnalyzer } from '../../src/config/project.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { recover } from '../../src/commit/recovery.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { assertNoOrphans, assertPublishedComplete } from '../helpers/invariants.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

const A = 'ad_impressions_hourly';
const P = '2023-10-12T00';

// The daemon-crash race behind "publish nothing twice": attempt A claims the publish and dies (its daemon was
// killed); the restarted daemon finds nothing published yet and starts attempt B; recovery then rolls A forward.
// B, run by the daemon (not asked for by a user), must not publish a second, identical version on top of it.
describe('an attempt whose identical version was published while it ran', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 60_000 });
  });
  afterAll(() => tp?.cleanup());

  it('is superseded, not published as v2, when the daemon queued it; a user’s run still publishes v2', async () => {
    const killed = tp.cli(['run', A, '--partition', P], { RECOUNT_FAULT: 'after-claim' });
    expect(killed.signal).toBe('SIGKILL');

    const ctx = await tp.open();
    try {
      const analyzer = getAnalyzer(ctx.project, A);
      // B begins while A's publish is still pending (so B's base is A's claimed version) ...
      const b = runPartition(ctx, analyzer, P, { trigger: 'new-data' });
      // ... and recovery rolls A forward before B reaches its own publish.
      const rec = await recover(ctx.store, new OutputLayout(ctx.project.outputRoot));
      expect(rec.rolledForward).toHaveLength(1);
      const r = await b;
      expect(r.status, r.warnings.join('; ')).toBe('superseded');
      expect(r.warnings.at(-1)).toMatch(/identical version v1 \(same input and SQL\) was published meanwhile/);
      expect((await ctx.store.listVersions(A, P)).map((v) => [v.seq, v.status])).toEqual([[1, 'published']]);
      await assertPublishedComplete(join(tp.dir, 'data/out'), A, P);
      // B's staged files are gone with it.
      await assertNoOrphans(ctx.store, join(tp.dir, 'data/out'));

      // Asked for by a user (recount run), the same input publishes a new version: that is what run means.
      const again = await runPartition(ctx, analyzer, P, { trigger: 'run' });
      expect(again).toMatchObject({ status: 'succeeded', version: 2 });
    } finally {
      await ctx.close();
    }
  });
});
