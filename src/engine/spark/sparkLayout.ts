import { copyFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LayoutRequest, StagedFile, WrittenLayout } from '../engine.ts';
import { RecountError } from '../../errors.ts';
import { faultPoint } from '../../fault.ts';
import { autoFileCount, partFileName } from '../../layout/bucketing.ts';
import {
  COALESCE_PARTITIONS,
  commandPlan,
  KEY_LAYOUT_CONF,
  readParquet,
  repartitionByKeys,
  sortWithinPartitions,
  sql,
  writeParquet,
  type SparkConnectClient,
} from './connect/index.ts';
import type { Relation } from './connect/gen/spark/connect/relations_pb.ts';
import { parquetPath } from './sparkDialect.ts';

/** The Parquet files a Spark write left in a folder (`part-<task>-<uuid>-c000.snappy.parquet`), without its _SUCCESS and .crc files. */
function writtenFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((f) => f.startsWith('part-') && f.endsWith('.parquet'))
    .sort();
}

/** The Spark task number in an output file's name (`part-00003-<uuid>-c000.snappy.parquet` -> 3). */
function taskOf(file: string): number {
  return Number(/^part-(\d+)-/.exec(file)?.[1] ?? Number.NaN);
}

/**
 * The file of each bucket, by the task that wrote it: under `repartition(files, keys)` task i receives exactly
 * the rows with pmod(hash(keys), files) = i, and one task writes one file (maxRecordsPerFile 0). Nothing here reads
 * a row: that every row is in the file of its bucket is the key_layout check's to prove, over the renamed files,
 * in the checks' one Spark job, before anything is published. Two files of one task (a task's output committed
 * twice) or a task outside the buckets fail the attempt here.
 */
export function bucketFiles(folder: string, parts: readonly string[], files: number): Map<number, string> {
  const byBucket = new Map<number, string>();
  for (const file of parts) {
    const task = taskOf(file);
    if (!Number.isInteger(task) || task >= files) {
      throw new RecountError('INTERNAL', `Spark wrote ${file}, not the file of one of the ${files} buckets`, {
        subject: join(folder, file),
        hint: 'nothing was published; rerun the partition, and report this (the write was not a repartition by key)',
      });
    }
    const other = byBucket.get(task);
    if (other) {
      throw new RecountError(
        'INTERNAL',
        `Spark wrote two files of bucket ${task}: ${other} and ${file} (a task's output committed twice)`,
        { subject: folder, hint: 'nothing was published; rerun the partition' },
      );
    }
    byBucket.set(task, file);
  }
  return byBucket;
}

/**
 * Run `fn` with adaptive execution's partition coalescing off when the layout needs it. When the query's last
 * shuffle is already hashed by the keys into as many partitions as there are files (a GROUP BY of the keys, with
 * as many shuffle partitions), Spark drops the repartition as redundant, and AQE may then coalesce that shuffle's
 * partitions: several buckets in one file (seen on Spark 4.1.3). With other counts the repartition stays and
 * coalescing, which the rest of the query gains from, is left on; the written files are verified either way.
 */
async function withoutCoalescing<T>(client: SparkConnectClient, files: number, fn: () => Promise<T>): Promise<T> {
  const key = COALESCE_PARTITIONS;
  const conf = await client.getConf([
    key,
    'spark.sql.shuffle.partitions',
    'spark.sql.adaptive.coalescePartitions.initialPartitionNum',
  ]);
  const shufflePartitions = Number(
    conf['spark.sql.adaptive.coalescePartitions.initialPartitionNum'] || conf['spark.sql.shuffle.partitions'] || 200,
  );
  if (shufflePartitions !== files || conf[key] === 'false') return fn();
  await client.setConf(KEY_LAYOUT_CONF);
  try {
    return await fn();
  } finally {
    await client.setConf({ [key]: conf[key] ?? 'true' }).catch(() => undefined);
  }
}

/**
 * A Spark write into a folder of the staging. Not reattachable (a reattachable operation waits for its client to come
 * back). Even so, a write whose recount process was killed runs on: the server learns its client is gone only when
 * it next sends a response, and a write sends none until it ends. Recovery interrupts a dead attempt's session
 * before it removes the staging (src/engine/spark/deadSessions.ts).
 */
