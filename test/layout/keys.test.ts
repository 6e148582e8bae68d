import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { chooseKeys, isFloatType, type KeyChoice } from '../../src/layout/keys.ts';
import { RecountError } from '../../src/errors.ts';

// A real DuckDB session with an `events` table shaped like the generator's output.
let session: EngineSession;
beforeAll(async () => {
  session = await new DuckDBEngine().open({
    memoryBytes: 300_000_000,
    threads: 1,
    spillDir: join(tmpdir(), 'recount-test-keys-spill'),
  });
  await session.exec(`CREATE TABLE events AS SELECT * FROM (VALUES
    (1::INTEGER, 'seg_01', 'US', 1.5::DOUBLE, 0.5::FLOAT, TIMESTAMP '2023-10-12 01:00:00', 'impression'),
    (2::INTEGER, 'seg_02', 'GB', 2.5::DOUBLE, 1.5::FLOAT, TIMESTAMP '2023-10-12 01:30:00', 'click'))
    t(ad_id, user_segment, country, bid_price, score, ts, event_type)`);
});
afterAll(() => session.close());

async function keysOf(sql: string, declared?: string[]): Promise<KeyChoice> {
  const columns = await session.describe(sql);
  return chooseKeys(session, { sql, declared, columns, file: 'analyzers/a.ts' });
}

async function keyError(sql: string, declared?: string[]): Promise<RecountError> {
  const err = await keysOf(sql, declared).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RecountError);
  return err as RecountError;
}

