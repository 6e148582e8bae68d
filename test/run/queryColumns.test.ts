import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/catalog/dataset.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { Column, EngineSession } from '../../src/engine/engine.ts';
import type { CheckedInput } from '../../src/run/checkedInput.ts';
import { queryColumns } from '../../src/run/queryColumns.ts';
import { tempDir } from '../helpers/project.ts';

function input(schema: Column[]): CheckedInput {
  return { dataset: { name: 'events' } as Dataset, partitions: [], files: [], fingerprint: '', schema };
}

// Partitions of one analyzer whose inputs have the same schema return the same columns: the query is described
// once. A changed input schema is described anew; a query that failed to describe fails again.
describe('the columns of an analyzer’s query', () => {
  const engine = new DuckDBEngine();
  afterAll(async () => {
    await engine.closeIdle();
  });

  it('are described once per input schema, and never kept from a failure', async () => {
    const session = await engine.open({ memoryBytes: 100_000_000, threads: 1, spillDir: join(tempDir(), 'spill') });
    const described: string[] = [];
    const counting: EngineSession = Object.assign(Object.create(session) as EngineSession, {
      describe: (sql: string) => {
        described.push(sql);
        return session.describe(sql);
      },
    });
    try {
      const sql = `SELECT ad_id, sum(bid) AS total FROM events WHERE ${Date.now()} > 0 GROUP BY ad_id`;
      await session.exec('CREATE VIEW events AS SELECT 1::INTEGER AS ad_id, 2.5::DOUBLE AS bid');
      const v1 = [
        { name: 'ad_id', type: 'INTEGER' },
        { name: 'bid', type: 'DOUBLE' },
      ];
      const first = await queryColumns(counting, sql, [input(v1)]);
      expect(first).toEqual([
        expect.objectContaining({ name: 'ad_id', type: 'INTEGER' }),
        expect.objectContaining({ name: 'total', type: 'DOUBLE' }),
      ]);
      expect(await queryColumns(counting, sql, [input(v1)])).toEqual(first);
      expect(described).toHaveLength(1);

      // bid became DECIMAL: sum's type follows it.
      await session.exec('CREATE OR REPLACE VIEW events AS SELECT 1::INTEGER AS ad_id, 2.5::DECIMAL(9,2) AS bid');
      const v2 = [v1[0]!, { name: 'bid', type: 'DECIMAL(9,2)' }];
      const changed = await queryColumns(counting, sql, [input(v2)]);
      expect(changed[1]).toMatchObject({ name: 'total', type: 'DECIMAL(38,2)' });
      expect(described).toHaveLength(2);

      const broken = `SELECT nope FROM events WHERE ${Date.now()} > 0`;
      for (let i = 0; i < 2; i++) await expect(queryColumns(counting, broken, [input(v2)])).rejects.toThrow(/nope/);
      expect(described).toHaveLength(4);
    } finally {
      session.close();
    }
  });
});
