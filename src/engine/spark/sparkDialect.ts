import type { SqlDialect } from '../engine.ts';

/** A Spark SQL identifier: in backticks, inner backticks doubled. */
export function sparkIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** A Spark SQL string literal (backslash is Spark's escape character, so it is escaped too). */
export function sparkLit(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A Parquet file or folder as a Spark SQL relation: `parquet.`/abs/path``, whose `_metadata` column names the file. */
export function parquetPath(path: string): string {
  return `parquet.${sparkIdent(path)}`;
}

/** Spark's stable hash of a row's keys: Murmur3 with seed 42, what `repartition(n, keys)` uses. */
export function sparkKeyHash(keys: readonly string[]): string {
  return `hash(${keys.map(sparkIdent).join(', ')})`;
}

/** Spark's spelling of the SQL recount generates. */
export const sparkDialect: SqlDialect = {
  ident: sparkIdent,
  lit: sparkLit,
  // repartition(n, keys) sends a row to pmod(hash(keys), n): the bucket is the task, which names its file.
  bucketOf: (keys, files) => `pmod(${sparkKeyHash(keys)}, ${files})`,
  keyTuple: (keys) => `struct(${keys.map(sparkIdent).join(', ')})`,
  // One relation per exact file (a temp view hides `_metadata`, a folder would read files beside them).
  stagedRows: (paths) =>
    paths
      .map(
        (
          p,
        ) => `SELECT *, _metadata.file_name AS __file, CAST(regexp_extract(_metadata.file_name, 'part-([0-9]+)', 1) AS BIGINT) AS __file_index,
                _metadata.row_index AS __row FROM ${parquetPath(p)}`,
      )
      .join('\nUNION ALL\n'),
  fileRowsSql: (paths) =>
    `SELECT count(*) FROM (${paths.map((p) => `SELECT 1 FROM ${parquetPath(p)}`).join(' UNION ALL ')}) files`,
};