describe('key inference from the top-level GROUP BY (DuckDB parse tree)', () => {
  it.each([
    [
      'plain columns',
      'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ad_id, user_segment',
      ['ad_id', 'user_segment'],
    ],
    [
      'columns aliased in the SELECT',
      'SELECT ad_id AS ad, user_segment AS seg, count(*) AS n FROM events GROUP BY ad_id, user_segment',
      ['ad', 'seg'],
    ],
    [
      'GROUP BY the aliases',
      'SELECT ad_id AS ad, user_segment AS seg, count(*) AS n FROM events GROUP BY ad, seg',
      ['ad', 'seg'],
    ],
    [
      'GROUP BY positions',
      'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY 1, 2',
      ['ad_id', 'user_segment'],
    ],
    ['GROUP BY ALL', 'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ALL', ['ad_id', 'user_segment']],
    ['GROUP BY ALL with the aggregate first', 'SELECT count(*) AS n, ad_id FROM events GROUP BY ALL', ['ad_id']],
    [
      'GROUP BY ALL with a nested aggregate',
      'SELECT ad_id, round(sum(bid_price), 2) AS total FROM events GROUP BY ALL',
      ['ad_id'],
    ],
    [
      'expressions',
      "SELECT date_trunc('hour', ts) AS h, lower(country) AS c, count(*) AS n FROM events GROUP BY date_trunc('hour', ts), lower(country)",
      ['h', 'c'],
    ],
    [
      'an arithmetic expression',
      'SELECT ad_id % 10 AS bucket, count(*) AS n FROM events GROUP BY ad_id % 10',
      ['bucket'],
    ],
    [
      'a CTE feeding the top-level query',
      "WITH imp AS (SELECT * FROM events WHERE event_type = 'impression') SELECT ad_id, count(*) AS n FROM imp GROUP BY ad_id",
      ['ad_id'],
    ],
    [
      'a key grouped in another order than selected',
      'SELECT user_segment, ad_id, count(*) AS n FROM events GROUP BY ad_id, user_segment',
      ['ad_id', 'user_segment'],
    ],
    [
      'a float aggregate beside the keys (never a key)',
      'SELECT ad_id, sum(bid_price) AS total_bid, count(*) AS n FROM events GROUP BY ad_id',
      ['ad_id'],
    ],
  ])('%s', async (_name, sql, keys) => {
    const k = await keysOf(sql);
    expect(k).toEqual({ keys, source: 'group_by' });
  });

  it.each([
    [
      'GROUPING SETS',
      'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY GROUPING SETS ((ad_id), (user_segment))',
    ],
    ['ROLLUP', 'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ROLLUP (ad_id, user_segment)'],
    [
      'UNION ALL',
      'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id UNION ALL SELECT ad_id, count(*) FROM events GROUP BY ad_id',
    ],
    ['a GROUP BY column that is not selected', 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id, user_segment'],
    ['the GROUP BY inside a subquery only', 'SELECT * FROM (SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id)'],
    ['no GROUP BY', 'SELECT ad_id, user_segment, bid_price FROM events'],
  ])('%s: no inference, falls back to the non-float columns with a warning', async (_name, sql) => {
    const k = await keysOf(sql);
    const columns = await session.describe(sql);
    const nonFloat = columns.filter((c) => !isFloatType(c.type)).map((c) => c.name);
    expect(k.source).toBe('all_columns');
    expect(k.keys).toEqual(nonFloat);
    expect(k.keys).not.toContain('bid_price');
    expect(k.warning).toContain('analyzers/a.ts');
    expect(k.warning).toContain(nonFloat.join(', '));
    expect(k.warning).toMatch(/declare keys/i);
  });

  it('the fallback with every column a float is KEY_UNKNOWN asking for declared keys', async () => {
    const e = await keyError('SELECT bid_price, score FROM events');
    expect(e.code).toBe('KEY_UNKNOWN');
    expect(e.subject).toBe('analyzers/a.ts: keys');
    expect(e.hint).toMatch(/declare keys/);
  });
});

describe('declared keys', () => {
  it('are used as given, without parsing the GROUP BY', async () => {
    const k = await keysOf('SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ALL', [
      'user_segment',
      'ad_id',
    ]);
    expect(k).toEqual({ keys: ['user_segment', 'ad_id'], source: 'declared' });
  });

  it('an unknown declared key is KEY_UNKNOWN naming the key, the file and the columns the query returns', async () => {
    const e = await keyError('SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id', ['ad_id', 'segment']);
    expect(e.code).toBe('KEY_UNKNOWN');
    expect(e.message).toContain("'segment'");
    expect(e.message).toContain('analyzers/a.ts');
    expect(e.hint).toContain('ad_id, n');
  });
});

describe('FLOAT/DOUBLE keys are rejected', () => {
  it.each([
    [
      'a declared DOUBLE key',
      'SELECT ad_id, sum(bid_price) AS total_bid FROM events GROUP BY ad_id',
      ['ad_id', 'total_bid'],
      'total_bid',
      'DOUBLE',
    ],
    ['a declared FLOAT key', 'SELECT ad_id, score FROM events', ['ad_id', 'score'], 'score', 'FLOAT'],
    [
      'an inferred DOUBLE key (GROUP BY a DOUBLE)',
      'SELECT bid_price, count(*) AS n FROM events GROUP BY bid_price',
      undefined,
      'bid_price',
      'DOUBLE',
    ],
    [
      'an inferred key of a float list',
      'SELECT [bid_price] AS prices, count(*) AS n FROM events GROUP BY ALL',
      undefined,
      'prices',
      'DOUBLE[]',
    ],
  ])('%s', async (_name, sql, declared, column, type) => {
    const e = await keyError(sql, declared);
    expect(e.code).toBe('KEY_FLOAT');
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(`'${column}'`);
    expect(e.message).toContain(type);
    expect(e.subject).toBe(`analyzers/a.ts: ${column}`);
    expect(e.hint).toMatch(/DECIMAL|BIGINT/);
  });

  it('a DOUBLE cast to DECIMAL is an acceptable key', async () => {
    const k = await keysOf('SELECT bid_price::DECIMAL(10, 2) AS price, count(*) AS n FROM events GROUP BY 1');
    expect(k).toEqual({ keys: ['price'], source: 'group_by' });
  });

  it('isFloatType knows the float spellings and nested floats, and nothing else', () => {
    for (const t of ['FLOAT', 'DOUBLE', 'REAL', 'DOUBLE[]', 'STRUCT(a DOUBLE)', 'MAP(VARCHAR, FLOAT)'])
      expect(isFloatType(t), t).toBe(true);
    for (const t of ['BIGINT', 'INTEGER', 'DECIMAL(18,3)', 'VARCHAR', 'TIMESTAMP', 'HUGEINT', 'INTEGER[]'])
      expect(isFloatType(t), t).toBe(false);
  });
});

describe('SQL that does not parse', () => {
  it('is SQL_INVALID with DuckDB parser message and the analyzer file', async () => {
    const sql = 'SELECT ad_id, count(* AS n FROM events GROUP BY ad_id';
    const e = await chooseKeys(session, {
      sql,
      columns: [{ name: 'ad_id', type: 'INTEGER' }],
      file: 'analyzers/a.ts',
    }).then(
      () => undefined,
      (x: unknown) => x as RecountError,
    );
    expect(e?.code).toBe('SQL_INVALID');
    expect(e?.message).toContain('analyzers/a.ts');
    expect(e?.message).toMatch(/syntax error/i);
  });

  it('two statements are SQL_INVALID: recount runs exactly one SELECT', async () => {
    const sql = 'SELECT 1 AS a; SELECT 2 AS a';
    const e = await chooseKeys(session, {
      sql,
      columns: [{ name: 'a', type: 'INTEGER' }],
      file: 'analyzers/a.ts',
    }).then(
      () => undefined,
      (x: unknown) => x as RecountError,
    );
    expect(e?.code).toBe('SQL_INVALID');
    expect(e?.message).toContain('2 statements');
  });
});
