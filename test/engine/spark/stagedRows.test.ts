import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/project.ts';
import { SparkEngine } from '../../../src/engine/spark/sparkEngine.ts';
import { parquetFiles, sparkDialect } from '../../../src/engine/spark/sparkDialect.ts';
import type { EngineSession } from '../../../src/engine/engine.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { writeParquetWithDuckDB } from './duckdbFiles.ts';

// The checks read the staged files as one Spark relation (a glob of their names: one schema-inference job, not one
// per file). It must read exactly those files: never a file beside them, also in a folder with glob characters, also
// when there is one file, and inputs read by Spark's reader too.
describe('Spark reads exact staged files as one relation', () => {
  let session: EngineSession;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('recount-spark-staged-');
    session = await new SparkEngine({ remote: sparkRemote() }).open({
      memoryBytes: 300_000_000,
      threads: 2,
      spillDir: join(dir, 'spill'),
    });
  });
  afterAll(() => {
    session.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('files of one folder are one relation, others one each', () => {
    expect(parquetFiles(['/a/part-0.parquet', '/a/part-1.parquet'])).toEqual([
      'parquet.`/a/{part-0.parquet,part-1.parquet}`',
    ]);
    expect(parquetFiles(['/a/x.parquet', '/b/y.parquet'])).toHaveLength(2);
    expect(parquetFiles(['/a/x,y.parquet', '/a/z.parquet'])).toHaveLength(2);
  });

  for (const folder of ['plain', 'we[i]rd {x},y*?']) {
    it(`reads the listed files and not the one beside them (folder '${folder}')`, async () => {
      const at = join(dir, folder);
      mkdirSync(at, { recursive: true });
      const [a, b] = await writeParquetWithDuckDB(at, [
        ['part-00000.parquet', 'SELECT range AS id FROM range(3)'],
        ['part-00001.parquet', 'SELECT range + 10 AS id FROM range(4)'],
        ['part-00002.parquet', 'SELECT range + 100 AS id FROM range(50)'],
      ]);
      const rows = await session.query<{ n: string; files: string; top: string; rows_in_files: string }>(
        `SELECT count(*) AS n, count(DISTINCT __file) AS files, max(id) AS top,
                max((${sparkDialect.fileRowsSql([a!, b!])})) AS rows_in_files
         FROM (${sparkDialect.stagedRows([a!, b!])}) s`,
      );
      expect(rows[0]).toEqual({ n: '7', files: '2', top: '13', rows_in_files: '7' });
    });

    it(`reads one file alone, and inputs as views, as written (folder '${folder}')`, async () => {
      const at = join(dir, `${folder}-one`);
      mkdirSync(at, { recursive: true });
      const [a, b] = await writeParquetWithDuckDB(at, [
        ['part-00000.parquet', 'SELECT range AS id FROM range(3)'],
        ['part-00001.parquet', 'SELECT range + 10 AS id FROM range(4)'],
      ]);
      const [one] = await session.query<{ n: string }>(
        `SELECT count(*) AS n FROM (${sparkDialect.stagedRows([a!])}) s`,
      );
      expect(one).toEqual({ n: '3' });
      // Inputs are read as exact files (Spark's own reader, with and without a known schema).
      await session.createParquetView('one_input', [b!]);
      await session.createParquetView('two_inputs', [a!, b!], [{ name: 'id', type: 'bigint' }]);
      const [views] = await session.query<{ one: string; two: string }>(
        'SELECT (SELECT count(*) FROM one_input) AS one, (SELECT count(*) FROM two_inputs) AS two',
      );
      expect(views).toEqual({ one: '4', two: '7' });
    });
  }
});
