import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/gen/events.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { fileList, lit } from '../../src/engine/sql.ts';
import { duck, type TestProject } from '../helpers/project.ts';
import { openWarehouse } from '../../src/warehouse/open.ts';
import { sweepWarehouse } from '../../src/warehouse/monitor.ts';
import { byHand, projectOn, type ProjectOnWarehouse, versionStats } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const [P0, P1, P2] = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'];

// Rows of a version as SQL VALUES, to write them into a table by hand the way a stray script would. A double goes
// as text cast to DOUBLE PRECISION, which both engines parse exactly (DuckDB reads a bare 1.25 as a DECIMAL, whose
// conversion to DOUBLE may change the last bit: a row that is no longer exactly the version's).
async function valuesOf(files: string[], hour: number): Promise<string> {
  const rows = await duck<{ v: string }>(
    `SELECT format('({}, {}, {}, CAST({} AS DOUBLE PRECISION), DATE ''2023-10-12'', {})', ad_id, ${lit("'")} || user_segment || ${lit("'")}, impression_count, ${lit("'")} || total_bid::VARCHAR || ${lit("'")}, ${hour}) AS v FROM read_parquet(${fileList(files)})`,
  );
  return rows.map((r) => r.v).join(', ');
}

// Changes behind recount's back, each in its own partition: a duplicated row, a deleted row, a stale version.
describe.each(['duckdb', 'postgres'] as const)('recount monitor (%s warehouse)', (kind) => {
  let on: ProjectOnWarehouse | undefined;
  let url: string;
  let tp: TestProject;

  beforeAll(async () => {
    on = await projectOn(kind, 'monitor', { hours: 3, rowsPerHour: 3000 });
    ({ tp, url } = on);
  });
  afterAll(async () => {
    await on?.stop();
  });

  // The same sweep `recount monitor` makes, in this process.
  const sweep = async () => {
    const ctx = await tp.open();
    const wh = await openWarehouse(url, tp.dir);
    try {
      return await sweepWarehouse(ctx.project, ctx.store, wh);
    } finally {
      await wh.close();
      await ctx.close();
    }
  };

  it('is clean after loads, then names a duplicated row, a deleted row and a stale version written by hand', async () => {
    const ctx = await tp.open();
    let v1: Awaited<ReturnType<typeof versionStats>>;
    try {
      const a = getAnalyzer(ctx.project, A);
      for (const p of [P0, P1, P2])
        expect((await runPartition(ctx, a, p)).load).toMatchObject({ status: 'loaded', version: 1 });
      v1 = await versionStats(ctx.store, A, P2, 1);
      // New input for hour 02: v2 has other keys (fewer ads), and is what the table holds after its load.
      await generateEvents({
        out: join(tp.dir, 'data/events'),
        start: P2,
        hours: 1,
        rowsPerHour: 2500,
        seed: 99,
        ads: 120,
        threads: 1,
      });
      expect((await runPartition(ctx, a, P2)).load).toMatchObject({ status: 'loaded', version: 2 });
    } finally {
      await ctx.close();
    }
    const clean = await sweep();
    expect(clean.findings).toEqual([]);
    expect(clean.tables.find((t) => t.table === A)).toMatchObject({ partitions: 3, problems: 0 });

    const dt = (h: number) => `dt = DATE '2023-10-12' AND hour = ${h}`;
    await byHand(
      url,
      tp.dir,
      `INSERT INTO ${A} SELECT * FROM ${A} WHERE ${dt(0)} ORDER BY ad_id, user_segment LIMIT 1`,
    );
    await byHand(url, tp.dir, `DELETE FROM ${A} WHERE ${dt(1)} AND ad_id = 7`);
    await byHand(url, tp.dir, `DELETE FROM ${A} WHERE ${dt(2)}`);
    await byHand(
      url,
      tp.dir,
      `INSERT INTO ${A} (ad_id, user_segment, impression_count, total_bid, dt, hour) VALUES ${await valuesOf(v1!.files, 2)}`,
    );

    const r = tp.cli(['--json', 'monitor']);
    expect(r.code).toBe(1);
    const findings = r.json.findings as {
      table: string;
      partition: string;
      problem: string;
      detail: string;
      keys?: number;
      repair: string;
      sampleKeys: { key: Record<string, string>; count: number }[];
    }[];
    const of = (p: string, problem: string) =>
      findings.find((f) => f.table === A && f.partition === p && f.problem === problem);

    const duplicated = of(P0, 'duplicate_keys');
    expect(duplicated?.sampleKeys).toEqual([
      { key: { ad_id: expect.any(String), user_segment: expect.any(String) }, count: 2 },
    ]);
    // How many keys are duplicated in all, and the command that repairs the partition.
    expect(duplicated).toMatchObject({
      keys: 1,
      detail: expect.stringContaining('1 key(s) held by more than one row'),
      repair: `recount load ${A} --partition ${P0} --force`,
    });
    const deleted = of(P1, 'missing_rows');
    expect(deleted?.sampleKeys.length).toBeGreaterThan(0);
    expect(deleted!.sampleKeys.every((k) => k.key.ad_id === '7')).toBe(true);
    expect(of(P2, 'stale_version')?.detail).toContain('its rows are those of v1, not of v2');
    expect(findings.map((f) => f.partition).every((p) => [P0, P1, P2].includes(p))).toBe(true);

    // The text form names table, partition, problem and sample keys too.
    const text = tp.cli(['monitor', A]);
    expect(text.code).toBe(1);
    for (const s of [
      A,
      P0,
      'duplicate_keys',
      `user_segment=${duplicated!.sampleKeys[0]!.key.user_segment}`,
      P1,
      'missing_rows',
      'ad_id=7',
      P2,
      'stale_version',
    ])
      expect(text.stdout).toContain(s);

    // Reloading by hand repairs every partition.
    expect(tp.cli(['load', A, '--force']).code).toBe(0);
    expect((await sweep()).findings).toEqual([]);
  });

  it('names a partition whose table still holds an older version than the published one', async () => {
    await byHand(
      url,
      tp.dir,
      `UPDATE recount_loads SET version = 1 WHERE table_name = '${A}' AND partition_id = '${P2}'`,
    );
    const r = tp.cli(['--json', 'monitor', A]);
    expect(r.code).toBe(1);
    expect(r.json.findings).toContainEqual(
      expect.objectContaining({
        partition: P2,
        problem: 'stale_version',
        detail: expect.stringContaining('holds v1, but v2 is published'),
      }),
    );
    // recount load catches a table up with what is published.
    const load = tp.cli(['--json', 'load', A]);
    expect(load.json.loads).toEqual([expect.objectContaining({ partition: P2, version: 2, status: 'loaded' })]);
    expect((await sweep()).findings).toEqual([]);
  });

  it('finds a stale version with the same keys, and a value changed by UPDATE, naming the key and the repair', async () => {
    // Two versions of hour 00 from other input with the same 10 ads: the same keys, other counts and sums.
    const ctx = await tp.open();
    let older: Awaited<ReturnType<typeof versionStats>>;
    let newer: Awaited<ReturnType<typeof versionStats>>;
    const versions: number[] = [];
    try {
      const a = getAnalyzer(ctx.project, A);
      for (const seed of [5, 6]) {
        await generateEvents({
          out: join(tp.dir, 'data/events'),
          start: P0,
          hours: 1,
          rowsPerHour: 6000,
          seed,
          ads: 10,
          threads: 1,
        });
        const r = await runPartition(ctx, a, P0);
        expect(r.load).toMatchObject({ status: 'loaded' });
        versions.push(r.version!);
      }
      older = await versionStats(ctx.store, A, P0, versions[0]!);
      newer = await versionStats(ctx.store, A, P0, versions[1]!);
    } finally {
      await ctx.close();
    }
    expect(newer.rows).toBe(older.rows);
    expect(newer.checksum).toBe(older.checksum);
    expect((await sweep()).findings).toEqual([]);

    // The table gets the older version's rows back, by hand: same keys, same count, other values.
    const dt = `dt = DATE '2023-10-12' AND hour = 0`;
    await byHand(url, tp.dir, `DELETE FROM ${A} WHERE ${dt}`);
    await byHand(
      url,
      tp.dir,
      `INSERT INTO ${A} (ad_id, user_segment, impression_count, total_bid, dt, hour) VALUES ${await valuesOf(older.files, 0)}`,
    );
    const stale = tp.cli(['--json', 'monitor', A]);
    expect(stale.code).toBe(1);
    expect(stale.json.findings).toEqual([
      expect.objectContaining({
        partition: P0,
        problem: 'stale_version',
        detail: expect.stringContaining(`its rows are those of v${versions[0]}, not of v${versions[1]}`),
        repair: `recount load ${A} --partition ${P0} --force`,
      }),
    ]);
    expect(tp.cli(['load', A, '--partition', P0, '--force']).code).toBe(0);
    expect((await sweep()).findings).toEqual([]);

    // One count and one DOUBLE sum changed by UPDATE: both keys named, nothing else reported.
    await byHand(
      url,
      tp.dir,
      `UPDATE ${A} SET impression_count = impression_count + 1000 WHERE ${dt} AND ad_id = 3 AND user_segment = 'seg_01'`,
    );
    await byHand(
      url,
      tp.dir,
      `UPDATE ${A} SET total_bid = total_bid + 0.5 WHERE ${dt} AND ad_id = 4 AND user_segment = 'seg_02'`,
    );
    const changed = await sweep();
    expect(changed.findings).toEqual([
      expect.objectContaining({
        partition: P0,
        problem: 'changed_values',
        keys: 2,
        sampleKeys: expect.arrayContaining([
          { key: { ad_id: '3', user_segment: 'seg_01' }, count: 1 },
          { key: { ad_id: '4', user_segment: 'seg_02' }, count: 1 },
        ]),
        repair: `recount load ${A} --partition ${P0} --force`,
      }),
    ]);
    const text = tp.cli(['monitor', A]);
    expect(text.code).toBe(1);
    for (const s of [
      'changed_values',
      'ad_id=3, user_segment=seg_01',
      `recount load ${A}`,
      `--partition ${P0} --force`,
    ])
      expect(text.stdout).toContain(s);
    expect(tp.cli(['load', A, '--partition', P0, '--force']).code).toBe(0);
    expect((await sweep()).findings).toEqual([]);
  });

  it('names a column changed by hand, with the ALTER TABLE that puts it back, and still checks the rows', async () => {
    await byHand(
      url,
      tp.dir,
      kind === 'postgres'
        ? `ALTER TABLE ${A} ALTER COLUMN impression_count TYPE text`
        : `ALTER TABLE ${A} ALTER impression_count TYPE VARCHAR`,
    );
    await byHand(url, tp.dir, `DELETE FROM ${A} WHERE dt = DATE '2023-10-12' AND hour = 1 AND ad_id = 7`);
    const r = tp.cli(['--json', 'monitor', A]);
    expect(r.code).toBe(1);
    const drift = (r.json.findings as { problem: string; partition: string; detail: string; repair: string }[]).filter(
      (f) => f.problem === 'schema_changed',
    );
    expect(drift).toEqual([
      expect.objectContaining({ partition: '*', detail: expect.stringContaining('column impression_count is') }),
    ]);
    expect(drift[0]!.repair).toMatch(
      /^ALTER TABLE "ad_impressions_hourly" ALTER COLUMN "impression_count" TYPE (bigint|BIGINT) USING "impression_count"::(bigint|BIGINT)$/,
    );
    expect(r.json.findings).toContainEqual(expect.objectContaining({ partition: P1, problem: 'missing_rows' }));
    // The repair given is the statement that fixes it.
    await byHand(url, tp.dir, drift[0]!.repair);
    expect(tp.cli(['load', A, '--partition', P1, '--force']).code).toBe(0);
    expect((await sweep()).findings).toEqual([]);
  });
});
