import { ident } from '../engine/sql.ts';
import { partitionColumns, partitionValues } from './partitionColumns.ts';
import type { WantedColumn } from './schemaPlan.ts';
import { quoteTable } from './typeMap.ts';
import type { LoadRecord, TableRecord, VersionSource } from './warehouse.ts';

/*
 * The SQL both warehouses run for the load protocol, spelled once: recount's own tables (recount_loads: which
 * version each partition holds; recount_tables: keys and schema of each loaded table), the DDL of a loaded table,
 * and the columns a version's rows are inserted as. What differs per warehouse (type names, time formatting,
 * literal values or $n parameters) comes in as arguments.
 */

/** The type names recount's own tables are declared with, in a warehouse's spelling. */
export interface MetaTypes {
  readonly text: string;
  readonly integer: string;
  readonly bigint: string;
  readonly timestamptz: string;
}

const LOAD_COLUMNS = ['table_name', 'partition_id', 'analyzer', 'version', 'rows', 'checksum', 'loaded_at'];
const TABLE_COLUMNS = ['table_name', 'analyzer', 'grain', 'keys_json', 'columns_json', 'updated_at'];

/** DDL of recount_loads: one row per (table, partition), the version it holds, recorded in the load's transaction. */
export function createLoadsTableSql(t: MetaTypes): string {
  return `CREATE TABLE IF NOT EXISTS recount_loads (
    table_name ${t.text} NOT NULL, partition_id ${t.text} NOT NULL, analyzer ${t.text} NOT NULL,
    version ${t.integer} NOT NULL, rows ${t.bigint} NOT NULL, checksum ${t.text} NOT NULL,
    loaded_at ${t.timestamptz} NOT NULL, PRIMARY KEY (table_name, partition_id))`;
}

/** DDL of recount_tables: one row per loaded table, with the keys and output schema of its last load. */
export function createTablesTableSql(t: MetaTypes): string {
  return `CREATE TABLE IF NOT EXISTS recount_tables (
    table_name ${t.text} PRIMARY KEY, analyzer ${t.text} NOT NULL, grain ${t.text} NOT NULL,
    keys_json ${t.text} NOT NULL, columns_json ${t.text} NOT NULL, updated_at ${t.timestamptz} NOT NULL)`;
}

/** Record (or replace) which version a partition of a table holds; `values` are the 7 values in LOAD_COLUMNS order. */
export function upsertLoadSql(values: readonly string[]): string {
  return `INSERT INTO recount_loads (${LOAD_COLUMNS.join(', ')}) VALUES (${values.join(', ')})
    ON CONFLICT (table_name, partition_id) DO UPDATE SET analyzer = excluded.analyzer, version = excluded.version,
      rows = excluded.rows, checksum = excluded.checksum, loaded_at = excluded.loaded_at`;
}

/**
 * Record (or replace) which version a partition of a table holds as a delete and an insert, for DuckDB: its
 * ON CONFLICT path cost more than twice as much as both together (2.6 ms against 1.1 ms a load). The two statements
 * run inside the load's transaction, so no reader sees the partition without its row.
 */
export function replaceLoadSql(values: readonly string[]): string {
  return `DELETE FROM recount_loads WHERE table_name = ${values[0]} AND partition_id = ${values[1]};
    INSERT INTO recount_loads (${LOAD_COLUMNS.join(', ')}) VALUES (${values.join(', ')})`;
}

/** Record (or replace) a table's keys and schema; `values` are the 5 values before updated_at, which is now(). */
export function upsertTableSql(values: readonly string[]): string {
  return `INSERT INTO recount_tables (${TABLE_COLUMNS.join(', ')}) VALUES (${values.join(', ')}, now())
    ON CONFLICT (table_name) DO UPDATE SET analyzer = excluded.analyzer, grain = excluded.grain,
      keys_json = excluded.keys_json, columns_json = excluded.columns_json, updated_at = excluded.updated_at`;
}

/** recount_loads rows, `loadedAtIso` formatting loaded_at as ISO text in UTC; `where` is empty or `WHERE …`. */
function selectLoadsSql(loadedAtIso: string, where: string): string {
  return `SELECT table_name, partition_id, analyzer, version, rows, checksum, ${loadedAtIso} AS loaded_at
    FROM recount_loads ${where}
    ORDER BY table_name, partition_id`;
}

