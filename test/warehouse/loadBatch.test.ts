import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestProject } from '../helpers/project.ts';
import { projectOn, type ProjectOnWarehouse, tableState, versionStats } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const HOURS = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'];

// Loads owed on a DuckDB warehouse file go in batches: one transaction and one commit for several
// (src/warehouse/loader.ts loadVersions). Each hour is published by a `recount run` killed in its own load, so
// `recount load --pending` then has three loads to do at once.
describe('loads in one transaction (DuckDB warehouse file)', () => {
  let on: ProjectOnWarehouse | undefined;
  let url: string;
  let tp: TestProject;

  beforeAll(async () => {
    on = await projectOn('duckdb', 'batch', { hours: 3, rowsPerHour: 5_000 });
    ({ tp, url } = on);
  });
  afterAll(async () => {
    await on?.stop();
  });

  async function publishWithLoadsOwed(): Promise<void> {
    for (const h of HOURS) {
      const killed = tp.cli(['run', A, '--partition', h], { RECOUNT_FAULT: 'during-load-copy' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
    }
  }

  it('a batch killed before its commit leaves none of its loads in the table; all stay owed and load exactly once after', async () => {
    await publishWithLoadsOwed();
    const killed = tp.cli(['load', A, '--pending'], { RECOUNT_FAULT: 'before-batch-commit' });
    expect(killed.signal, `${killed.stderr}${killed.stdout}`).toBe('SIGKILL');
    const ctx = await tp.open();
    try {
      let st = await tableState(url, tp.dir, A);
      // Nothing of the batch: not its rows, not its records (the table itself was created in it).
      expect(st.loads.size).toBe(0);
      expect(st.stats.size).toBe(0);
      for (const h of HOURS) {
        const seq = Number((await ctx.store.getPartition(A, h))!.published_seq);
        expect((await ctx.store.loads.get(A, h, seq))?.status, h).toBe('pending');
      }
      const retry = tp.cli(['--json', 'load', A, '--pending']);
      expect(retry.code, retry.stderr).toBe(0);
      expect(retry.json.loads.map((l: { status: string }) => l.status)).toEqual(['loaded', 'loaded', 'loaded']);
      st = await tableState(url, tp.dir, A);
      for (const h of HOURS) {
        const seq = Number((await ctx.store.getPartition(A, h))!.published_seq);
        const v = await versionStats(ctx.store, A, h, seq);
        expect(st.stats.get(h), h).toEqual({ partition: h, rows: v.rows, checksum: v.checksum });
        expect(st.loads.get(h), h).toMatchObject({ version: seq, rows: v.rows, checksum: v.checksum });
        expect(await ctx.store.loads.get(A, h, seq), h).toMatchObject({ status: 'loaded', rows: v.rows });
      }
      expect(tp.cli(['--json', 'monitor']).code).toBe(0);
    } finally {
      await ctx.close();
    }
  });

  it('one bad version in a batch holds back no other: the rest load, it alone is recorded failed with its error', async () => {
    await publishWithLoadsOwed();
    const ctx = await tp.open();
    try {
      const seqs = new Map<string, number>();
      for (const h of HOURS) seqs.set(h, Number((await ctx.store.getPartition(A, h))!.published_seq));
      // The middle hour's first file overwritten in place with as many zero bytes: same size, not Parquet.
      const bad = (await ctx.store.getVersion(A, HOURS[1]!, seqs.get(HOURS[1]!)!))!;
      const file = join(bad.dir, readdirSync(bad.dir).find((f) => f.endsWith('.parquet'))!);
      writeFileSync(file, Buffer.alloc(statSync(file).size));

      const r = tp.cli(['--json', 'load', A, '--pending']);
      expect(r.code).not.toBe(0);
      const by = new Map(r.json.loads.map((l: { partition: string }) => [l.partition, l]));
      expect(by.get(HOURS[0]!)).toMatchObject({ status: 'loaded', version: seqs.get(HOURS[0]!) });
      expect(by.get(HOURS[1]!)).toMatchObject({ status: 'failed', error: { code: 'VERSION_FILES_MISSING' } });
      expect(by.get(HOURS[2]!)).toMatchObject({ status: 'loaded', version: seqs.get(HOURS[2]!) });

      const st = await tableState(url, tp.dir, A);
      for (const h of [HOURS[0]!, HOURS[2]!]) {
        const v = await versionStats(ctx.store, A, h, seqs.get(h)!);
        expect(st.stats.get(h), h).toEqual({ partition: h, rows: v.rows, checksum: v.checksum });
      }
      // The bad hour keeps what the table held before: the version the first test loaded.
      expect(st.loads.get(HOURS[1]!)!.version).toBeLessThan(seqs.get(HOURS[1]!)!);
      expect(await ctx.store.loads.get(A, HOURS[1]!, seqs.get(HOURS[1]!)!)).toMatchObject({
        status: 'failed',
        error_code: 'VERSION_FILES_MISSING',
      });
    } finally {
      await ctx.close();
    }
  });
});
