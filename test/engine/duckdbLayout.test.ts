import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../../src/checks/runChecks.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { tempDir } from '../helpers/project.ts';

// On one thread with a small input, a layout's files are written in one partitioned COPY (duckdbLayout.ts). DuckDB
// 1.5 was found writing rows out of key order near the end of the files of a 1 M-row result that way: a result over
// ONE_PASS_MAX_ROWS is written again a bucket at a time, and the checks read back what is on disk either way.
describe('DuckDB layout on one thread', () => {
  for (const rows of [3_000, 1_000_000]) {
    it(`${rows} rows over 3 files: every key in its bucket's file, in key order, every file named and counted`, async () => {
      const dir = tempDir('recount-layout-');
      const session = await new DuckDBEngine().open({
        memoryBytes: 500_000_000,
        threads: 1,
        spillDir: join(dir, 'spill'),
      });
      try {
        const out = join(dir, 'out');
        mkdirSync(out);
        // String keys in an order unlike the generation order, as the analyzer that first showed the problem had.
        const sql = `SELECT (i * 7919 % ${rows})::VARCHAR AS user_id, (i % 500)::INTEGER AS ad_id, i AS n FROM range(${rows}) t(i)`;
        const keys = ['user_id', 'ad_id'];
        const written = await session.writeLayout({ sql, keys, files: 3, dir: out, tag: 'abc', smallInput: true });
        expect(written.files.map((f) => f.name)).toEqual([0, 1, 2].map((i) => `part-0000${i}-abc.parquet`));
        expect(readdirSync(out).sort()).toEqual(written.files.map((f) => f.name));
        expect(written.files.reduce((s, f) => s + f.rows, 0)).toBe(rows);
        const checks = await runChecks({
          session,
          dir: out,
          files: written.files,
          keys,
          checks: [],
          columns: await session.describe(sql),
        });
        expect(checks.filter((c) => !c.passed)).toEqual([]);
      } finally {
        session.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
