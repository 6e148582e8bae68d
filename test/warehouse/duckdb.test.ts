import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDuckDBWarehouse } from '../../src/warehouse/duckdb/duckdbWarehouse.ts';
import { tempDir } from '../helpers/project.ts';
import { warehouseContract } from './contract.ts';

warehouseContract('DuckDB file', async () => {
  const dir = tempDir('recount-wh-duckdb-');
  const path = join(dir, 'warehouse.duckdb');
  return {
    kind: 'duckdb',
    open: () => openDuckDBWarehouse(path),
    tamper: async (sql) => {
      // The file admits one process; in this one, by hand means outside the load protocol, on the same file.
      const wh = await openDuckDBWarehouse(path);
      try {
        await wh.query(sql);
      } finally {
        await wh.close();
      }
    },
    text: (c) => `${c}::VARCHAR`,
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
