import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/project.ts';
import {
  commandPlan,
  repartitionByKeys,
  sql,
  writeParquet,
  SparkConnectClient,
} from '../../../src/engine/spark/connect/index.ts';
import { bucketsOfFiles } from '../../../src/engine/spark/sparkLayout.ts';
import { RecountError } from '../../../src/errors.ts';
import { sparkRemote } from '../../spark/remote.ts';

// The files Spark writes are renamed by the bucket their rows hash to, never by task number: a file holding two
// buckets, or two files holding one, fail the attempt instead of being published under a stable name.
describe("Spark's written files are named by the bucket Spark's own hash gives their rows", () => {
  let client: SparkConnectClient;
  let dir: string;
  beforeAll(() => {
    client = SparkConnectClient.connect(sparkRemote());
    dir = tempDir('recount-spark-verify-');
  });
  afterAll(async () => {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (
    query: string,
    folder: string,
    mode: 'errorIfExists' | 'append' = 'errorIfExists',
    partitions?: number,
  ) =>
    client.execute(
      commandPlan(
        writeParquet(partitions ? repartitionByKeys(sql(query), partitions, ['id']) : sql(query), folder, { mode }),
      ),
      { reattachable: false },
    );

  it('a repartition by the key gives one bucket a file, with its rows counted', async () => {
    const folder = join(dir, 'good');
    await write('SELECT id FROM range(40)', folder, 'errorIfExists', 4);
    const held = await bucketsOfFiles(client, folder, ['id'], 4);
    expect(held.reduce((s, h) => s + h.rows, 0)).toBe(40);
    expect(new Set(held.map((h) => h.bucket)).size).toBe(held.length);
  });

  it('a file whose rows hash to two buckets fails the attempt', async () => {
    const folder = join(dir, 'mixed');
    await write('SELECT id FROM range(40)', folder);
    const err = await bucketsOfFiles(client, folder, ['id'], 4).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RecountError);
    expect((err as RecountError).message).toMatch(/with rows of buckets \d+ to \d+/);
  });

  it('two files of one bucket (an output committed twice) fail the attempt', async () => {
    const folder = join(dir, 'twice');
    await write('SELECT CAST(7 AS BIGINT) AS id', folder);
    await write('SELECT CAST(7 AS BIGINT) AS id', folder, 'append');
    const err = await bucketsOfFiles(client, folder, ['id'], 4).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as RecountError).message).toMatch(/two files of bucket/);
  });
});
