import type { SqlDialect } from '../engine.ts';
import { fileList, ident, lit } from '../sql.ts';

export { DUCKDB_LAYOUT_SCHEME } from '../../layout/schemes.ts';

/** DuckDB's stable hash of a row's keys (never a float, never the whole row). */
export function duckdbKeyHash(keys: readonly string[]): string {
  return `hash(${keys.map(ident).join(', ')})`;
}

/** DuckDB's spelling of the SQL recount generates. */
export const duckdbDialect: SqlDialect = {
  ident,
  lit,
  bucketOf: (keys, files) => `${duckdbKeyHash(keys)} % ${files}`,
  keyTuple: (keys) => `(${keys.map(ident).join(', ')})`,
  stagedRows: (paths) =>
    `SELECT * EXCLUDE (__filename, file_row_number), parse_filename(__filename) AS __file,
            CAST(regexp_extract(parse_filename(__filename), 'part-(\\d+)', 1) AS UBIGINT) AS __file_index, file_row_number AS __row
       FROM read_parquet(${fileList(paths)}, filename = '__filename', file_row_number = true, hive_partitioning = false)`,
  fileRowsSql: (paths) => `SELECT coalesce(sum(num_rows), 0)::BIGINT FROM parquet_file_metadata(${fileList(paths)})`,
};
