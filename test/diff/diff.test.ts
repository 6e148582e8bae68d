import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { lit } from '../../src/engine/sql.ts';
import { diffRelations } from '../../src/diff/diffRelations.ts';
import { DEFAULT_TOLERANCE, EXACT } from '../../src/diff/tolerance.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { bucketFile, duck, makeProject, tempDir, type TestProject } from '../helpers/project.ts';

// A diff joins two versions on their keys and says what was added, removed and changed, per column, with
// floats compared within a tolerance, and names the bad-retry pattern: as many keys duplicated as missing.

const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';

describe('diffRelations over hand-made files', () => {
  const dir = tempDir('recount-diff-');
  let session: EngineSession;
  const write = async (name: string, valuesSql: string) => {
    const path = join(dir, `${name}.parquet`);
    await session.exec(`COPY (${valuesSql}) TO ${lit(path)} (FORMAT parquet)`);
    return path;
  };
  const schema = [
    { name: 'k', type: 'INTEGER' },
    { name: 'tag', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
    { name: 'x', type: 'DOUBLE' },
  ];
  const typed = (values: string) =>
    `SELECT k::INTEGER AS k, tag, n::BIGINT AS n, x::DOUBLE AS x FROM (VALUES ${values}) t(k, tag, n, x)`;
  beforeAll(async () => {
    session = await new DuckDBEngine().open({ memoryBytes: 300_000_000, threads: 1, spillDir: join(dir, 'spill') });
  });
  afterAll(() => session.close());

  it('counts added, removed and changed keys per column, NULL keys matching NULL', async () => {
    const a = await write('a', typed(`(1, 'a', 10, 1.5), (2, 'b', 20, 2.5), (3, 'c', 30, 3.5), (NULL, 'n', 0, 0.0)`));
    const b = await write('b', typed(`(1, 'a', 10, 1.5), (2, 'B', 21, 2.5), (4, 'd', 40, 4.5), (NULL, 'n', 0, 0.0)`));
    const r = await diffRelations(
      session,
      { label: 'a', files: [a], schema },
      { label: 'b', files: [b], schema },
      { keys: ['k'], tolerance: DEFAULT_TOLERANCE },
    );
    expect({
      added: r.added,
      removed: r.removed,
      changed: r.changed,
      unchanged: r.unchanged,
      differs: r.differs,
    }).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 2, differs: true });
    expect(r.columns.map((c) => [c.column, c.changed])).toEqual([
      ['tag', 1],
      ['n', 1],
      ['x', 0],
    ]);
    expect(r.samples.added).toEqual([{ k: 4, tag: 'd', n: '40', x: 4.5 }]);
    expect(r.samples.removed).toEqual([{ k: 3, tag: 'c', n: '30', x: 3.5 }]);
    expect(r.samples.changed).toEqual([
      { key: { k: 2 }, column: 'tag', from: 'b', to: 'B' },
      { key: { k: 2 }, column: 'n', from: '20', to: '21' },
    ]);
    expect(r.badRetry).toBeUndefined();
  });

  it('compares floats within the tolerance, and exactly when asked to', async () => {
    const a = await write(
      'fa',
      `SELECT i::INTEGER AS k, 'x' AS tag, i::BIGINT AS n, i * 0.1 AS x FROM range(1, 101) t(i)`,
    );
    // Every value moved in its last bits (relative 1e-13), one value moved for real.
    const b = await write(
      'fb',
      `SELECT i::INTEGER AS k, 'x' AS tag, i::BIGINT AS n, CASE WHEN i = 50 THEN i * 0.2 ELSE i * 0.1 * (1 + 1e-13) END AS x FROM range(1, 101) t(i)`,
    );
    const loose = await diffRelations(
      session,
      { label: 'a', files: [a], schema },
      { label: 'b', files: [b], schema },
      { keys: ['k'], tolerance: DEFAULT_TOLERANCE },
    );
    const x = loose.columns.find((c) => c.column === 'x')!;
    expect([loose.changed, x.changed, x.differentBits, x.float]).toEqual([1, 1, 100, true]);
    expect(x.maxAbsDiff).toBeCloseTo(5, 9);
    const exact = await diffRelations(
      session,
      { label: 'a', files: [a], schema },
      { label: 'b', files: [b], schema },
      { keys: ['k'], tolerance: EXACT },
    );
    expect(exact.changed).toBe(100);
    const same = await diffRelations(
      session,
      { label: 'a', files: [a], schema },
      { label: 'a again', files: [a], schema },
      { keys: ['k'], tolerance: EXACT },
    );
    expect([same.differs, same.changed, same.unchanged]).toEqual([false, 0, 100]);
  });

  it('reports a column added, and a side with no files as every key added', async () => {
    const a = await write('sa', typed(`(1, 'a', 10, 1.5)`));
    const b = await write('sb', `SELECT *, 'new' AS extra FROM (${typed(`(1, 'a', 10, 1.5)`)})`);
    const r = await diffRelations(
      session,
      { label: 'a', files: [a], schema },
      { label: 'b', files: [b], schema: [...schema, { name: 'extra', type: 'VARCHAR' }] },
      { keys: ['k'], tolerance: DEFAULT_TOLERANCE },
    );
    expect([r.changed, r.differs, r.schema.onlyTo.map((c) => c.name)]).toEqual([0, true, ['extra']]);
    const none = await diffRelations(
      session,
      { label: 'nothing', files: [], schema },
      { label: 'b', files: [a], schema },
      { keys: ['k'], tolerance: DEFAULT_TOLERANCE },
    );
    expect([none.added, none.removed, none.from.rows]).toEqual([1, 0, 0]);
  });
});

