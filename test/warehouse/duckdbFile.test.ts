import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { EMBEDDED, tableState } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const P = '2023-10-12T00';

// The embedded warehouse is a single-writer file: another process holding it makes a load wait, then pend.
describe('the DuckDB warehouse file held by another process', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 2000 });
    expect(tp.cli(['run', A, '--partition', P]).code).toBe(0);
  });
  afterAll(() => tp?.cleanup());

  it('a load waits for the file, and past its wait is recorded pending (WAREHOUSE_BUSY) with the rows kept', async () => {
    const holder = await DuckDBInstance.create(join(tp.dir, '.recount/warehouse.duckdb'));
    const child = tp.spawnCli(['--json', 'load', A, '--partition', P, '--force']);
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const busy = tp.cli(['--json', 'load', A, '--partition', P, '--force'], {
        RECOUNT_WAREHOUSE_LOCK_TIMEOUT_MS: '300',
      });
      expect(busy.code).toBe(1);
      expect(busy.json.error).toMatchObject({
        code: 'WAREHOUSE_BUSY',
        subject: join(tp.dir, '.recount/warehouse.duckdb'),
      });
      expect(busy.json.error.hint).toContain('recount load --pending');
    } finally {
      holder.closeSync();
    }
    // The first load kept waiting (default 60 s) and goes through once the file is free.
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout).loads).toEqual([expect.objectContaining({ partition: P, version: 1, status: 'loaded' })]);
    const ctx = await tp.open();
    try {
      expect(await ctx.store.loads.get(A, P, 1)).toMatchObject({ status: 'loaded' });
    } finally {
      await ctx.close();
    }
    expect((await tableState(EMBEDDED, tp.dir, A)).loads.get(P)).toMatchObject({ version: 1 });
  });
});
