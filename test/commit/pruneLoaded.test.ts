import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// Pruning after each publish keeps `keepVersions` versions, but never the one a warehouse table still holds:
// with keepVersions 1 and a load of the new version not done yet, the loaded version must survive.
describe('pruning after a publish', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 2000 });
  });
  afterAll(() => tp.cleanup());

  it('keeps the version the warehouse holds even beyond keepVersions, and prunes it once the warehouse moved on', async () => {
    const ctx = await tp.open();
    try {
      const a = { ...getAnalyzer(ctx.project, 'ad_impressions_hourly'), versionsToKeep: 1, load: undefined };
      const v1 = await runPartition(ctx, a, '2023-10-12T00');
      expect(v1.version).toBe(1);
      await ctx.store.loads.begin({ analyzer: a.name, partitionId: '2023-10-12T00', versionSeq: 1, table: 't' });
      await ctx.store.loads.finish(a.name, '2023-10-12T00', 1, { status: 'loaded', rows: v1.rows, checksum: 'x' });
      const v2 = await runPartition(ctx, a, '2023-10-12T00');
      expect(v2.version).toBe(2);
      const kept = await ctx.store.getVersion(a.name, '2023-10-12T00', 1);
      expect(kept!.status).toBe('retained');
      expect(existsSync(kept!.dir)).toBe(true);

      await ctx.store.loads.begin({ analyzer: a.name, partitionId: '2023-10-12T00', versionSeq: 2, table: 't' });
      await ctx.store.loads.finish(a.name, '2023-10-12T00', 2, { status: 'loaded', rows: v2.rows, checksum: 'y' });
      const v3 = await runPartition(ctx, a, '2023-10-12T00');
      expect(v3.version).toBe(3);
      const statuses = (await ctx.store.listVersions(a.name, '2023-10-12T00')).map((v) => [v.seq, v.status]);
      expect(statuses).toEqual([
        [3, 'published'],
        [2, 'retained'],
        [1, 'deleted'],
      ]);
      expect(existsSync(kept!.dir)).toBe(false);
    } finally {
      await ctx.close();
    }
  });
});
