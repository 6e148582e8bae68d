import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

  it('keeps the version the warehouse holds when the store has more than 100,000 load records before it', async () => {
    // Other partitions' loads, sorted before this analyzer's: the prune once read the store's first 100,000
    // load records only, missed this partition's, and deleted the version its warehouse table held.
    const db = new Database(join(tp.dir, '.recount/state.db'));
    try {
      const add = db.prepare(
        `INSERT INTO loads (analyzer, partition_id, version_seq, table_name, status, tries, requested_at)
         VALUES ('aaa_other', ?, 1, 'aaa_other', 'loaded', 1, '2023-10-12T00:00:00.000Z')`,
      );
      db.transaction(() => {
        for (let i = 0; i < 100_001; i++) add.run(`p${String(i).padStart(6, '0')}`);
      })();
    } finally {
      db.close();
    }
    const ctx = await tp.open();
    try {
      const a = { ...getAnalyzer(ctx.project, 'ad_impressions_hourly'), versionsToKeep: 1, load: undefined };
      const p = '2023-10-12T00';
      const held = (await ctx.store.publishedVersion(a.name, p))!;
      await ctx.store.loads.begin({ analyzer: a.name, partitionId: p, versionSeq: held.seq, table: 't' });
      await ctx.store.loads.finish(a.name, p, held.seq, { status: 'loaded', rows: 1, checksum: 'z' });
      const next = await runPartition(ctx, a, p);
      expect(next.version).toBe(Number(held.seq) + 1);
      const kept = await ctx.store.getVersion(a.name, p, held.seq);
      expect(kept!.status).toBe('retained');
      expect(existsSync(kept!.dir)).toBe(true);
    } finally {
      await ctx.close();
    }
  });
});
