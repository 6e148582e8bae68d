import type pg from 'pg';
import { ident } from '../../engine/sql.ts';
import type { LoadTransaction } from '../loadTransaction.ts';
import { partitionPredicate } from '../partitionColumns.ts';
import {
  addColumnSql,
  createTableSql,
  insertColumnNames,
  loadRecordValues,
  partitionValueItems,
  tableRecordValues,
  upsertLoadSql,
  upsertTableSql,
} from '../recountTables.ts';
import type { WantedColumn } from '../schemaPlan.ts';
import { readVersion, type ScratchDuckDB } from '../scratchDuckdb.ts';
import { mapType, quoteTable } from '../typeMap.ts';
import type { VersionSource } from '../warehouse.ts';
import { copyQueryIn } from './copyIn.ts';
import { keyCountsIn, loadRecords, type PgQuery, tableColumns, tableRecords, tableStats } from './postgresReads.ts';
import { ADVISORY_XACT_LOCK_SQL, advisoryLockKey } from './postgresWarehouseDialect.ts';

/** `$1, $2, …, $n`. */
const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`);

/** The COPY a version's rows go in by, as CSV. */
function copySql(table: string, source: VersionSource): string {
  const cols = insertColumnNames(source).map(ident).join(', ');
  return `COPY ${quoteTable(table)} (${cols}) FROM STDIN WITH (FORMAT csv)`;
}

/** The DuckDB query producing that CSV from the version's Parquet: each column as PostgreSQL reads it. */
function copySelect(source: VersionSource): string {
  const cols = [
    ...source.columns.map((c) => `${mapType(c.type).csv(ident(c.name))} AS ${ident(c.name)}`),
    ...partitionValueItems(source),
  ];
  return `SELECT ${cols.join(', ')} FROM ${readVersion(source.files)}`;
}

/**
 * BRIN, not B-tree: a load appends a partition's rows together, so block ranges map to partitions; it makes DELETE
 * and per-partition reads skip the rest of the table at almost no cost to COPY (a B-tree on the partition columns
 * doubled COPY time here). New ranges are summarized by autovacuum; autosummarize is off because a big load would
 * flood the server log with "summarization request not recorded".
 */
function partitionIndexSql(table: string, part: readonly WantedColumn[]): string {
  const name = table.includes('.') ? table.split('.')[1]! : table;
  return `CREATE INDEX ${ident(`${name.slice(0, 40)}_recount_partition`)} ON ${quoteTable(table)}
    USING brin (${part.map((c) => ident(c.name)).join(', ')})`;
}

/** The load protocol's steps on a PostgreSQL connection inside an open transaction, serialised by advisory locks. */
export function postgresLoadTransaction(
  client: pg.Client,
  q: PgQuery,
  scratch: () => Promise<ScratchDuckDB>,
): LoadTransaction {
  const lock = (kind: string, ...parts: string[]) => q(ADVISORY_XACT_LOCK_SQL, [advisoryLockKey(kind, ...parts)]);
  return {
    // The COPY is bound by the server parsing CSV (measured: hashing during it cut reconciliation by a third and
    // left the copy as fast), so the version is hashed meanwhile.
    hashWhileCopying: true,
    lockPartition: async (table, partition) => void (await lock('load', table, partition)),
    lockTable: async (table) => void (await lock('ddl', table)),
    loadRecord: async (table, partition) =>
      (await loadRecords(q, 'WHERE table_name = $1 AND partition_id = $2', [table, partition]))[0],
    tableRecord: async (table) => (await tableRecords(q, 'WHERE table_name = $1', [table]))[0],
    columns: (table) => tableColumns(q, table),
    createTable: async (table, cols, part) => {
      if (table.includes('.')) await q(`CREATE SCHEMA IF NOT EXISTS ${ident(table.split('.')[0]!)}`);
      await q(createTableSql(table, cols, part));
      await q(partitionIndexSql(table, part));
    },
    addColumns: async (table, cols) => {
      for (const c of cols) await q(addColumnSql(table, c));
    },
    deletePartition: async (table, p) => {
      await q(`DELETE FROM ${quoteTable(table)} WHERE ${partitionPredicate(p)}`);
    },
    insertRows: async (table, source) =>
      source.files.length
        ? copyQueryIn(client, copySql(table, source), await (await scratch()).connect(), copySelect(source))
        : 0,
    stats: (table, p, plan) => tableStats(q, table, p, plan),
    duplicateKeys: (table, p, keys, limit) => keyCountsIn(q, table, p, keys, { atLeast: 2, limit }),
    record: async (load, t) => {
      await q(upsertLoadSql(placeholders(7)), loadRecordValues(load));
      await q(upsertTableSql(placeholders(5)), tableRecordValues(t));
    },
  };
}
