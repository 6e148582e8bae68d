import { basename, dirname } from 'node:path';
import type { Column, SqlDialect } from '../engine.ts';
import { GLOB_CHARS, literalGlob } from './connect/plan.ts';

/** A Spark SQL identifier: in backticks, inner backticks doubled. */
export function sparkIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** A Spark SQL string literal (backslash is Spark's escape character, so it is escaped too). */
export function sparkLit(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A Parquet file or folder as a Spark SQL relation: `parquet.`/abs/path``, whose `_metadata` column names the file.
 * Spark globs such a path, so its glob characters are escaped: a folder named `we[i]rd` is that folder.
 */
export function parquetPath(path: string): string {
  return `parquet.${sparkIdent(literalGlob(path))}`;
}

/**
 * Exact files of one folder as ONE Spark relation, `parquet.`<folder>/{a.parquet,b.parquet}``: Spark resolves a
 * relation by inferring its Parquet schema in a job of its own, so one relation per file cost a job per file. The
 * folder's glob characters are escaped; names holding any, or files of several folders, get one relation each.
 */
export function parquetFiles(paths: readonly string[]): string[] {
  const folder = dirname(paths[0] ?? '');
  const names = paths.map((p) => basename(p));
  if (paths.length < 2 || paths.some((p) => dirname(p) !== folder) || names.some((n) => n.match(GLOB_CHARS))) {
    return paths.map(parquetPath);
  }
  return [`parquet.${sparkIdent(`${literalGlob(folder)}/{${names.join(',')}}`)}`];
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
  // Exact files, never their folder, which would read files beside them (a temp view would hide `_metadata`).
  stagedRows: (paths) =>
    parquetFiles(paths)
      .map(
        (
          p,
        ) => `SELECT *, _metadata.file_name AS __file, CAST(regexp_extract(_metadata.file_name, 'part-([0-9]+)', 1) AS BIGINT) AS __file_index,
                _metadata.row_index AS __row FROM ${p}`,
      )
      .join('\nUNION ALL\n'),
  fileRowsSql: (paths) =>
    `SELECT count(*) FROM (${parquetFiles(paths)
      .map((p) => `SELECT 1 FROM ${p}`)
      .join(' UNION ALL ')}) files`,
};

/** Spark types a schema is given in as recount reads them back (nested and length-bound types are left to Spark). */
const PLAIN_TYPE =
  /^(tinyint|smallint|int|bigint|float|double|string|boolean|date|timestamp|timestamp_ntz|binary|decimal\(\d+,\d+\))$/;

/**
 * Columns as a Spark DDL schema for a Parquet read (Spark then infers nothing, which costs a job per relation), or
 * undefined when a type is not a plain one: those are left to Spark's inference.
 */
export function sparkSchemaDdl(columns: readonly Column[] | undefined): string | undefined {
  if (!columns?.length || columns.some((c) => !PLAIN_TYPE.test(c.type))) return undefined;
  return columns.map((c) => `${sparkIdent(c.name)} ${c.type}`).join(', ');
}

/** The columns `stagedRows` adds to a staged file's rows, as Spark expressions over its `_metadata`. */
export const STAGED_ROW_COLUMNS: Readonly<Record<string, string>> = Object.freeze({
  __file: '_metadata.file_name',
  __file_index: "CAST(regexp_extract(_metadata.file_name, 'part-([0-9]+)', 1) AS BIGINT)",
  __row: '_metadata.row_index',
});
