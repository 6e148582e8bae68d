import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LayoutRequest, StagedFile, WrittenLayout } from '../engine.ts';
import { subquery } from '../queryText.ts';
import { ident, lit } from '../sql.ts';
import { faultPoint, faultWhileWriting } from '../../fault.ts';
import { inLanes } from '../../inLanes.ts';
import { autoFileCount, partFileName } from '../../layout/bucketing.ts';
import { duckdbKeyHash } from './duckdbDialect.ts';

/** SQL ORDER BY list: keys ascending, NULLs last. */
function keyOrderSql(keys: readonly string[]): string {
  return keys.map((k) => `${ident(k)} ASC NULLS LAST`).join(', ');
}

/** What writing a layout needs of a DuckDB session: statements on its main connection, and on lanes beside it. */
export interface LayoutSession {
  /** The threads the session's instance runs on now. */
  readonly threads: number;
  exec(sql: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  queryOnLane<T = Record<string, unknown>>(lane: number, sql: string): Promise<T[]>;
}

/** At most this many files are written at once, and only while the result is small (ROWS_SIDE_BY_SIDE). */
const MAX_LANES = 4;
/**
 * Rows up to which a result's files are written side by side: on a small result a COPY costs its round trip and
 * its file more than its rows. Each COPY sorts its bucket, and several sorts at once must stay well inside the
 * attempt's memory: above it, one file after another.
 */
const ROWS_SIDE_BY_SIDE = 200_000;

async function copyCount(session: LayoutSession, lane: number, sql: string): Promise<number> {
  const rows = await session.queryOnLane<{ Count?: string | number }>(lane, sql);
  return Number(rows[0]?.Count ?? 0);
}

/** What writeBuckets writes: from which relation, by which keys, how many files, where. */
interface Buckets {
  readonly relation: string;
  readonly keys: readonly string[];
  readonly files: number;
  readonly dir: string;
  readonly tag: string | undefined;
  /** A column of the relation holding the key hash, dropped from the files. */
  readonly hashColumn?: string;
  /** The buckets are cut from a staged whole file (files: 'auto'), whose write the during-query fault already covered. */
  readonly whole?: boolean;
  /** How many files to write at once (1: one after another). */
  readonly lanes: number;
}

// One COPY per bucket: an empty bucket still gets its file (DuckDB writes the schema with no rows). Buckets are
// taken in order by `lanes` connections side by side (src/inLanes.ts).
async function writeBuckets(session: LayoutSession, b: Buckets): Promise<StagedFile[]> {
  const hash = b.hashColumn ? ident(b.hashColumn) : duckdbKeyHash(b.keys);
  const exclude = b.hashColumn ? ` EXCLUDE (${ident(b.hashColumn)})` : '';
  const copyOf = (i: number) =>
    `COPY (SELECT *${exclude} FROM ${b.relation} WHERE ${hash} % ${b.files} = ${i} ORDER BY ${keyOrderSql(b.keys)}) TO ${lit(join(b.dir, partFileName(i, b.tag)))} (FORMAT parquet)`;
  const rows: number[] = new Array(b.files).fill(0);
  // Every lane settles before this returns, failed or not: the session closes their connections after.
  await inLanes(b.files, b.lanes, async (i, lane) => {
    const copy = copyCount(session, lane, copyOf(i));
    if (i === 0 && !b.whole) faultWhileWriting('during-query', join(b.dir, partFileName(0, b.tag)), copy);
    rows[i] = await copy;
    if (i === 0) faultPoint('after-first-file-staged');
  });
  return rows.map((n, i) => ({ name: partFileName(i, b.tag), rows: n }));
}

/**
 * Write the query's result into `dir` as Parquet files: row -> file by DuckDB's hash of its keys mod files,
 * rows sorted by key within a file, names part-00000-<tag>.parquet…; never round-robin.
 */
export async function writeDuckdbLayout(session: LayoutSession, request: LayoutRequest): Promise<WrittenLayout> {
  const { sql, keys, dir, tag } = request;
  if (request.files === 1 || request.files === 'auto') {
    const single = join(dir, partFileName(0, tag));
    const copy = session.query(
      `COPY (SELECT * FROM ${subquery(sql)} ORDER BY ${keyOrderSql(keys)}) TO ${lit(single)} (FORMAT parquet)`,
    );
    faultWhileWriting('during-query', single, copy);
    const rows = Number((await copy)[0]?.Count ?? 0);
    if (request.files === 1) return { files: [{ name: partFileName(0, tag), rows }], fileCount: 1 };
    const [size] = await session.query<{ b: string }>(
      `SELECT sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata(${lit(single)})`,
    );
    const count = autoFileCount(Number(size?.b ?? 0), request.previousFileCount, request.targetFileBytes);
    if (count === 1) return { files: [{ name: partFileName(0, tag), rows }], fileCount: 1 };
    const whole = join(dir, '_whole.parquet');
    renameSync(single, whole);
    // A result big enough to be cut into files is written one file after another.
    const relation = `read_parquet(${lit(whole)})`;
    const files = await writeBuckets(session, { relation, keys, files: count, dir, tag, whole: true, lanes: 1 });
    rmSync(whole);
    return { files, fileCount: count };
  }
  if (session.threads === 1 && request.smallInput) {
    const written = await writeBucketsInOnePass(session, request, request.files);
    if (written) return written;
  }
  const hashColumn = '__recount_hash';
  // A table of the attempt's catalog (not TEMP, which only its own connection sees), so lanes can read it.
  const [made] = await session.query<{ Count?: string | number }>(
    `CREATE TABLE __recount_result AS SELECT *, ${duckdbKeyHash(keys)} AS ${hashColumn} FROM ${subquery(sql)}`,
  );
  const lanes = Number(made?.Count ?? 0) <= ROWS_SIDE_BY_SIDE ? MAX_LANES : 1;
  try {
    const relation = '__recount_result';
    const files = await writeBuckets(session, { relation, keys, files: request.files, dir, tag, hashColumn, lanes });
    return { files, fileCount: request.files };
  } finally {
    await session.exec('DROP TABLE IF EXISTS __recount_result');
  }
}

const BUCKET_COLUMN = '__recount_bucket';

/**
 * The most rows written in one pass. DuckDB flushes a partitioned write's buffered rows past
 * partitioned_write_flush_threshold (524,288 rows by default), and a result of 1 M rows was then found with rows out
 * of key order near the end of its files (DuckDB 1.5): well under that, one pass holds every row until it writes.
 */
const ONE_PASS_MAX_ROWS = 100_000;

/**
 * On one thread, every bucket's file in one statement: the query's rows sorted by key and partitioned by bucket,
 * one Parquet file per bucket folder (DuckDB writes one file per thread into each folder), then moved to its stable
 * name. No result table and no scan per bucket: on a small partition that was most of the write. For small inputs
 * only, and a result over ONE_PASS_MAX_ROWS is thrown away (undefined: written again a bucket at a time). The order
 * and the bucket of every row are checked when the files are read back, as for every layout. An empty bucket gets
 * an empty file with the schema.
 */
async function writeBucketsInOnePass(
  session: LayoutSession,
  request: LayoutRequest,
  count: number,
): Promise<WrittenLayout | undefined> {
  const { sql, keys, dir, tag } = request;
  const buckets = join(dir, '_buckets');
  const first = join(buckets, `${BUCKET_COLUMN}=0`, 'part0.parquet');
  const copy = session.query<{ count: string | number; partition_keys: { key: string; value: string }[] }>(
    `COPY (SELECT *, ${duckdbKeyHash(keys)} % ${count} AS ${BUCKET_COLUMN} FROM ${subquery(sql)} ORDER BY ${keyOrderSql(keys)})
     TO ${lit(buckets)} (FORMAT parquet, PARTITION_BY (${BUCKET_COLUMN}), WRITE_PARTITION_COLUMNS false, FILENAME_PATTERN 'part', RETURN_STATS true)`,
  );
  faultWhileWriting('during-query', first, copy);
  const stats = await copy;
  const rows: number[] = new Array(count).fill(0);
  for (const f of stats) rows[Number(f.partition_keys.find((k) => k.key === BUCKET_COLUMN)?.value)]! += Number(f.count);
  if (stats.length > count || rows.reduce((a, b) => a + b, 0) > ONE_PASS_MAX_ROWS) {
    rmSync(buckets, { recursive: true, force: true });
    return undefined;
  }
  for (let i = 0; i < count; i++) {
    const target = join(dir, partFileName(i, tag));
    if (rows[i]! > 0) renameSync(join(buckets, `${BUCKET_COLUMN}=${i}`, 'part0.parquet'), target);
    else await session.query(`COPY (SELECT * FROM ${subquery(sql)} WHERE false) TO ${lit(target)} (FORMAT parquet)`);
    if (i === 0) faultPoint('after-first-file-staged');
  }
  rmSync(buckets, { recursive: true, force: true });
  return { files: rows.map((n, i) => ({ name: partFileName(i, tag), rows: n })), fileCount: count };
}
