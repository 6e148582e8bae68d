import type { EngineSession, LayoutRequest, WrittenLayout } from '../engine/engine.ts';

export type { StagedFile } from '../engine/engine.ts';

/** Target size of one output file when `files: 'auto'`. */
export const AUTO_FILE_BYTES = 128 * 1024 * 1024;

/**
 * Name of output file i of one version: `part-00003-<tag>.parquet`, the same for every engine. The index is the
 * stable key -> file mapping (I3); the tag is unique to the version (see versionTag), so a reader that listed one
 * version through the published link and opens a file after a swap gets "file not found", never another
 * version's file (I1). Without a tag (tests, scratch output): `part-00003.parquet`.
 */
export function partFileName(i: number, tag?: string): string {
  return `part-${String(i).padStart(5, '0')}${tag ? `-${tag}` : ''}.parquet`;
}

/** The tag that makes a version's file names its own: the random tail of the attempt id that wrote them. */
export function versionTag(attemptId: string): string {
  return attemptId
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(-10)
    .toLowerCase();
}

/** The stable bucket of an output file name (`part-00003-ab12cd34ef.parquet` -> `part-00003`): equal across reruns. */
export function bucketOfFile(name: string): string {
  return /^(part-\d+)/.exec(name)?.[1] ?? name;
}

/** DuckDB SQL for the bucket index (UBIGINT) of a file path expression, e.g. DuckDB's `filename` column. */
export function bucketIndexSql(pathSql: string): string {
  return `CAST(regexp_extract(parse_filename(${pathSql}), '^part-(\\d+)', 1) AS UBIGINT)`;
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

/**
 * Write the query's result into `dir` as `files` Parquet files: row -> file by the engine's stable hash of its
 * keys mod files, rows sorted by key within a file, names part-00000-<tag>.parquet…; never round-robin.
 */
export function writeLayout(session: EngineSession, request: LayoutRequest): Promise<WrittenLayout> {
  return session.writeLayout(request);
}
