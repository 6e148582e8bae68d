import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { lit } from '../../src/engine/sql.ts';
import { writeLayout, type StagedFile } from '../../src/layout/bucketing.ts';
import { duckdbKeyHash as keyHashSql } from '../../src/engine/duckdb/duckdbDialect.ts';
import { runChecks } from '../../src/checks/runChecks.ts';
import { blocksPublish, SAMPLE_ROWS, type CheckResult } from '../../src/checks/check.ts';
import type { CheckDefinition } from '../../src/config/schema.ts';

// Built-in checks over crafted staged files: each one must catch the damage it exists for.
const KEYS = ['ad_id', 'seg'];
// 200 rows: ad_id 0..99 x seg a/b, n = ad_id.
const ROWS =
  "SELECT (i // 2)::INTEGER AS ad_id, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS seg, (i // 2)::BIGINT AS n FROM range(200) t(i)";

let session: EngineSession;
let root: string;
let counter = 0;

beforeAll(async () => {
  root = tempDir('recount-checks-');
  session = await new DuckDBEngine().open({ memoryBytes: 300_000_000, threads: 1, spillDir: join(root, 'spill') });
});
afterAll(() => {
  session.close();
  rmSync(root, { recursive: true, force: true });
});

function stagingDir(): string {
  const dir = join(root, `staging-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Write each SELECT to its part file, as a buggy or tampered writer would, and return the staged list. */
async function craft(files: string[]): Promise<{ dir: string; files: StagedFile[] }> {
  const dir = stagingDir();
  const staged: StagedFile[] = [];
  for (const [i, sql] of files.entries()) {
    const name = `part-${String(i).padStart(5, '0')}.parquet`;
    const [r] = await session.query<{ Count: string }>(`COPY (${sql}) TO ${lit(join(dir, name))} (FORMAT parquet)`);
    staged.push({ name, rows: Number(r!.Count) });
  }
  return { dir, files: staged };
}

/** Rows of ROWS that belong in file `i` of `n`, in key order. */
const bucket = (i: number, n: number, extra = '') =>
  `SELECT * FROM (${ROWS}) WHERE ${keyHashSql(KEYS)} % ${n} = ${i} ${extra} ORDER BY ad_id, seg`;

async function check(
  staged: { dir: string; files: StagedFile[] },
  checks: CheckDefinition[] = [],
): Promise<Record<string, CheckResult>> {
  const results = await runChecks({ session, dir: staged.dir, files: staged.files, keys: KEYS, checks });
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

describe('built-in checks', () => {
  it('a correct layout written by recount passes every check', async () => {
    const dir = stagingDir();
    const written = await writeLayout(session, { sql: ROWS, keys: KEYS, files: 3, dir });
    const r = await check({ dir, files: written.files });
    expect(Object.keys(r)).toEqual(['row_count', 'unique_keys', 'not_null_keys', 'key_layout']);
    for (const c of Object.values(r))
      expect(c, c.name).toMatchObject({ passed: true, failing: 0, sample: [], severity: 'error' });
    expect(blocksPublish(Object.values(r))).toBe(false);
  });

  it('the crafted correct layout passes too (the fixtures below differ from it only by their damage)', async () => {
    const r = await check(await craft([bucket(0, 2), bucket(1, 2)]));
    expect(Object.values(r).every((c) => c.passed)).toBe(true);
  });

  it('duplicate keys fail unique_keys with the key and its copies as the sample', async () => {
    const dupes = `SELECT * FROM (SELECT * FROM (${bucket(0, 2)}) UNION ALL (SELECT * FROM (${bucket(0, 2)}) LIMIT 3)) ORDER BY ad_id, seg`;
    const r = await check(await craft([dupes, bucket(1, 2)]));
    expect(r.unique_keys!.passed).toBe(false);
    expect(r.unique_keys!.failing).toBe(3);
    expect(r.unique_keys!.sample[0]).toMatchObject({ copies: '2' });
    expect(Object.keys(r.unique_keys!.sample[0]!)).toEqual(['ad_id', 'seg', 'copies']);
    expect(r.unique_keys!.message).toContain('ad_id, seg');
    expect(blocksPublish(Object.values(r))).toBe(true);
  });

  it('a NULL key fails not_null_keys with the row as the sample', async () => {
    const withNull = `SELECT * FROM (SELECT * FROM (${bucket(0, 2)}) UNION ALL SELECT NULL::INTEGER, 'a', 7::BIGINT) ORDER BY ad_id NULLS LAST, seg`;
    const r = await check(await craft([withNull, bucket(1, 2)]));
    expect(r.not_null_keys).toMatchObject({ passed: false, failing: 1 });
    expect(r.not_null_keys!.sample).toEqual([{ ad_id: null, seg: 'a', n: '7' }]);
    expect(r.not_null_keys!.message).toContain('NULL key');
  });

  it('a row in the wrong file fails key_layout naming the file, the row and the file it belongs in', async () => {
    // Move the smallest key of file 1 into file 0.
    const moved = `SELECT * FROM (${bucket(1, 2)}) LIMIT 1`;
    const file0 = `SELECT * FROM (SELECT * FROM (${bucket(0, 2)}) UNION ALL (${moved})) ORDER BY ad_id, seg`;
    const file1 = `SELECT * FROM (${bucket(1, 2)}) OFFSET 1`;
    const r = await check(await craft([file0, file1]));
    expect(r.key_layout).toMatchObject({ passed: false, failing: 1 });
    expect(r.key_layout!.sample[0]).toMatchObject({
      file: 'part-00000.parquet',
      expected_file_index: '1',
      misplaced: true,
      out_of_order: false,
    });
    expect(r.unique_keys!.passed).toBe(true);
  });

  it('rows out of key order within a file fail key_layout', async () => {
    const reversed = `SELECT * FROM (${bucket(0, 2)}) ORDER BY ad_id DESC, seg DESC`;
    const r = await check(await craft([reversed, bucket(1, 2)]));
    expect(r.key_layout!.passed).toBe(false);
    expect(r.key_layout!.sample.every((s) => s.out_of_order === true && s.misplaced === false)).toBe(true);
    expect(r.key_layout!.sample.length).toBe(SAMPLE_ROWS);
    expect(r.key_layout!.message).toContain('out of key order');
  });

  it('a file holding fewer rows than the engine reported fails row_count', async () => {
    const staged = await craft([bucket(0, 2), bucket(1, 2)]);
    staged.files[1] = { ...staged.files[1]!, rows: staged.files[1]!.rows + 5 };
    const r = await check(staged);
    expect(r.row_count).toMatchObject({ passed: false, failing: 5 });
    expect(r.row_count!.sample[0]).toMatchObject({ written: 205, in_file_metadata: 200, read_back: 200 });
  });
});

describe('custom checks', () => {
  it('a custom check returning rows fails with the count and up to 10 sample rows', async () => {
    const staged = await craft([bucket(0, 2), bucket(1, 2)]);
    const r = await check(staged, [
      {
        name: 'small_n',
        sql: 'SELECT * FROM output WHERE n < 30 ORDER BY ad_id, seg',
        severity: 'error',
        description: 'n is at least 30',
      },
    ]);
    const c = r.small_n!;
    expect(c).toMatchObject({ kind: 'custom', severity: 'error', passed: false, failing: 60 });
    expect(c.sample).toHaveLength(SAMPLE_ROWS);
    expect(c.sample[0]).toEqual({ ad_id: 0, seg: 'a', n: '0' });
    expect(c.message).toBe("60 rows fail check 'small_n' (n is at least 30)");
    expect(blocksPublish(Object.values(r))).toBe(true);
  });

  it('a custom check returning no rows passes', async () => {
    const r = await check(await craft([bucket(0, 2), bucket(1, 2)]), [
      { name: 'ok', sql: 'SELECT * FROM output WHERE n < 0', severity: 'error' },
    ]);
    expect(r.ok).toMatchObject({ passed: true, failing: 0, sample: [] });
  });

  it("a failing 'warn' check is recorded but does not block the publish", async () => {
    const r = await check(await craft([bucket(0, 2), bucket(1, 2)]), [
      { name: 'soft', sql: 'SELECT * FROM output WHERE n = 5', severity: 'warn' },
    ]);
    expect(r.soft).toMatchObject({ passed: false, failing: 2, severity: 'warn' });
    expect(blocksPublish(Object.values(r))).toBe(false);
  });

  it('a check whose SQL errors fails (blocking) with a message naming it and showing DuckDB’s error', async () => {
    const r = await check(await craft([bucket(0, 2), bucket(1, 2)]), [
      { name: 'typo', sql: 'SELECT * FROM output WHERE nn > 1', severity: 'warn' },
      { name: 'no_table', sql: 'SELECT * FROM outptu', severity: 'error' },
    ]);
    expect(r.typo).toMatchObject({ passed: false, severity: 'error', failing: 0 });
    expect(r.typo!.message).toMatch(/^check 'typo' could not run: Binder Error: .*nn/);
    expect(r.no_table!.message).toMatch(/^check 'no_table' could not run: Catalog Error: .*outptu/);
    expect(blocksPublish(Object.values(r))).toBe(true);
  });

  it('a check that runs out of memory fails the attempt as OUT_OF_MEMORY (retried smaller), not as a failed check', async () => {
    const staged = await craft([bucket(0, 2), bucket(1, 2)]);
    const small = await new DuckDBEngine().open({
      memoryBytes: 24 * 1024 * 1024,
      threads: 1,
      spillDir: join(root, 'spill-small'),
    });
    try {
      // A list of 30 M integers cannot spill: DuckDB's own limit stops it.
      const hungry: CheckDefinition = {
        name: 'hungry',
        sql: 'SELECT * FROM (SELECT list(i) AS l FROM range(30000000) t(i)) WHERE len(l) < 0',
        severity: 'error',
      };
      const err = await runChecks({
        session: small,
        dir: staged.dir,
        files: staged.files,
        keys: KEYS,
        checks: [hungry],
      }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(err?.code).toBe('OUT_OF_MEMORY');
      expect(err?.message).toMatch(/^check 'hungry' ran out of its memory budget: Out of Memory Error/);
    } finally {
      small.close();
    }
  });
});
