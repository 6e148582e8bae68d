import { describe, expect, it } from 'vitest';
import { embeddableQuery, subquery } from '../../src/engine/queryText.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('analyzer SQL as a subquery', () => {
  it('drops the semicolons that end a query, keeping comments, and leaves literals alone', () => {
    expect(embeddableQuery('SELECT 1;', 'x')).toBe('SELECT 1');
    expect(embeddableQuery('SELECT 1 ;  ;\n', 'x')).toBe('SELECT 1   \n');
    expect(embeddableQuery('SELECT 1; -- the end', 'x')).toBe('SELECT 1 -- the end');
    expect(embeddableQuery("SELECT ';' AS s, '--' AS d /* ; */", 'x')).toBe("SELECT ';' AS s, '--' AS d /* ; */");
    expect(embeddableQuery('SELECT "a;b" FROM t -- ;', 'x')).toBe('SELECT "a;b" FROM t -- ;');
    expect(embeddableQuery("SELECT 'it''s;' AS s;", 'x')).toBe("SELECT 'it''s;' AS s");
  });

  it('refuses two statements and an empty query, naming where', () => {
    expect(() => embeddableQuery('SELECT 1; SELECT 2', 'analyzers/a.ts: sql')).toThrow(
      /analyzers\/a\.ts: sql: holds more than one SQL statement/,
    );
    expect(() => embeddableQuery('-- nothing\n', 'analyzers/a.ts: sql')).toThrow(/analyzers\/a\.ts: sql: is empty/);
  });

  it('DuckDB runs a query with a trailing comment and semicolon once embedded', async () => {
    const session = await new DuckDBEngine().open({
      memoryBytes: 100_000_000,
      threads: 1,
      spillDir: join(tmpdir(), 'recount-test-spill'),
    });
    try {
      const q = embeddableQuery('SELECT 41 + 1 AS n; -- the answer', 'x');
      expect(await session.query(`SELECT * FROM ${subquery(q)} WHERE n > 0`)).toEqual([{ n: 42 }]);
      expect((await session.describe(q)).map((c) => c.name)).toEqual(['n']);
    } finally {
      session.close();
    }
  });
});
