import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecountError } from '../../../src/errors.ts';
import {
  SparkConnectClient,
  sql,
  tableRows,
  readParquet,
  createOrReplaceTempView,
  commandPlan,
  table,
} from '../../../src/engine/spark/connect/index.ts';
import { freePort, SPARK_VERSION } from '../../spark/sparkServer.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { tempDir } from '../../helpers/project.ts';
import { writeParquetWithDuckDB } from './duckdbFiles.ts';
import { join } from 'node:path';

async function rejection(p: Promise<unknown>): Promise<RecountError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RecountError);
    return err as RecountError;
  }
  throw new Error('expected a rejection');
}

describe('Spark Connect client', () => {
  let client: SparkConnectClient;
  beforeAll(() => {
    client = SparkConnectClient.connect(sparkRemote());
  });
  afterAll(async () => {
    await client.close();
  });

  it('runs SELECT 1 in a session and returns the rows as Arrow', async () => {
    const t = await client.collect(
      sql(
        "SELECT 1 AS one, 'a' AS s, CAST(9007199254740993 AS BIGINT) AS big, DATE'2023-10-12' AS d, CAST(1.25 AS DECIMAL(10,2)) AS dec",
      ),
    );
    expect(t.numRows).toBe(1);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['one', 's', 'big', 'd', 'dec']);
    expect(tableRows(t)).toEqual([{ one: 1, s: 'a', big: '9007199254740993', d: '2023-10-12', dec: '1.25' }]);
    expect(client.serverSideSessionId).toMatch(/[0-9a-f-]{36}/);
  });

  it('returns an empty result with its columns', async () => {
    const t = await client.collect(sql('SELECT id FROM range(10) WHERE id < 0'));
    expect(t.numRows).toBe(0);
    expect(tableRows(t)).toEqual([]);
  });

  it('tells a query’s schema without running it (AnalyzePlan)', async () => {
    const fields = await client.schema(
      sql(
        "SELECT id, CAST(id AS INT) AS i, 'x' AS s, id * 1.5D AS f, CAST(id AS DECIMAL(18,2)) AS d, array(id) AS a FROM range(3)",
      ),
    );
    expect(fields).toEqual([
      { name: 'id', type: 'bigint', nullable: false },
      { name: 'i', type: 'int', nullable: false },
      { name: 's', type: 'string', nullable: false },
      { name: 'f', type: 'double', nullable: false },
      { name: 'd', type: 'decimal(18,2)', nullable: true },
      { name: 'a', type: 'array<bigint>', nullable: false },
    ]);
  });

  it('tells the server’s Spark version', async () => {
    const v = await client.sparkVersion();
    if (!process.env.RECOUNT_SPARK_REMOTE) expect(v).toBe(SPARK_VERSION);
    expect(v).toMatch(/^4\.\d+\.\d+/);
  });

  it('sets and reads session settings, per session', async () => {
    await client.setConf({ 'spark.sql.shuffle.partitions': '3', 'recount.test.key': 'v1' });
    expect(await client.getConf(['spark.sql.shuffle.partitions', 'recount.test.key', 'recount.test.unset'])).toEqual({
      'spark.sql.shuffle.partitions': '3',
      'recount.test.key': 'v1',
      'recount.test.unset': undefined,
    });
    const other = SparkConnectClient.connect(sparkRemote());
    try {
      expect((await other.getConf(['recount.test.key']))['recount.test.key']).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('reads exactly the Parquet files it is given, and runs SQL over them as a temp view', async () => {
    const dir = tempDir('recount-spark-read-');
    const files = await writeParquetWithDuckDB(dir, [
      ['a.parquet', 'SELECT range AS id, range % 3 AS k FROM range(0, 10)'],
      ['b.parquet', 'SELECT range AS id, range % 3 AS k FROM range(10, 25)'],
      ['c.parquet', 'SELECT range AS id, range % 3 AS k FROM range(100, 1100)'], // in the folder, not in the list
    ]);
    await client.execute(commandPlan(createOrReplaceTempView(readParquet([files[0]!, files[1]!]), 'events')));
    const rows = tableRows(
      await client.collect(sql('SELECT k, count(*) AS n, sum(id) AS s FROM events GROUP BY k ORDER BY k')),
    );
    expect(rows).toEqual([
      { k: '0', n: '9', s: '108' },
      { k: '1', n: '8', s: '92' },
      { k: '2', n: '8', s: '100' },
    ]);
    expect(tableRows(await client.collect(table('events'))).length).toBe(25);
  });

  it('turns bad SQL into SQL_INVALID naming Spark’s error class and the endpoint', async () => {
    const err = await rejection(client.collect(sql('SELEC 1')));
    expect(err.code).toBe('SQL_INVALID');
    expect(err.message).toMatch(/PARSE_SYNTAX_ERROR/);
    expect(err.hint).toContain(client.endpoint);
    expect(err.details).toMatchObject({
      errorClass: 'PARSE_SYNTAX_ERROR',
      sqlState: '42601',
      endpoint: client.endpoint,
    });

    const col = await rejection(client.schema(sql('SELECT nope FROM range(1)')));
    expect(col.code).toBe('SQL_INVALID');
    expect(col.details?.errorClass).toMatch(/^UNRESOLVED_COLUMN/);
    expect(col.subject).toBe('`nope`');
  });

  it('turns a missing input file into INPUT_MISSING naming the file', async () => {
    const missing = join(tempDir('recount-spark-missing-'), 'gone.parquet');
    const err = await rejection(client.collect(readParquet([missing])));
    expect(err.code).toBe('INPUT_MISSING');
    expect(err.subject).toContain('gone.parquet');
    expect(err.hint).toMatch(/shared mount/);
  });

  it('speaks TLS when the connection string has a token: a plain server cannot be reached that way, and the token is never shown', async () => {
    const withToken = SparkConnectClient.connect(`${sparkRemote()}/;token=s3cret-token`);
    try {
      expect(withToken.remote.useSsl).toBe(true);
      const err = await rejection(withToken.sparkVersion());
      expect(err.code).toBe('ENGINE_UNREACHABLE');
      expect(JSON.stringify(err.toJSON())).not.toContain('s3cret-token');
    } finally {
      await withToken.close();
    }
  });

  it('turns an unreachable server into ENGINE_UNREACHABLE with a hint naming the endpoint', async () => {
    const port = await freePort();
    const gone = SparkConnectClient.connect(`sc://127.0.0.1:${port}`);
    try {
      const err = await rejection(gone.collect(sql('SELECT 1')));
      expect(err.code).toBe('ENGINE_UNREACHABLE');
      expect(err.subject).toBe(`sc://127.0.0.1:${port}`);
      expect(err.hint).toContain(`sc://127.0.0.1:${port}`);
      const err2 = await rejection(gone.sparkVersion());
      expect(err2.code).toBe('ENGINE_UNREACHABLE');
    } finally {
      await gone.close();
    }
  });
});
