import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/gen/events.ts';
import type { TestProject } from '../helpers/project.ts';
import { projectOn, type ProjectOnWarehouse, tableState, versionStats } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const P = '2023-10-12T00';

// A real `recount run` child process publishes a new version, then SIGKILLs itself in the middle of the load
// that follows (RECOUNT_FAULT): during the COPY/INSERT, and after reconciliation just before COMMIT.
describe.each(['duckdb', 'postgres'] as const)('a load killed mid-way (%s warehouse)', (kind) => {
  let on: ProjectOnWarehouse | undefined;
  let url: string;
  let tp: TestProject;

  beforeAll(async () => {
    on = await projectOn(kind, 'crash', { hours: 1, rowsPerHour: 20_000 });
    ({ tp, url } = on);
  });
  afterAll(async () => {
    await on?.stop();
  });

  it('leaves the previous rows intact (I5), is owed as pending, and load --pending then gives exactly the manifest’s rows', async () => {
    expect(tp.cli(['run', A, '--partition', P]).code).toBe(0);
    const ctx = await tp.open();
    try {
      const v1 = await versionStats(ctx.store, A, P, 1);
      let st = await tableState(url, tp.dir, A);
      expect(st.loads.get(P)).toMatchObject({ version: 1, rows: v1.rows, checksum: v1.checksum });
      expect(st.stats.get(P)).toEqual({ partition: P, rows: v1.rows, checksum: v1.checksum });

      for (const [i, fault] of (['during-load-copy', 'before-load-commit'] as const).entries()) {
        // New input, so the next version has other rows than v1.
        await generateEvents({
          out: join(tp.dir, 'data/events'),
          start: P,
          hours: 1,
          rowsPerHour: 20_000 - 4_000 * (i + 1),
          seed: 40 + i,
          ads: 150 + 20 * i,
          threads: 1,
        });
        const killed = tp.cli(['run', A, '--partition', P], { RECOUNT_FAULT: fault });
        expect(killed.signal, `${fault}: ${killed.stderr}`).toBe('SIGKILL');
        const seq = i + 2;
        expect(Number((await ctx.store.getPartition(A, P))!.published_seq)).toBe(seq);
        st = await tableState(url, tp.dir, A);
        expect(st.loads.get(P)!.version).toBe(1);
        expect(st.stats.get(P)).toEqual({ partition: P, rows: v1.rows, checksum: v1.checksum });
        expect(await ctx.store.loads.get(A, P, seq)).toMatchObject({ status: 'pending', table_name: A });
      }

      const retry = tp.cli(['--json', 'load', A, '--pending']);
      expect(retry.code, retry.stderr).toBe(0);
      expect(retry.json.loads).toEqual([expect.objectContaining({ partition: P, version: 3, status: 'loaded' })]);
      const v3 = await versionStats(ctx.store, A, P, 3);
      expect(v3.checksum).not.toBe(v1.checksum);
      st = await tableState(url, tp.dir, A);
      expect(st.stats.get(P)).toEqual({ partition: P, rows: v3.rows, checksum: v3.checksum });
      expect(st.loads.get(P)).toMatchObject({ version: 3, rows: v3.rows, checksum: v3.checksum });
      expect(await ctx.store.loads.get(A, P, 3)).toMatchObject({
        status: 'loaded',
        rows: v3.rows,
        checksum: v3.checksum,
      });
      expect(await ctx.store.loads.pending({ analyzer: A, includeFailed: true })).toEqual([]);
      const monitor = tp.cli(['--json', 'monitor']);
      expect(monitor.code, JSON.stringify(monitor.json?.findings)).toBe(0);
    } finally {
      await ctx.close();
    }
  });
});