/** recount_tables rows; `where` is empty or `WHERE …`. */
function selectTablesSql(where: string): string {
  return `SELECT table_name, analyzer, grain, keys_json, columns_json
    FROM recount_tables ${where}
    ORDER BY table_name`;
}

/** A row of selectLoadsSql as either warehouse returns it (numbers may come back as text). */
interface LoadRecordRow {
  table_name: string;
  partition_id: string;
  analyzer: string;
  version: number | string;
  rows: number | string;
  checksum: string;
  loaded_at: string;
}

/** A row of selectTablesSql. */
interface TableRecordRow {
  table_name: string;
  analyzer: string;
  grain: 'hour' | 'day';
  keys_json: string;
  columns_json: string;
}

function loadRecordOf(r: LoadRecordRow): LoadRecord {
  return {
    table: r.table_name,
    partition: r.partition_id,
    analyzer: r.analyzer,
    version: Number(r.version),
    rows: Number(r.rows),
    checksum: r.checksum,
    loadedAt: r.loaded_at,
  };
}

function tableRecordOf(r: TableRecordRow): TableRecord {
  return {
    table: r.table_name,
    analyzer: r.analyzer,
    grain: r.grain,
    keys: JSON.parse(r.keys_json),
    columns: JSON.parse(r.columns_json),
  };
}

/** Run a query on a warehouse's connection: its rows (`values` fill $n parameters where the warehouse has them). */
export type RowsQuery = <T extends object>(sql: string, values?: unknown[]) => Promise<T[]>;

/** recount_loads rows (`where`: empty or `WHERE …`), loaded_at formatted by the warehouse's `loadedAtIso`. */
export async function readLoadRecords(
  query: RowsQuery,
  loadedAtIso: string,
  where = '',
  values: unknown[] = [],
): Promise<LoadRecord[]> {
  return (await query<LoadRecordRow>(selectLoadsSql(loadedAtIso, where), values)).map(loadRecordOf);
}

/** recount_tables rows (`where`: empty or `WHERE …`). */
export async function readTableRecords(query: RowsQuery, where = '', values: unknown[] = []): Promise<TableRecord[]> {
  return (await query<TableRecordRow>(selectTablesSql(where), values)).map(tableRecordOf);
}

/** The values of a table's recount_tables row (before updated_at), in TABLE_COLUMNS order, unquoted. */
export function tableRecordValues(t: TableRecord): string[] {
  return [t.table, t.analyzer, t.grain, JSON.stringify(t.keys), JSON.stringify(t.columns)];
}

/** The values of a load's recount_loads row, in LOAD_COLUMNS order, unquoted. */
export function loadRecordValues(l: LoadRecord): (string | number)[] {
  return [l.table, l.partition, l.analyzer, l.version, l.rows, l.checksum, l.loadedAt];
}

/** CREATE TABLE of a loaded table: the output's columns, then its partition columns (never null). */
export function createTableSql(table: string, cols: readonly WantedColumn[], part: readonly WantedColumn[]): string {
  const defs = [
    ...cols.map((c) => `${ident(c.name)} ${c.type}`),
    ...part.map((c) => `${ident(c.name)} ${c.type} NOT NULL`),
  ];
  return `CREATE TABLE ${quoteTable(table)} (${defs.join(', ')})`;
}

/** ALTER TABLE adding one column a new version brings. */
export function addColumnSql(table: string, c: WantedColumn): string {
  return `ALTER TABLE ${quoteTable(table)} ADD COLUMN ${ident(c.name)} ${c.type}`;
}

/** The columns a version's rows are written to: the output's, then the partition's. */
export function insertColumnNames(source: VersionSource): string[] {
  return [...source.columns.map((c) => c.name), ...partitionColumns(source.partition.grain).map((c) => c.name)];
}

/** The partition's values as select items named after its partition columns (`'2023-10-12'::DATE AS dt`, …). */
export function partitionValueItems(source: VersionSource): string[] {
  const part = partitionColumns(source.partition.grain);
  return partitionValues(source.partition).map((v, i) => `${v} AS ${ident(part[i]!.name)}`);
}
