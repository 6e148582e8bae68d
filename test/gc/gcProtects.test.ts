import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../src/commit/paths.ts';
import { runGc } from '../../src/gc/runGc.ts';
import { EMBEDDED, tableState, versionStats } from '../warehouse/projectWarehouse.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// gc never removes what a reader may be about to see or already sees elsewhere: the target of a publish or
// rollback that is still pending (killed mid-way, until recovery finishes it), and the version a warehouse
// table holds after a real load through the embedded DuckDB warehouse, even when newer versions failed to load.

const H = 'ad_impressions_hourly';
const [T00, T01] = ['2023-10-12T00', '2023-10-12T01'];

describe('gc protects pending targets and loaded versions', () => {
  let tp: TestProject;
  let layout: OutputLayout;
  const dirs = new Map<string, string>();
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 1000 });
    for (const p of [T00, T00, T00, T00]) expect(tp.cli(['run', H, '--partition', p]).code).toBe(0);
    // T01 v1 is loaded into the embedded warehouse; v2 and v3 publish but cannot load (the warehouse URL names a folder).
    expect(tp.cli(['run', H, '--partition', T01]).code).toBe(0);
    mkdirSync(join(tp.dir, 'not-a-database'));
    for (let i = 0; i < 2; i++)
      expect(
        tp.cli(['run', H, '--partition', T01], { RECOUNT_WAREHOUSE: `duckdb:${join(tp.dir, 'not-a-database')}` })
          .stderr,
      ).toContain('WAREHOUSE_UNREACHABLE');
    const ctx = await tp.open();
    try {
      layout = new OutputLayout(ctx.project.outputRoot);
      for (const p of [T00, T01]) for (const v of await ctx.store.listVersions(H, p)) dirs.set(`${p} v${v.seq}`, v.dir);
      expect((await ctx.store.publishedVersion(H, T01))?.seq).toBe(3);
    } finally {
      await ctx.close();
    }
    // A rollback of T00 to v2 killed in the middle: its intent is pending, v2 (beyond K = 1) is its target.
    // (Of T00's four versions the example keeps three: v1 is gone already.)
    expect(
      tp.cli(['rollback', H, '--partition', T00, '--version', '2'], { RECOUNT_FAULT: 'during-publish' }).signal,
    ).toBe('SIGKILL');
  });
  afterAll(() => tp.cleanup());

  it('the target of a pending rollback is kept, by a dry run and by gc itself when recovery has not run', async () => {
    const dry = tp.cli(['--json', 'gc', '--keep', '1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.protected).toContainEqual({
      analyzer: H,
      partition: T00,
      version: 2,
      why: 'target of a pending rollback: the partition is left alone until it completes',
    });
    expect(dry.json.removed.filter((i: { partition?: string }) => i.partition === T00)).toEqual([]);
    // gc proper on a store whose recovery has not run (another process may be finishing the rollback right now).
    const ctx = await tp.open();
    try {
      const r = await runGc({ ...ctx, layout }, { keep: 1 });
      expect(r.removed.filter((i) => i.kind === 'version' && i.partition === T00)).toEqual([]);
      for (const seq of [2, 3, 4]) expect(existsSync(dirs.get(`${T00} v${seq}`)!), `v${seq}`).toBe(true);
      expect((await ctx.store.getVersion(H, T00, 2))?.status).toBe('retained');
    } finally {
      await ctx.close();
    }
  });

  it('the version the warehouse holds stays, and the table still holds its rows; the CLI gc finishes the rollback first', async () => {
    const r = tp.cli(['--json', 'gc', '--keep', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.recovery.rolledForward).toEqual([`${H} ${T00} v2`]);
    // T00: the killed rollback never reached the warehouse, which still holds v4; T01: it holds v1, and the
    // failed loads of v2 and v3 are recorded pending (to be retried), so v2 stays too.
    expect(r.json.protected).toEqual([
      { analyzer: H, partition: T00, version: 4, why: 'loaded in the warehouse' },
      { analyzer: H, partition: T00, version: 2, why: 'published' },
      { analyzer: H, partition: T01, version: 2, why: 'a warehouse load of it is pending' },
      { analyzer: H, partition: T01, version: 1, why: 'loaded in the warehouse' },
    ]);
    const gone = r.json.removed
      .filter((i: { kind: string }) => i.kind === 'version')
      .map((i: { partition: string; version: number }) => `${i.partition} v${i.version}`);
    expect(gone).toEqual([`${T00} v3`]);
    expect(existsSync(dirs.get(`${T00} v2`)!)).toBe(true); // rolled back to: published now
    expect(existsSync(dirs.get(`${T01} v1`)!)).toBe(true); // what the warehouse holds
    expect(existsSync(dirs.get(`${T01} v3`)!)).toBe(true); // published
    const ctx = await tp.open();
    try {
      const wh = await tableState(EMBEDDED, tp.dir, H);
      const v1 = await versionStats(ctx.store, H, T01, 1);
      expect(wh.loads.get(T01)?.version).toBe(1);
      expect(wh.stats.get(T01)).toMatchObject({ rows: v1.rows, checksum: v1.checksum });
    } finally {
      await ctx.close();
    }
  });
});
