import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/project.ts';
import { SparkEngine } from '../../../src/engine/spark/sparkEngine.ts';
import type { SparkConnectClient } from '../../../src/engine/spark/connect/index.ts';
import type { Column, EngineSession, WrittenLayout } from '../../../src/engine/engine.ts';
import { runChecks } from '../../../src/checks/runChecks.ts';
import type { CheckResult } from '../../../src/checks/check.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { writeParquetWithDuckDB } from './duckdbFiles.ts';

// After a write, the checks read the staged files back with settings sized to them: files no larger than one
// shuffle partition of adaptive execution are read by one scan task into one shuffle partition (one stage less);
// larger ones by as many partitions as files. Either way, every damage a retry or a buggy writer can leave in a file
// must still fail the checks: rows out of key order, a key twice, a row in another bucket's file, a row lost.
const KEYS = ['ad_id', 'seg'];
const QUERY = 'SELECT id AS ad_id, CAST(id % 3 AS STRING) AS seg, id * 10 AS n FROM range(300) WHERE id % 7 <> 0';
const FILES = 3;
const CUSTOM = [{ name: 'non_negative', sql: 'SELECT * FROM output WHERE n < 0', severity: 'error' as const }];

const SIZINGS: { sizing: string; conf: Record<string, string>; partitions: string }[] = [
  { sizing: 'small files: one scan task, one shuffle partition', conf: {}, partitions: '1' },
  {
    sizing: 'files larger than a shuffle partition: a partition per file',
    conf: { 'spark.sql.adaptive.advisoryPartitionSizeInBytes': '1' },
    partitions: String(FILES),
  },
];

for (const { sizing, conf, partitions } of SIZINGS) {
  describe(`Spark checks read back staged files (${sizing})`, () => {
    let session: EngineSession;
    let root: string;
    let written: WrittenLayout;
    let columns: Column[];
    let copies = 0;
    beforeAll(async () => {
      root = tempDir('recount-spark-readback-');
      session = await new SparkEngine({ remote: sparkRemote(), conf }).open({
        memoryBytes: 300_000_000,
        threads: 2,
        spillDir: join(root, 'spill'),
      });
      columns = await session.describe(QUERY);
      mkdirSync(join(root, 'written'));
      written = await session.writeLayout({ sql: QUERY, keys: KEYS, files: FILES, dir: join(root, 'written') });
    });
    afterAll(() => {
      session.close();
      rmSync(root, { recursive: true, force: true });
    });

    const file = (dir: string, i: number) => join(dir, written.files[i]!.name);

    /** A copy of the written files, file `i` rewritten (by DuckDB) from `select` over its own rows as `f`. */
    async function damaged(i: number, select: (f: string) => string): Promise<string> {
      const dir = join(root, `copy-${++copies}`);
      cpSync(join(root, 'written'), dir, { recursive: true });
      const src = `read_parquet('${file(dir, i)}')`;
      await writeParquetWithDuckDB(dir, [['rewritten.parquet', select(src)]]);
      renameSync(join(dir, 'rewritten.parquet'), file(dir, i));
      return dir;
    }

    /** The checks of an attempt over `dir`, the files claiming `rows` each (what the write reported). */
    async function check(dir: string, rows = written.files.map((f) => f.rows)): Promise<Record<string, CheckResult>> {
      const files = written.files.map((f, i) => ({ name: f.name, rows: rows[i]! }));
      const results = await runChecks({ session, dir, files, keys: KEYS, checks: CUSTOM, columns });
      return Object.fromEntries(results.map((r) => [r.name, r]));
    }

    it(`sizes the read-back to the files (${partitions} shuffle partition(s)) and passes every check`, async () => {
      const client = (session as unknown as { client: SparkConnectClient }).client;
      expect((await client.getConf(['spark.sql.shuffle.partitions']))['spark.sql.shuffle.partitions']).toBe(partitions);
      const r = await check(join(root, 'written'));
      expect(Object.values(r).map((c) => [c.name, c.passed, c.failing])).toEqual([
        ['row_count', true, 0],
        ['unique_keys', true, 0],
        ['not_null_keys', true, 0],
        ['key_layout', true, 0],
        ['non_negative', true, 0],
      ]);
    });

    it('rows out of key order within a file fail key_layout', async () => {
      const dir = await damaged(0, (f) => `SELECT * FROM ${f} ORDER BY ad_id DESC, seg DESC`);
      const r = await check(dir);
      expect(r.key_layout!.passed).toBe(false);
      expect(r.key_layout!.failing).toBe(written.files[0]!.rows - 1);
      expect(r.key_layout!.sample.every((s) => s.out_of_order === true && s.misplaced === false)).toBe(true);
      expect(r.unique_keys!.passed).toBe(true);
    });

    it('a row written twice into its own file (in key order) fails unique_keys', async () => {
      const dir = await damaged(
        1,
        (f) =>
          `SELECT * FROM (SELECT * FROM ${f} UNION ALL (SELECT * FROM ${f} ORDER BY ad_id LIMIT 1)) ORDER BY ad_id, seg`,
      );
      const rows = written.files.map((f, i) => f.rows + (i === 1 ? 1 : 0));
      const r = await check(dir, rows);
      expect(r.unique_keys).toMatchObject({ passed: false, failing: 1 });
      expect(r.unique_keys!.sample[0]).toHaveProperty('copies');
      expect(r.row_count!.passed).toBe(true);
    });

    it('a row of another bucket in a file (kept in key order) fails key_layout, naming the file it belongs in', async () => {
      const dir = await damaged(
        0,
        (f) =>
          `SELECT * FROM (SELECT * FROM ${f} UNION ALL (SELECT * FROM read_parquet('${file(join(root, 'written'), 2)}') ORDER BY ad_id LIMIT 1)) ORDER BY ad_id, seg`,
      );
      const rows = written.files.map((f, i) => f.rows + (i === 0 ? 1 : 0));
      const r = await check(dir, rows);
      expect(r.key_layout).toMatchObject({ passed: false, failing: 1 });
      expect(r.key_layout!.sample[0]).toMatchObject({ misplaced: true, expected_file_index: 2 });
    });

    it('a file that lost a row the write reported fails row_count', async () => {
      const dir = await damaged(2, (f) => `SELECT * FROM ${f} ORDER BY ad_id, seg OFFSET 1`);
      const r = await check(dir);
      expect(r.row_count).toMatchObject({ passed: false, failing: 1 });
      expect(r.row_count!.sample[0]).toMatchObject({ written: 257, read_back: 256 });
    });
  });
}
