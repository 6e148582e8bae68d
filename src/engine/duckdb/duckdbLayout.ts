import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineSession, LayoutRequest, StagedFile, WrittenLayout } from '../engine.ts';
import { subquery } from '../queryText.ts';
import { ident, lit } from '../sql.ts';
import { faultPoint, faultWhileWriting } from '../../fault.ts';
import { autoFileCount, partFileName } from '../../layout/bucketing.ts';
import { duckdbKeyHash } from './duckdbDialect.ts';

/** SQL ORDER BY list: keys ascending, NULLs last. */
function keyOrderSql(keys: readonly string[]): string {
  return keys.map((k) => `${ident(k)} ASC NULLS LAST`).join(', ');
}

async function copyCount(session: EngineSession, sql: string): Promise<number> {
  const rows = await session.query<{ Count?: string | number }>(sql);
  return Number(rows[0]?.Count ?? 0);
}

// One COPY per bucket: an empty bucket still gets its file (DuckDB writes the schema with no rows).
// `whole`: the buckets are cut from a staged whole file (files: 'auto'), whose write the during-query fault already covered.
async function writeBuckets(
  session: EngineSession,
  relation: string,
  keys: readonly string[],
  files: number,
  dir: string,
  tag: string | undefined,
  hashColumn?: string,
  whole = false,
): Promise<StagedFile[]> {
  const out: StagedFile[] = [];
  const hash = hashColumn ? ident(hashColumn) : duckdbKeyHash(keys);
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
 * Write the query's result into `dir` as Parquet files: row -> file by DuckDB's hash of its keys mod files,
 * rows sorted by key within a file, names part-00000-<tag>.parquet…; never round-robin.
 */
export async function writeDuckdbLayout(session: EngineSession, request: LayoutRequest): Promise<WrittenLayout> {
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
    const files = await writeBuckets(session, `read_parquet(${lit(whole)})`, keys, count, dir, tag, undefined, true);
    rmSync(whole);
    return { files, fileCount: count };
  }
  const hashColumn = '__recount_hash';
  await session.exec(
    `CREATE TEMP TABLE __recount_result AS SELECT *, ${duckdbKeyHash(keys)} AS ${hashColumn} FROM ${subquery(sql)}`,
  );
  try {
    const files = await writeBuckets(session, '__recount_result', keys, request.files, dir, tag, hashColumn);
    return { files, fileCount: request.files };
  } finally {
    await session.exec('DROP TABLE IF EXISTS __recount_result');
  }
}
