import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/project.ts';
import { commandPlan, repartitionByKeys, sql, writeParquet } from '../../../src/engine/spark/connect/index.ts';
import type { SparkConnectClient } from '../../../src/engine/spark/connect/index.ts';
import { SparkEngine } from '../../../src/engine/spark/sparkEngine.ts';
import { bucketFiles } from '../../../src/engine/spark/sparkLayout.ts';
import { footerRows } from '../../../src/engine/spark/footerRows.ts';
import type { EngineSession } from '../../../src/engine/engine.ts';
import { partFileName } from '../../../src/layout/bucketing.ts';
import { runChecks } from '../../../src/checks/runChecks.ts';
import { RecountError } from '../../../src/errors.ts';
import { sparkRemote } from '../../spark/remote.ts';

// The files Spark writes are named by the task that wrote them (task i of repartition(n, keys) holds bucket i)
// without a Spark job; that every row is in its bucket's file is proved by the key_layout check, in the checks'
// one job, before anything is published. These tests break each half and see the attempt fail.
describe('Spark output files are named by their task and proved by the key_layout check', () => {
  let session: EngineSession;
  let client: SparkConnectClient;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('recount-spark-verify-');
    session = await new SparkEngine({ remote: sparkRemote() }).open({
      memoryBytes: 300_000_000,
      threads: 2,
      spillDir: join(dir, 'spill'),
    });
    client = (session as unknown as { client: SparkConnectClient }).client;
  });
  afterAll(() => {
    session.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (query: string, folder: string, mode: 'errorIfExists' | 'append' = 'errorIfExists', n?: number) =>
    client.execute(
      commandPlan(writeParquet(n ? repartitionByKeys(sql(query), n, ['id']) : sql(query), folder, { mode })),
      { reattachable: false },
    );

  const partsIn = (folder: string) =>
    readdirSync(folder).filter((f) => f.startsWith('part-') && f.endsWith('.parquet'));

  /** Rename the written files as writeSparkLayout does and run the built-in checks over them. */
  async function stageAndCheck(folder: string, buckets: number) {
    const byBucket = bucketFiles(folder, partsIn(folder), buckets);
    const staged = [...byBucket].map(([bucket, file]) => {
      renameSync(join(folder, file), join(folder, partFileName(bucket)));
      return { name: partFileName(bucket), bucket };
    });
    // The rows each file holds, as writeSparkLayout reads them (from the footer, by another engine than Spark).
    const rows = await footerRows(
      await session.sqlParser(),
      staged.map((s) => join(folder, s.name)),
    );
    const files = staged.map((s, i) => ({ name: s.name, rows: rows[i]! }));
    return runChecks({ session, dir: folder, files, keys: ['id'], checks: [] });
  }

  it('a repartition by the key puts bucket i in the file of task i, and every check passes', async () => {
    const folder = join(dir, 'good');
    await write('SELECT id FROM range(40)', folder, 'errorIfExists', 4);
    expect([...bucketFiles(folder, partsIn(folder), 4).keys()].sort()).toEqual([0, 1, 2, 3]);
    const results = await stageAndCheck(folder, 4);
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['row_count', true],
      ['unique_keys', true],
      ['not_null_keys', true],
      ['key_layout', true],
    ]);
  });

  it('a file whose rows hash to several buckets fails key_layout (nothing is published)', async () => {
    const folder = join(dir, 'mixed');
    // No repartition: range's tasks hold rows of every bucket.
    await write('SELECT id FROM range(40)', folder);
    const results = await stageAndCheck(folder, 4);
    const layout = results.find((r) => r.name === 'key_layout')!;
    expect(layout.passed).toBe(false);
    expect(layout.failing).toBeGreaterThan(0);
    expect(layout.sample[0]).toHaveProperty('expected_file_index');
  });

  it('two files of one bucket (an output committed twice) fail the attempt', async () => {
    const folder = join(dir, 'twice');
    await write('SELECT CAST(7 AS BIGINT) AS id', folder);
    await write('SELECT CAST(7 AS BIGINT) AS id', folder, 'append');
    expect(() => bucketFiles(folder, partsIn(folder), 4)).toThrow(/two files of bucket 0/);
  });

  it('a file of a task outside the buckets fails the attempt', () => {
    const err = (() => {
      try {
        bucketFiles(dir, ['part-00005-0b1c-c000.snappy.parquet'], 4);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RecountError);
    expect((err as RecountError).message).toMatch(/not the file of one of the 4 buckets/);
  });
});
