import type pg from 'pg';
import type { Partition } from '../../catalog/partition.ts';
import { type HashPlanEntry, pgRowHashSql, type RowsChecksum } from '../checksum.ts';
import { keyCountsOf, keyCountsSql } from '../keyCounts.ts';
import { partitionPredicate } from '../partitionColumns.ts';
import { readLoadRecords, readTableRecords } from '../recountTables.ts';
import { quoteTable } from '../typeMap.ts';
import type { KeyCounts, LoadRecord, TableRecord, WarehouseColumn } from '../warehouse.ts';
import { PG_LOADED_AT_ISO } from './postgresWarehouseDialect.ts';

/** Run one statement on the warehouse's connection, with $n parameters; its rows. */
export type PgQuery = <T extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<T[]>;

/** recount_loads rows; `where` is empty or `WHERE …` with $n parameters. */
export async function loadRecords(q: PgQuery, where = '', values: unknown[] = []): Promise<LoadRecord[]> {
  return readLoadRecords(q, PG_LOADED_AT_ISO, where, values);
}

/** recount_tables rows; `where` is empty or `WHERE …` with $n parameters. */
export async function tableRecords(q: PgQuery, where = '', values: unknown[] = []): Promise<TableRecord[]> {
  return readTableRecords(q, where, values);
}

/** A table's columns from pg_attribute (format_type's spelling), or undefined when it does not exist. */
export async function tableColumns(q: PgQuery, table: string): Promise<WarehouseColumn[] | undefined> {
  const rows = await q<{ name: string; type: string; nullable: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
     FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [quoteTable(table)],
  );
  return rows.length ? rows : undefined;
}

/** Rows and checksum (under `plan`) of a partition of a table, or of the whole table. */
export async function tableStats(
  q: PgQuery,
  table: string,
  p: Partition | undefined,
  plan: readonly HashPlanEntry[],
): Promise<RowsChecksum> {
  const [row] = await q<{ rows: string; checksum: string }>(
    `SELECT count(*)::bigint AS rows, coalesce(sum(${pgRowHashSql(plan)}), 0)::text AS checksum
     FROM ${quoteTable(table)}${p ? ` WHERE ${partitionPredicate(p)}` : ''}`,
  );
  return { rows: Number(row!.rows), checksum: row!.checksum };
}

/** Keys of a partition held by at least `atLeast` rows, counted, with the `limit` most repeated. */
export async function keyCountsIn(
  q: PgQuery,
  table: string,
  p: Partition,
  keys: readonly string[],
  opts: { atLeast: number; limit: number },
): Promise<KeyCounts> {
  const sql = keyCountsSql(table, partitionPredicate(p), keys, 'text', opts.atLeast, opts.limit);
  return keyCountsOf(await q(sql), keys, opts.limit);
}
