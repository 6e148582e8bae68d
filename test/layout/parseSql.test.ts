import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { parseSql } from '../../src/layout/keys.ts';
import { tempDir } from '../helpers/project.ts';

// Every partition of an analyzer parses the same SQL: the parse tree is DuckDB's once per SQL text and engine
// version, a statement the first time only. A statement that does not parse is refused every time.
describe('parsing an analyzer’s SQL', () => {
  const dir = tempDir('recount-parse-');
  const engine = new DuckDBEngine();
  afterAll(async () => {
    await engine.closeIdle();
  });

  it('parses a SQL text once per engine version, and refuses bad SQL every time', async () => {
    const session = await engine.open({ memoryBytes: 100_000_000, threads: 1, spillDir: join(dir, 'spill') });
    const statements: string[] = [];
    const counting: EngineSession = Object.assign(Object.create(session) as EngineSession, {
      query: <T>(sql: string) => {
        statements.push(sql);
        return session.query<T>(sql);
      },
    });
    try {
      const sql = `SELECT ad_id, count(*) AS n FROM events WHERE ${Date.now()} > 0 GROUP BY ad_id`;
      const first = await parseSql(counting, sql, 'a.ts');
      const second = await parseSql(counting, sql, 'a.ts');
      expect(second).toEqual(first);
      expect((first as { type?: string }).type).toBe('SELECT_NODE');
      expect(statements).toHaveLength(1);
      for (let i = 0; i < 2; i++)
        await expect(parseSql(counting, 'SELEC broken', 'b.ts')).rejects.toMatchObject({ code: 'SQL_INVALID' });
      await expect(parseSql(counting, 'SELECT 1; SELECT 2', 'c.ts')).rejects.toThrow('2 statements');
      expect(statements).toHaveLength(3);
    } finally {
      session.close();
    }
  });
});
