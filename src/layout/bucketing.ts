import { renameSync, rmSync } from 'node:fs';
import { subquery } from '../engine/queryText.ts';
import { join } from 'node:path';
import type { EngineSession } from '../engine/engine.ts';
import { ident, lit } from '../engine/sql.ts';
import { faultPoint, faultWhileWriting } from '../fault.ts';

/** Target size of one output file when `files: 'auto'`. */
export const AUTO_FILE_BYTES = 128 * 1024 * 1024;

/** The file rule every version records: which file a key lands in and how rows are ordered. */
export const HASH_SCHEME = 'duckdb-hash(keys) % files';

/**
 * Name of output file i of one version: `part-00003-<tag>.parquet`. The index is the stable key -> file mapping
 * (I3); the tag is unique to the version (see versionTag), so a reader that listed one version through the
 * published link and opens a file after a swap gets "file not found", never another version's file (I1).
 * Without a tag (tests, scratch output): `part-00003.parquet`.
 */
export function partFileName(i: number, tag?: string): string {
  return `part-${String(i).padStart(5, '0')}${tag ? `-${tag}` : ''}.parquet`;
}

/** The tag that makes a version's file names its own: the random tail of the attempt id that wrote them. */
export function versionTag(attemptId: string): string {
  return attemptId.replace(/[^A-Za-z0-9]/g, '').slice(-10).toLowerCase();
}

/** The stable bucket of an output file name (`part-00003-ab12cd34ef.parquet` -> `part-00003`): equal across reruns. */
export function bucketOfFile(name: string): string {
  return /^(part-\d+)/.exec(name)?.[1] ?? name;
}

/** SQL for the bucket index (UBIGINT) of a file path expression, e.g. DuckDB's `filename` column. */
export function bucketIndexSql(pathSql: string): string {
  return `CAST(regexp_extract(parse_filename(${pathSql}), '^part-(\\d+)', 1) AS UBIGINT)`;
}

/** SQL for the stable hash of a row's keys (never a float, never the whole row). */
export function keyHashSql(keys: readonly string[]): string {
  return `hash(${keys.map(ident).join(', ')})`;
}

/** SQL ORDER BY list: keys ascending, NULLs last. */
export function keyOrderSql(keys: readonly string[]): string {
  return keys.map((k) => `${ident(k)} ASC NULLS LAST`).join(', ');
}

/** One staged output file. */
export interface StagedFile {
  readonly name: string;
  readonly rows: number;
}

/**
 * Pick the file count for `files: 'auto'` from a single sorted file of the whole output: about 128 MB a
 * file. A rerun keeps the previous count unless the size moved outside half to twice of it, so a float
 * that changes in its last bits cannot move keys between files at a size boundary.
 */
export function autoFileCount(bytes: number, previous?: number, target: number = AUTO_FILE_BYTES): number {
  const wanted = Math.max(1, Math.ceil(bytes / target));
  if (previous) {
    const low = previous === 1 ? 0 : (previous * target) / 2;
    if (bytes >= low && bytes <= previous * target * 2) return previous;
  }
  return wanted;
}

async function copyCount(session: EngineSession, sql: string): Promise<number> {
  const rows = await session.query<{ Count?: string | number }>(sql);
  return Number(rows[0]?.Count ?? 0);
}

// `whole`: the buckets are cut from a staged whole file (files: 'auto'), whose write the during-query fault already covered.
async function writeBuckets(session: EngineSession, relation: string, keys: readonly string[], files: number, dir: string, tag: string | undefined, hashColumn?: string, whole = false): Promise<StagedFile[]> {
  const out: StagedFile[] = [];
  const hash = hashColumn ? ident(hashColumn) : keyHashSql(keys);
  const exclude = hashColumn ? ` EXCLUDE (${ident(hashColumn)})` : '';
  for (let i = 0; i < files; i++) {
    const name = partFileName(i, tag);
    const copy = copyCount(
      session,
      `COPY (SELECT *${exclude} FROM ${relation} WHERE ${hash} % ${files} = ${i} ORDER BY ${keyOrderSql(keys)}) TO ${lit(join(dir, name))} (FORMAT parquet)`,
    );
    if (i === 0 && !whole) faultWhileWriting('during-query', join(dir, name), copy);
    const rows = await copy;
    out.push({ name, rows });
    if (i === 0) faultPoint('after-first-file-staged');
  }
  return out;
}

/**
 * Write the query's result into `dir` as `files` Parquet files: row -> file by the stable hash of its
 * keys mod files, rows sorted by key within a file, names part-00000-<tag>.parquet…; never round-robin.
 */
export async function writeLayout(
  session: EngineSession,
  opts: { sql: string; keys: readonly string[]; files: number | 'auto'; dir: string; previousFileCount?: number; /** Makes the file names unique to this version (versionTag of the attempt). */ tag?: string; /** Bytes per file for 'auto' (tests use a small one). */ targetFileBytes?: number },
): Promise<{ files: StagedFile[]; fileCount: number }> {
  const { sql, keys, dir, tag } = opts;
  if (opts.files === 1 || opts.files === 'auto') {
    const single = join(dir, partFileName(0, tag));
    const copy = session.query(`COPY (SELECT * FROM ${subquery(sql)} ORDER BY ${keyOrderSql(keys)}) TO ${lit(single)} (FORMAT parquet)`);
    faultWhileWriting('during-query', single, copy);
    const rows = Number((await copy)[0]?.Count ?? 0);
    if (opts.files === 1) return { files: [{ name: partFileName(0, tag), rows }], fileCount: 1 };
    const [size] = await session.query<{ b: string }>(`SELECT sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata(${lit(single)})`);
    const count = autoFileCount(Number(size?.b ?? 0), opts.previousFileCount, opts.targetFileBytes);
    if (count === 1) return { files: [{ name: partFileName(0, tag), rows }], fileCount: 1 };
    const whole = join(dir, '_whole.parquet');
    renameSync(single, whole);
    const files = await writeBuckets(session, `read_parquet(${lit(whole)})`, keys, count, dir, tag, undefined, true);
    rmSync(whole);
    return { files, fileCount: count };
  }
  const hashColumn = '__recount_hash';
  await session.exec(`CREATE TEMP TABLE __recount_result AS SELECT *, ${keyHashSql(keys)} AS ${hashColumn} FROM ${subquery(sql)}`);
  try {
    const files = await writeBuckets(session, '__recount_result', keys, opts.files, dir, tag, hashColumn);
    return { files, fileCount: opts.files };
  } finally {
    await session.exec('DROP TABLE IF EXISTS __recount_result');
  }
}
