import pg from 'pg';
import { openPostgresWarehouse } from '../../src/warehouse/postgres/postgresWarehouse.ts';
import { maskUrl } from '../../src/warehouse/url.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { warehouseContract } from './contract.ts';

warehouseContract('PostgreSQL', async () => {
  const server = await startPostgres();
  const url = await server.createDatabase('contract');
  return {
    kind: 'postgres',
    open: () => openPostgresWarehouse(url, maskUrl(url), [server.password]),
    tamper: async (sql) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    text: (c) => `${c}::text`,
    teardown: () => server.stop(),
  };
});
