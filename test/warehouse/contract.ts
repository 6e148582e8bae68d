import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { RecountError } from '../../src/errors.ts';
import { checksumsOf, hashText, keyPlan, valuePlan } from '../../src/warehouse/checksum.ts';
import { readVersion, versionChecksum } from '../../src/warehouse/scratchDuckdb.ts';
import type { LoadResult, TableRecord, VersionSource, Warehouse } from '../../src/warehouse/warehouse.ts';
import { ident } from '../../src/engine/sql.ts';
import { duck, tempDir } from '../helpers/project.ts';
import { adRows, writeVersion } from './versions.ts';

/** What the contract needs from one warehouse implementation. */
export interface WarehouseHarness {
  readonly kind: 'duckdb' | 'postgres';
  /** A new connection to the warehouse under test. */
  open(): Promise<Warehouse>;
  /** Run SQL on the warehouse behind recount's back, as a person or another program would. */
  tamper(sql: string): Promise<void>;
  /** SQL to read a column as text in this warehouse's dialect. */
  text(column: string): string;
  teardown(): Promise<void>;
}

/** Rows and key checksum of a version computed straight from its Parquet files, independently of any warehouse. */
async function expectedOf(v: VersionSource): Promise<{ rows: number; checksum: string }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return await versionChecksum(conn, v.files, keyPlan(v.columns, v.keys));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function catchError(p: Promise<unknown>): Promise<RecountError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RecountError);
    return err as RecountError;
  }
  throw new Error('expected the call to fail');
}

/**
 * The Warehouse contract: the same behaviour asserted against every implementation, each a real database
 * (a DuckDB file; a PostgreSQL server started from npm). `setup` starts one and returns its harness.
 */
