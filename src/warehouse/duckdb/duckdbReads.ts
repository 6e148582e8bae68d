import type { DuckDBConnection } from '@duckdb/node-api';
import type { Partition } from '../../catalog/partition.ts';
import { lit } from '../../engine/sql.ts';
import { keyCountsOf, keyCountsSql } from '../keyCounts.ts';
import { partitionPredicate } from '../partitionColumns.ts';
import { readLoadRecords, readTableRecords } from '../recountTables.ts';
import type { KeyCounts, LoadRecord, TableRecord, WarehouseColumn } from '../warehouse.ts';
import { DUCKDB_LOADED_AT_ISO, splitName } from './duckdbWarehouseDialect.ts';

/** Rows of a query as JSON-safe objects. */
export async function rowsOf<T>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
}

const whereClause = (where?: string) => (where ? `WHERE ${where}` : '');

/** recount_loads rows matching `where` (SQL with literals), or all. */
export async function loadRecords(conn: DuckDBConnection, where?: string): Promise<LoadRecord[]> {
  return readLoadRecords((sql) => rowsOf(conn, sql), DUCKDB_LOADED_AT_ISO, whereClause(where));
}

/** recount_tables rows matching `where` (SQL with literals), or all. */
export async function tableRecords(conn: DuckDBConnection, where?: string): Promise<TableRecord[]> {
  return readTableRecords((sql) => rowsOf(conn, sql), whereClause(where));
}

/** A table's columns from information_schema, or undefined when it does not exist. */
export async function tableColumns(conn: DuckDBConnection, table: string): Promise<WarehouseColumn[] | undefined> {
  const { schema, name } = splitName(table);
  const rows = await rowsOf<{ column_name: string; data_type: string; is_nullable: string }>(
    conn,
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_schema = ${lit(schema)} AND table_name = ${lit(name)}
     ORDER BY ordinal_position`,
  );
  return rows.length
    ? rows.map((r) => ({ name: r.column_name, type: r.data_type, nullable: r.is_nullable === 'YES' }))
    : undefined;
}

/** Keys of a partition held by at least `atLeast` rows, counted, with the `limit` most repeated. */
export async function keyCountsIn(
  conn: DuckDBConnection,
  table: string,
  p: Partition,
  keys: readonly string[],
  opts: { atLeast: number; limit: number },
): Promise<KeyCounts> {
  const sql = keyCountsSql(table, partitionPredicate(p), keys, 'VARCHAR', opts.atLeast, opts.limit);
  return keyCountsOf(await rowsOf(conn, sql), keys, opts.limit);
}