describe('recount diff over real runs', () => {
  let tp: TestProject;
  let v2Dir: string;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 4000 });
    const ctx = await tp.open();
    try {
      const analyzer = ctx.project.analyzers.get(H)!;
      for (let i = 0; i < 2; i++) expect((await runPartition(ctx, analyzer, P)).status).toBe('succeeded');
      v2Dir = (await ctx.store.getVersion(H, P, 2))!.dir;
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it('two runs on the same input differ in nothing (exit 0), by default the previous against the published', () => {
    const r = tp.cli(['--json', 'diff', H, '--partition', P]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      versions: { from: 1, to: 2 },
      added: 0,
      removed: 0,
      changed: 0,
      differs: false,
      keys: ['ad_id', 'user_segment'],
    });
    expect(r.json.unchanged).toBe(r.json.to.rows);
    expect(r.json.unchanged).toBeGreaterThan(100);
  });

  it('names the bad-retry pattern when a version duplicates N keys into another file and lacks N others (exit 1)', async () => {
    // Tamper v2 the way a bad retry leaves a partition: file 1 rewritten from a different dealing of rows,
    // so it holds 7 rows that also sit in file 0 and lacks 7 rows that no file holds any more.
    const N = 7;
    const p0 = join(v2Dir, bucketFile(v2Dir, 0));
    const p1 = join(v2Dir, bucketFile(v2Dir, 1));
    await duck(`COPY (
        SELECT * FROM (SELECT * FROM read_parquet(${lit(p1)}) ORDER BY ad_id, user_segment OFFSET ${N})
        UNION ALL
        SELECT * FROM (SELECT * FROM read_parquet(${lit(p0)}) ORDER BY ad_id, user_segment LIMIT ${N})
      ) TO ${lit(`${p1}.tmp`)} (FORMAT parquet)`);
    renameSync(`${p1}.tmp`, p1);

    const r = tp.cli(['--json', 'diff', H, '--partition', P, '--from', '1', '--to', '2']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json).toMatchObject({ ok: false, differs: true, added: 0, removed: N, changed: 0 });
    expect(r.json.to.extraRows).toBe(N);
    expect(r.json.to.rows).toBe(r.json.from.rows);
    expect(r.json.badRetry).toMatchObject({ side: 'to', label: 'v2', duplicated: N, missing: N, sameRowCount: true });
    expect(r.json.samples.duplicated[0].files).toEqual([bucketFile(v2Dir, 0), bucketFile(v2Dir, 1)]);

    const text = tp.cli(['diff', H, '--partition', P]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      `bad-retry pattern: v2 holds ${N} duplicate row(s) and lacks ${N} key(s) of v1, with the same row count`,
    );
  });

  it('a version that is not kept is a VERSION_NOT_FOUND error listing the kept ones (exit 2)', () => {
    const r = tp.cli(['--json', 'diff', H, '--partition', P, '--from', '9']);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'VERSION_NOT_FOUND', hint: 'versions kept: v2 (published), v1' });
  });
});
