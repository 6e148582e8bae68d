import type { SqlDialect } from '../engine/engine.ts';

/** The SQL of the built-in checks over one attempt's staged files, in the attempt engine's dialect. */
export interface BuiltinCheckSql {
  /** One row: `read_back`, `nulls`, `layout` (rows misplaced or out of order) and `repeated` (a key equal to the one before it). */
  readonly counts: string;
  /** One row, `in_files`: the rows the files' own metadata records. */
  readonly inFiles: string;
  /** Keys held by more than one row, with their `copies`. */
  readonly duplicates: string;
  /** Rows with a NULL key. */
  readonly nullKeys: string;
  /** Rows in the wrong file or out of key order, with the file they belong in. */
  readonly layout: string;
}

/** Build the built-in checks' SQL over `paths` (file i is bucket i) for `keys`. */
export function builtinCheckSql(sql: SqlDialect, paths: readonly string[], keys: readonly string[]): BuiltinCheckSql {
  const keyList = keys.map(sql.ident).join(', ');
  const tuple = sql.keyTuple(keys);
  const bucket = sql.bucketOf(keys, paths.length);
  const anyNullKey = keys.map((k) => `${sql.ident(k)} IS NULL`).join(' OR ');
  // I3 as a check: every row sits in the file its key hashes to (the engine's own hash), and rows ascend by key within a file.
  const flagged = `SELECT *, ${bucket} <> __file_index AS misplaced,
                  coalesce(${tuple} < lag(${tuple}) OVER w, false) AS out_of_order,
                  coalesce(${tuple} = lag(${tuple}) OVER w, false) AS repeated
           FROM (${sql.stagedRows(paths)}) staged
           WINDOW w AS (PARTITION BY __file ORDER BY __row)`;
  return {
    counts: `SELECT count(*) AS read_back, count(*) FILTER (WHERE ${anyNullKey}) AS nulls,
                    count(*) FILTER (WHERE misplaced OR out_of_order) AS layout, count(*) FILTER (WHERE repeated) AS repeated
             FROM (${flagged}) flagged`,
    inFiles: `SELECT c AS in_files FROM (${sql.fileRowsSql(paths)}) f(c)`,
    duplicates: `SELECT ${keyList}, count(*) AS copies FROM output GROUP BY ${keyList} HAVING count(*) > 1`,
    nullKeys: `SELECT * FROM output WHERE ${anyNullKey}`,
    layout: `SELECT __file AS file, __row AS row_number, ${keyList}, ${bucket} AS expected_file_index, misplaced, out_of_order
             FROM (${flagged}) flagged WHERE misplaced OR out_of_order`,
  };
}
