import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { lit } from '../../src/engine/sql.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duck, type TestProject } from '../helpers/project.ts';
import { readVersion } from '../../src/warehouse/scratchDuckdb.ts';
import { projectOn, type ProjectOnWarehouse, tableState, versionStats } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const P = '2023-10-12T00';

// Flip one byte near the start of a column chunk, where DuckDB then fails reading it (a Snappy or page error; a byte
// inside a literal run would silently change a value instead): the file keeps its size, so only its sha256 tells it
// from the published one. Bytes are tried until reading the file fails.
async function corrupt(file: string): Promise<void> {
  const chunks = await duck<{ at: string }>(
    `SELECT coalesce(dictionary_page_offset, data_page_offset)::VARCHAR AS at FROM parquet_metadata(${lit(file)})`,
  );
  const fd = openSync(file, 'r+');
  const flip = (at: number) => {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  };
  try {
    for (const { at } of chunks) {
      for (let d = 0; d < 64; d++) {
        flip(Number(at) + d);
        try {
          await duck(
            `SELECT sum(ad_id), sum(length(user_segment)), sum(impression_count), sum(total_bid) FROM ${readVersion([file])}`,
          );
        } catch {
          return;
        }
        flip(Number(at) + d);
      }
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`no single byte of ${file} made it unreadable`);
}

describe.each(['duckdb', 'postgres'] as const)(
  'a version file corrupted after publish, same size (%s warehouse)',
  (kind) => {
    let on: ProjectOnWarehouse | undefined;
    let url: string;
    let tp: TestProject;

    beforeAll(async () => {
      on = await projectOn(kind, 'corrupt', { hours: 1, rowsPerHour: 20_000 });
      ({ tp, url } = on);
      expect(tp.cli(['run', A, '--partition', P]).code).toBe(0);
    });
    afterAll(async () => {
      await on?.stop();
    });

    it('is VERSION_FILES_MISSING naming the file and its sha256, recorded failed (not retried), with the rows kept', async () => {
      const ctx = await tp.open();
      try {
        const v1 = await versionStats(ctx.store, A, P, 1);
        const file = v1.files[1]!;
        await corrupt(file);
        const r = tp.cli(['--json', 'load', A, '--partition', P, '--force']);
        expect(r.code).toBe(1);
        expect(r.json.loads[0]).toMatchObject({
          status: 'failed',
          error: { code: 'VERSION_FILES_MISSING', subject: file },
        });
        expect(r.json.loads[0].error.message).toContain(
          `file ${file.split('/').at(-1)} changed since it was published (sha256 differs from the manifest)`,
        );
        expect(await ctx.store.loads.get(A, P, 1)).toMatchObject({
          status: 'failed',
          error_code: 'VERSION_FILES_MISSING',
        });
        // Failed loads wait for a fix: recount serve does not retry them.
        expect(await ctx.store.loads.owed([A])).toEqual([]);
        const st = await tableState(url, tp.dir, A);
        expect(st.stats.get(P)).toMatchObject({ rows: v1.rows, checksum: v1.checksum });
      } finally {
        await ctx.close();
      }
    });
  },
);