export function warehouseContract(name: string, setup: () => Promise<WarehouseHarness>): void {
  describe(`Warehouse contract: ${name}`, () => {
    let h: WarehouseHarness;
    let wh: Warehouse;
    let root: string;
    let n = 0;
    const tableName = () => `t_${++n}`;
    const target = (table: string, grain: 'hour' | 'day' = 'hour') => ({ name: table, analyzer: 'contract', grain });
    const record = (table: string, v: VersionSource): TableRecord => ({
      table,
      analyzer: 'contract',
      grain: v.partition.grain,
      keys: [...v.keys],
      columns: [...v.columns],
    });
    const version = (
      partition: string,
      seq: number,
      sql: string,
      keys = ['ad_id', 'segment'],
      grain: 'hour' | 'day' = 'hour',
    ) => writeVersion(root, { partition, version: seq, sql, keys, grain });
    const count = async (table: string, where = 'true') =>
      Number((await wh.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0]!.n);

    beforeAll(async () => {
      h = await setup();
      wh = await h.open();
      root = tempDir('recount-wh-versions-');
    });
    afterAll(async () => {
      await wh?.close();
      await h?.teardown();
      rmSync(root, { recursive: true, force: true });
    });

    it('loads a version into a new table with its partition columns, reconciled and recorded in recount_loads', async () => {
      const t = tableName();
      const v = await version('2023-10-12T09', 1, adRows(40));
      const r = await wh.load({ table: target(t), source: v });
      expect(r).toMatchObject({
        status: 'loaded',
        table: t,
        partition: '2023-10-12T09',
        version: 1,
        previousVersion: null,
        rows: 40,
        tableCreated: true,
      });
      const expected = await expectedOf(v);
      expect(r.checksum).toBe(expected.checksum);
      expect((await wh.columns(t))!.map((c) => c.name)).toEqual([
        'ad_id',
        'segment',
        'impressions',
        'total_bid',
        'dt',
        'hour',
      ]);
      const got = await wh.query<Record<string, string>>(
        `SELECT ${h.text('ad_id')} AS ad_id, segment, ${h.text('impressions')} AS impressions, total_bid, ${h.text('dt')} AS dt, ${h.text('hour')} AS hour FROM ${t} ORDER BY ad_id, segment`,
      );
      const want = await duck<Record<string, string>>(
        `SELECT ad_id::VARCHAR AS ad_id, segment, impressions::VARCHAR AS impressions, total_bid FROM ${readVersion(v.files)} ORDER BY ad_id, segment`,
      );
      expect(
        got.map((g) => ({
          ad_id: g.ad_id,
          segment: g.segment,
          impressions: g.impressions,
          total_bid: Number(g.total_bid),
        })),
      ).toEqual(
        want.map((w) => ({
          ad_id: w.ad_id,
          segment: w.segment,
          impressions: w.impressions,
          total_bid: Number(w.total_bid),
        })),
      );
      expect(new Set(got.map((g) => `${g.dt} ${g.hour}`))).toEqual(new Set(['2023-10-12 9']));
      expect(await wh.loads(t)).toEqual([
        {
          table: t,
          partition: '2023-10-12T09',
          analyzer: 'contract',
          version: 1,
          rows: 40,
          checksum: expected.checksum,
          loadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ]);
      expect(await wh.tables()).toContainEqual({
        table: t,
        analyzer: 'contract',
        grain: 'hour',
        keys: ['ad_id', 'segment'],
        columns: v.columns,
      });
    });

    it('loading the version the table holds is a no-op; force reloads it', async () => {
      const t = tableName();
      const v = await version('2023-10-12T09', 1, adRows(40));
      await wh.load({ table: target(t), source: v });
      const [before] = await wh.loads(t);
      await h.tamper(`DELETE FROM ${t} WHERE ad_id = 1 AND segment = 'seg_0'`);
      const again = await wh.load({ table: target(t), source: v });
      expect(again).toMatchObject({ status: 'unchanged', previousVersion: 1, rows: 40 });
      expect(await count(t)).toBe(39);
      expect(await wh.loads(t)).toEqual([before]);
      const forced = await wh.load({ table: target(t), source: v, force: true });
      expect(forced).toMatchObject({ status: 'loaded', previousVersion: 1, rows: 40, checksum: before!.checksum });
      expect(await count(t)).toBe(40);
    });

    it('a new version replaces exactly its own partition; the others keep their rows', async () => {
      const t = tableName();
      const p09v1 = await version('2023-10-12T09', 1, adRows(40));
      const p10v1 = await version('2023-10-12T10', 1, adRows(30, 3));
      const p09v2 = await version('2023-10-12T09', 2, adRows(25, 5));
      await wh.load({ table: target(t), source: p09v1 });
      const r10 = await wh.load({ table: target(t), source: p10v1 });
      const r = await wh.load({ table: target(t), source: p09v2 });
      expect(r).toMatchObject({ status: 'loaded', version: 2, previousVersion: 1, rows: 25, tableCreated: false });
      const stats = await wh.partitionStats(record(t, p09v2));
      expect(stats).toEqual([
        { partition: '2023-10-12T09', rows: 25, checksum: (await expectedOf(p09v2)).checksum },
        { partition: '2023-10-12T10', rows: 30, checksum: r10.checksum },
      ]);
      expect(
        Number((await wh.query<{ s: string }>(`SELECT sum(impressions) AS s FROM ${t} WHERE hour = 9`))[0]!.s),
      ).toBe(Array.from({ length: 25 }, (_, i) => i * 7 + 5).reduce((a, b) => a + b, 0));
      expect((await wh.loads(t)).map((l) => [l.partition, l.version])).toEqual([
        ['2023-10-12T09', 2],
        ['2023-10-12T10', 1],
      ]);
    });

    it('a day-grain table has a dt column and no hour', async () => {
      const t = tableName();
      const v = await version('2023-10-12', 1, adRows(12), ['ad_id', 'segment'], 'day');
      await wh.load({ table: target(t, 'day'), source: v });
      expect((await wh.columns(t))!.map((c) => c.name)).toEqual(['ad_id', 'segment', 'impressions', 'total_bid', 'dt']);
      expect((await wh.partitionStats(record(t, v))).map((s) => [s.partition, s.rows])).toEqual([['2023-10-12', 12]]);
    });

    it('a version with a new column adds it as nullable; rows loaded before read NULL there', async () => {
      const t = tableName();
      await wh.load({ table: target(t), source: await version('2023-10-12T09', 1, adRows(10)) });
      const r = await wh.load({
        table: target(t),
        source: await version('2023-10-12T10', 1, adRows(10, 0, `, 'mobile' AS device`)),
      });
      expect(r.columnsAdded).toEqual(['device']);
      const cols = (await wh.columns(t))!;
      expect(cols.find((c) => c.name === 'device')).toMatchObject({ nullable: true });
      expect(await count(t, 'device IS NULL')).toBe(10);
      expect(await count(t, `device = 'mobile'`)).toBe(10);
    });

    it('an incompatible type change fails naming the table and column, and loads nothing', async () => {
      const t = tableName();
      const r1 = await wh.load({ table: target(t), source: await version('2023-10-12T09', 1, adRows(10)) });
      const v2 = await version(
        '2023-10-12T09',
        2,
        `SELECT ad_id, segment, impressions::VARCHAR || 'x' AS impressions, total_bid FROM (${adRows(8)})`,
      );
      const e = await catchError(wh.load({ table: target(t), source: v2 }));
      expect(e.code).toBe('WAREHOUSE_SCHEMA');
      expect(e.message).toContain(t);
      expect(e.message).toContain('impressions');
      expect(e.subject).toBe(`${t}.impressions`);
      expect(await wh.loads(t)).toEqual([expect.objectContaining({ version: 1, rows: 10, checksum: r1.checksum })]);
      expect(await count(t)).toBe(10);
    });

    it('a version that dropped a key column fails naming it, and loads nothing', async () => {
      const t = tableName();
      await wh.load({ table: target(t), source: await version('2023-10-12T09', 1, adRows(10)) });
      const v2 = await version(
        '2023-10-12T09',
        2,
        `SELECT ad_id, sum(impressions)::BIGINT AS impressions FROM (${adRows(10)}) GROUP BY ad_id`,
        ['ad_id'],
      );
      const e = await catchError(wh.load({ table: target(t), source: v2 }));
      expect(e.code).toBe('WAREHOUSE_SCHEMA');
      expect(e.message).toContain('segment');
      expect(e.message).toContain(t);
      expect(await count(t)).toBe(10);
    });

    it('a table changed by hand incompatibly fails naming the column; its rows stay', async () => {
      const t = tableName();
      await wh.load({ table: target(t), source: await version('2023-10-12T09', 1, adRows(10)) });
      await h.tamper(
        h.kind === 'postgres'
          ? `ALTER TABLE ${t} ALTER COLUMN impressions TYPE text`
          : `ALTER TABLE ${t} ALTER impressions TYPE VARCHAR`,
      );
      const e = await catchError(
        wh.load({ table: target(t), source: await version('2023-10-12T09', 2, adRows(12, 1)) }),
      );
      expect(e.code).toBe('WAREHOUSE_SCHEMA');
      expect(e.subject).toBe(`${t}.impressions`);
      expect(e.hint).toContain('nothing was loaded');
      // The version has the type recount loaded before, so the table goes back, not the analyzer.
      expect(e.message).toContain('the table was changed by hand');
      expect(e.hint).toMatch(
        new RegExp(`ALTER TABLE "${t}" ALTER COLUMN "impressions" TYPE bigint USING "impressions"::bigint`, 'i'),
      );
      expect(e.hint).not.toContain("analyzer's SQL");
      expect(await count(t)).toBe(10);
      expect((await wh.loads(t))[0]!.version).toBe(1);
    });

    it('keys of every supported type load, reconcile (PostgreSQL hashes = recount hashes) and read back unchanged', async () => {
      const t = tableName();
      const sql = `SELECT i::TINYINT AS k_tiny, (i * 1000)::SMALLINT AS k_small, (i - 5)::INTEGER AS k_int, (i * 3000000000 - 4)::BIGINT AS k_big,
          (i % 2 = 0) AS k_bool, (DATE '1999-12-30' + i::INTEGER) AS k_date, (TIMESTAMP '2023-10-12 09:00:00.123456' + INTERVAL (i) SECOND) AS k_ts,
          (TIMESTAMPTZ '2023-10-12 09:00:00+02' + INTERVAL (i) MINUTE) AS k_tstz, (TIME '00:00:01.5' + INTERVAL (i) MINUTE) AS k_time,
          CASE WHEN i = 3 THEN NULL WHEN i = 4 THEN '' ELSE 'héllo ✓ ' || repeat('x', i) END AS k_text,
          (i / 8)::DECIMAL(18,3) AS k_dec, ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS k_uuid,
          (i * 1000000000000 + 7)::UBIGINT AS k_ubig, (i::HUGEINT * 100000000000000000000) AS v_huge, (i * 0.1)::DOUBLE AS v_double
        FROM range(20) t(i)`;
      const keys = [
        'k_tiny',
        'k_small',
        'k_int',
        'k_big',
        'k_bool',
        'k_date',
        'k_ts',
        'k_tstz',
        'k_time',
        'k_text',
        'k_dec',
        'k_uuid',
        'k_ubig',
      ];
      const v = await version('2023-10-12T09', 1, sql, keys);
      const r = await wh.load({ table: target(t), source: v });
      expect(r).toMatchObject({ status: 'loaded', rows: 20 });
      expect(r.checksum).toBe((await expectedOf(v)).checksum);
      expect(r.checksum).not.toBe('0');
      const [stats] = await wh.partitionStats(record(t, v));
      expect(stats).toEqual({ partition: '2023-10-12T09', rows: 20, checksum: r.checksum });
      // Exact values: integers, text, decimals and dates print alike in both engines.
      const cols = ['k_tiny', 'k_small', 'k_int', 'k_big', 'k_bool', 'k_date', 'k_text', 'k_dec', 'k_uuid', 'k_ubig'];
      const got = await wh.query<Record<string, string | null>>(
        `SELECT ${cols.map((c) => `${h.text(c)} AS ${c}`).join(', ')}, v_double FROM ${t} ORDER BY k_int`,
      );
      const want = await duck<Record<string, string | null>>(
        `SELECT ${cols.map((c) => `${c}::VARCHAR AS ${c}`).join(', ')}, v_double FROM ${readVersion(v.files)} ORDER BY k_int`,
      );
      expect(got.map((g) => ({ ...g, v_double: Number(g.v_double) }))).toEqual(
        want.map((w) => ({ ...w, v_double: Number(w.v_double) })),
      );
      expect(await wh.keyCounts(record(t, v), v.partition, { atLeast: 2, limit: 5 })).toEqual({
        keys: 0,
        rows: 0,
        sample: [],
      });
    });

    it('the value checksum covers every column with an exact hash, equals the version’s (PostgreSQL hashes = recount hashes), and moves with any one value', async () => {
      const t = tableName();
      const sql = `SELECT i::INTEGER AS k, (i * 3000000000 - 7)::BIGINT AS v_big, (i % 2 = 0) AS v_bool,
          CASE i WHEN 0 THEN 0.0 WHEN 1 THEN -0.0 WHEN 2 THEN 'NaN'::DOUBLE WHEN 3 THEN 'inf'::DOUBLE WHEN 4 THEN '-inf'::DOUBLE
                 WHEN 5 THEN 4.9e-324 WHEN 6 THEN NULL ELSE i * 0.1 END AS v_double,
          CASE WHEN i = 1 THEN -0.0::FLOAT ELSE (i / 3)::FLOAT END AS v_real, 'héllo ' || repeat('x', i) AS v_text, (i / 8)::DECIMAL(18,3) AS v_dec,
          (DATE '1999-12-30' + i::INTEGER) AS v_date, (TIMESTAMP '2023-10-12 09:00:00.123456' + INTERVAL (i) SECOND) AS v_ts,
          (TIMESTAMPTZ '2023-10-12 09:00:00+02' + INTERVAL (i) MINUTE) AS v_tstz, (TIME '00:00:01.5' + INTERVAL (i) MINUTE) AS v_time,
          ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS v_uuid, encode('b' || i::VARCHAR) AS v_blob, (i * 1000000000000 + 7)::UBIGINT AS v_ubig,
          ('{"a": ' || i::VARCHAR || '}')::JSON AS v_json, [i, i + 1] AS v_list, INTERVAL (i) HOUR AS v_interval
        FROM range(12) t(i)`;
      const v = await version('2023-10-12T09', 1, sql, ['k']);
      await wh.load({ table: target(t), source: v });
      const plan = valuePlan(v.columns);
      // JSON, lists and intervals have no hash both engines compute alike: they are not covered.
      expect(plan.map((p) => p.column)).toEqual([
        'k',
        'v_big',
        'v_bool',
        'v_double',
        'v_real',
        'v_text',
        'v_dec',
        'v_date',
        'v_ts',
        'v_tstz',
        'v_time',
        'v_uuid',
        'v_blob',
        'v_ubig',
      ]);
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      let want: Awaited<ReturnType<typeof checksumsOf>>;
      try {
        want = await checksumsOf(conn, readVersion(v.files), keyPlan(v.columns, v.keys), plan);
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
      const stats = async () => (await wh.partitionStats(record(t, v), plan))[0]!;
      let before = await stats();
      expect(before).toEqual({
        partition: '2023-10-12T09',
        rows: 12,
        checksum: want.checksum,
        valueChecksum: want.valueChecksum,
      });
      const changes = [
        'v_double = v_double + 1',
        'v_real = v_real * 2',
        "v_text = v_text || '!'",
        'v_big = v_big + 1',
        'v_dec = v_dec + 1',
        'v_bool = NOT v_bool',
        "v_ts = v_ts + INTERVAL '1 second'",
      ];
      for (const change of changes) {
        await h.tamper(`UPDATE ${t} SET ${change} WHERE k = 9`);
        const after = await stats();
        expect(after.checksum, change).toBe(before.checksum);
        expect(after.valueChecksum, change).not.toBe(before.valueChecksum);
        before = after;
      }
    });

    it('two concurrent loads of one partition of an existing table end with exactly one version’s rows', async () => {
      const t = tableName();
      // The table exists first: creating it takes a lock of its own, which would serialise the two loads and
      // hide a missing partition lock.
      await wh.load({ table: target(t), source: await version('2023-10-12T08', 1, adRows(10), ['ad_id', 'segment']) });
      const v1 = await version('2023-10-12T09', 1, adRows(20_000), ['ad_id', 'segment']);
      const v2 = await version('2023-10-12T09', 2, adRows(15_000, 9), ['ad_id', 'segment']);
      const [e1, e2] = await Promise.all([expectedOf(v1), expectedOf(v2)]);
      const other = await h.open();
      try {
        const results: LoadResult[] = await Promise.all([
          wh.load({ table: target(t), source: v1 }),
          other.load({ table: target(t), source: v2 }),
        ]);
        expect(results.map((r) => r.status).sort()).toEqual(['loaded', 'loaded']);
      } finally {
        await other.close();
      }
      const stats = (await wh.partitionStats(record(t, v1))).find((p) => p.partition === '2023-10-12T09');
      const loaded = (await wh.loads(t)).find((l) => l.partition === '2023-10-12T09');
      const winner = loaded!.version === 1 ? e1 : e2;
      expect(stats).toEqual({ partition: '2023-10-12T09', rows: winner.rows, checksum: winner.checksum });
      expect(loaded).toMatchObject({ rows: winner.rows, checksum: winner.checksum });
    });

    it('a load whose version is no longer the published one is skipped, changing nothing', async () => {
      const t = tableName();
      const r1 = await wh.load({ table: target(t), source: await version('2023-10-12T09', 2, adRows(10)) });
      const r = await wh.load({
        table: target(t),
        source: await version('2023-10-12T09', 1, adRows(30, 1)),
        isCurrent: async () => false,
      });
      expect(r).toMatchObject({ status: 'superseded', previousVersion: 2 });
      expect(await count(t)).toBe(10);
      expect(await wh.loads(t)).toEqual([expect.objectContaining({ version: 2, checksum: r1.checksum })]);
    });

    it('a row duplicated behind recount’s back shows in partition stats, duplicate keys and row hashes', async () => {
      const t = tableName();
      const v = await version('2023-10-12T09', 1, adRows(16));
      const r = await wh.load({ table: target(t), source: v });
      await h.tamper(`INSERT INTO ${t} SELECT * FROM ${t} WHERE ad_id = 2 AND segment = 'seg_1'`);
      const [stats] = await wh.partitionStats(record(t, v));
      expect(stats!.rows).toBe(17);
      expect(stats!.checksum).not.toBe(r.checksum);
      expect(await wh.keyCounts(record(t, v), v.partition, { atLeast: 2, limit: 5 })).toEqual({
        keys: 1,
        rows: 2,
        sample: [{ key: { ad_id: '2', segment: 'seg_1' }, count: 2 }],
      });
      const perKey = new Map<string, number>();
      await wh.scanRowHashes(record(t, v), v.partition, valuePlan(v.columns), (kHi, kLo) =>
        perKey.set(hashText(kHi, kLo), (perKey.get(hashText(kHi, kLo)) ?? 0) + 1),
      );
      expect(perKey.size).toBe(16);
      const twice = [...perKey].filter(([, n]) => n > 1).map(([h]) => h);
      expect(await wh.keysOfHashes(record(t, v), v.partition, new Set(twice))).toEqual(
        new Map([[twice[0], { ad_id: '2', segment: 'seg_1' }]]),
      );
    });

    it('a version with no rows empties its partition and records 0 rows', async () => {
      const t = tableName();
      await wh.load({ table: target(t), source: await version('2023-10-12T09', 1, adRows(10)) });
      const r = await wh.load({
        table: target(t),
        source: await version('2023-10-12T09', 2, `${adRows(10)} WHERE false`),
      });
      expect(r).toMatchObject({ status: 'loaded', rows: 0, checksum: '0' });
      expect(await count(t)).toBe(0);
      expect((await wh.loads(t))[0]).toMatchObject({ version: 2, rows: 0 });
    });

    it('a column named like a partition column is refused, naming it', async () => {
      const t = tableName();
      const e = await catchError(
        wh.load({
          table: target(t),
          source: await version('2023-10-12T09', 1, `SELECT ad_id, segment, 3 AS ${ident('hour')} FROM (${adRows(4)})`),
        }),
      );
      expect(e.code).toBe('WAREHOUSE_SCHEMA');
      expect(e.subject).toBe(`${t}.hour`);
      expect(await wh.columns(t)).toBeUndefined();
    });
  });
}
