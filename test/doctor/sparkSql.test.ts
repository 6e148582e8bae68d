import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { runDoctor } from '../../src/doctor/runDoctor.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// doctor plans every analyzer's SQL with DuckDB. SQL that only Spark knows (nvl2 here) does not plan there: for an
// analyzer that runs on Spark that is a warning saying how to check it on Spark, not a problem; on DuckDB it stays a
// problem. (No Spark server is needed: doctor does not plan on Spark; its endpoint check is another finding.)

const SPARK_ONLY_SQL = 'SELECT ad_id, nvl2(user_segment, 1, 0) AS has_segment, count(*) AS n FROM events GROUP BY 1, 2';

const analyzer = (name: string, engine: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: '${name}', inputs: ['events'], grain: 'hour', ${engine}
  sql: '${SPARK_ONLY_SQL}',
});
`;

describe('recount doctor on SQL only Spark knows', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({
      examples: false,
      hours: 1,
      rowsPerHour: 200,
      analyzers: {
        on_spark: analyzer('on_spark', "engine: { spark: { remote: 'sc://127.0.0.1:9' } },"),
        on_duckdb: analyzer('on_duckdb', ''),
      },
    });
  });
  afterAll(() => tp.cleanup());

  it('is a warning with a way to check it on Spark for a Spark analyzer, and a problem for a DuckDB one', async () => {
    const r = await runDoctor({ projectDir: tp.dir, engine: new DuckDBEngine(), minFreeBytes: 1 });
    const compile = (file: string) => r.findings.find((f) => f.check === 'compile' && f.subject === file);
    expect(compile('analyzers/on_spark.ts')).toMatchObject({ status: 'warning' });
    expect(compile('analyzers/on_spark.ts')!.message).toContain('runs on Spark');
    expect(compile('analyzers/on_spark.ts')!.message).toContain('nvl2');
    expect(compile('analyzers/on_spark.ts')!.hint).toContain('recount audit on_spark --engines spark,duckdb');
    expect(compile('analyzers/on_duckdb.ts')).toMatchObject({ status: 'problem' });
    expect(compile('analyzers/on_duckdb.ts')!.hint).toContain('fix the sql of analyzers/on_duckdb.ts');
  });
});