async function write(client: SparkConnectClient, relation: Relation, folder: string): Promise<void> {
  await client.execute(commandPlan(writeParquet(relation, folder, { mode: 'errorIfExists' })), { reattachable: false });
}

/**
 * Write the query's result into `dir` in the deterministic layout on Spark: `repartition(files, keys)` (row ->
 * task pmod(hash(keys), files)) and `sortWithinPartitions(keys)`, written by Spark into a private folder of the
 * staging, then every file renamed to `part-<bucket>.parquet` by the task that wrote it (see bucketFiles; the
 * checks prove every row is in its bucket's file). Spark writes no file for an empty bucket: it gets an empty file
 * with the schema, so bucket i is always file i. Each file's rows are read from its footer, by the local DuckDB.
 */
export async function writeSparkLayout(
  client: SparkConnectClient,
  request: LayoutRequest,
  fileRows: (paths: readonly string[]) => Promise<number[]>,
): Promise<WrittenLayout> {
  const { keys, dir } = request;
  const scratch = [join(dir, '_spark_whole'), join(dir, '_spark_out'), join(dir, '_spark_empty')] as const;
  const [whole, out, empty] = scratch;
  try {
    let source: Relation = sql(request.sql);
    let fileCount: number;
    if (request.files === 'auto') {
      // The whole result once, to size it: the layout write then reads it back instead of running the query twice.
      const writing = write(client, source, whole);
      faultPoint('during-query');
      await writing;
      const parts = writtenFiles(whole);
      const bytes = parts.reduce((s, f) => s + statSync(join(whole, f)).size, 0);
      fileCount = autoFileCount(bytes, request.previousFileCount, request.targetFileBytes);
      source = parts.length
        ? readParquet(parts.map((f) => join(whole, f)))
        : sql(`SELECT * FROM (\n${request.sql}\n) q LIMIT 0`);
    } else {
      fileCount = request.files;
    }
    const writing = withoutCoalescing(client, fileCount, () =>
      write(client, sortWithinPartitions(repartitionByKeys(source, fileCount, [...keys]), [...keys]), out),
    );
    if (request.files !== 'auto') faultPoint('during-query');
    await writing;

    const parts = writtenFiles(out);
    const byBucket = bucketFiles(out, parts, fileCount);
    // The empty file's schema is read from the written folder before any file leaves it.
    const template =
      byBucket.size < fileCount ? await emptyFile(client, request.sql, parts.length ? out : undefined, empty) : '';
    const names: string[] = [];
    for (let i = 0; i < fileCount; i++) {
      const name = partFileName(i, request.tag);
      const file = byBucket.get(i);
      if (file) renameSync(join(out, file), join(dir, name));
      else copyFileSync(template, join(dir, name));
      names.push(name);
      if (i === 0) faultPoint('after-first-file-staged');
    }
    const rows = await fileRows(names.map((n) => join(dir, n)));
    const staged: StagedFile[] = names.map((name, i) => ({ name, rows: rows[i]! }));
    return { files: staged, fileCount, rowsFromFileMetadata: true };
  } finally {
    for (const folder of scratch) rmSync(folder, { recursive: true, force: true });
  }
}

/** An empty Parquet file with the output's schema, written by Spark (an empty result is written as one such file). */
async function emptyFile(
  client: SparkConnectClient,
  querySql: string,
  written: string | undefined,
  folder: string,
): Promise<string> {
  const relation = written
    ? sql(`SELECT * FROM ${parquetPath(written)} LIMIT 0`)
    : sql(`SELECT * FROM (\n${querySql}\n) q LIMIT 0`);
  await write(client, relation, folder);
  const [file] = writtenFiles(folder);
  if (!file) {
    throw new RecountError('INTERNAL', `Spark wrote no file for an empty result into ${folder}`, {
      subject: folder,
      hint: 'rerun the partition',
    });
  }
  return join(folder, file);
}
