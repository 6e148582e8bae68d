import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, lit } from '../../engine/sql.ts';
import { faultPoint } from '../../fault.ts';
import { checksumOf } from '../checksum.ts';
import type { LoadTransaction } from '../loadTransaction.ts';
import { partitionPredicate } from '../partitionColumns.ts';
import {
  addColumnSql,
  createTableSql,
  insertColumnNames,
  loadRecordValues,
  partitionValueItems,
  tableRecordValues,
  replaceLoadSql,
  upsertTableSql,
} from '../recountTables.ts';
import { readVersion } from '../scratchDuckdb.ts';
import { quoteTable } from '../typeMap.ts';
import type { LoadRecord, TableRecord, VersionSource } from '../warehouse.ts';
import { keyCountsIn, loadRecords, tableColumns, tableRecords } from './duckdbReads.ts';
import { splitName } from './duckdbWarehouseDialect.ts';
import type { KnownSchema, SharedFile } from './warehouseFile.ts';

/** What one load learns or writes of a table's schema; `changed` when its DDL ran. */
type Learned = KnownSchema & { changed?: boolean };

const sameRecord = (a: TableRecord | undefined, b: TableRecord) =>
  a !== undefined && JSON.stringify(a) === JSON.stringify(b);

// One INSERT of every file of the version (one statement per file cost a round trip each); the crash tests'
// 'during-load-copy' kill lands while it runs, with rows of the version in the open transaction.
async function insertRows(conn: DuckDBConnection, table: string, source: VersionSource): Promise<number> {
  if (source.files.length === 0) {
    faultPoint('during-load-copy');
    return 0;
  }
  const target = insertColumnNames(source).map(ident).join(', ');
  const select = [...source.columns.map((c) => ident(c.name)), ...partitionValueItems(source)].join(', ');
  const insert = conn.run(
    `INSERT INTO ${quoteTable(table)} (${target}) SELECT ${select} FROM ${readVersion(source.files)}`,
  );
  faultPoint('during-load-copy');
  return (await insert).rowsChanged;
}

/**
 * One load's view of the file's schema cache: reads what the cache holds unless this load changed the table,
 * and keeps what it learns aside until the load commits (commit()) or drops the cache on a rollback (discard()).
 */
export class LoadSchemaCache {
  private readonly learned = new Map<string, Learned>();

  constructor(private readonly file: SharedFile) {}

  of(table: string): Learned {
    return this.learned.get(table) ?? this.learned.set(table, {}).get(table)!;
  }

  /** What the file's cache knows of a table, unless this load changed it. */
  known(table: string): KnownSchema | undefined {
    return this.of(table).changed ? undefined : this.file.schemas.get(table);
  }

  commit(): void {
    for (const [table, l] of this.learned) {
      if (l.changed) this.file.schemas.delete(table);
      else
        this.file.schemas.set(table, {
          ...this.file.schemas.get(table),
          ...(l.columns ? { columns: l.columns } : {}),
          ...(l.record ? { record: l.record } : {}),
        });
    }
  }

  discard(): void {
    this.file.schemas.clear();
  }
}

async function recordLoad(conn: DuckDBConnection, cache: LoadSchemaCache, load: LoadRecord, t: TableRecord) {
  const values = loadRecordValues(load).map((v) => (typeof v === 'number' ? String(v) : lit(v)));
  values[6] = `${values[6]}::TIMESTAMPTZ`;
  await conn.run(replaceLoadSql(values));
  // The table's row is written when it changes; a load of one more partition of the same output leaves it.
  const l = cache.of(t.table);
  if (!l.changed && sameRecord(l.record ?? cache.known(t.table)?.record, t)) return;
  await conn.run(upsertTableSql(tableRecordValues(t).map(lit)));
  l.record = {
    table: t.table,
    analyzer: t.analyzer,
    grain: t.grain,
    keys: [...t.keys],
    columns: t.columns.map((c) => ({ name: c.name, type: c.type })),
  };
}

/** The load protocol's steps on a DuckDB connection inside an open transaction (no locks: the file has one writer). */
export function duckdbLoadTransaction(conn: DuckDBConnection, cache: LoadSchemaCache): LoadTransaction {
  return {
    lockPartition: async () => undefined,
    lockTable: async () => undefined,
    loadRecord: async (table, partition) =>
      (await loadRecords(conn, `table_name = ${lit(table)} AND partition_id = ${lit(partition)}`))[0],
    tableRecord: async (table) =>
      cache.known(table)?.record ??
      (cache.of(table).record = (await tableRecords(conn, `table_name = ${lit(table)}`))[0]),
    columns: async (table) => {
      const known = cache.known(table)?.columns;
      if (known) return known;
      const cols = await tableColumns(conn, table);
      if (cols) cache.of(table).columns = cols;
      return cols;
    },
    createTable: async (table, cols, part) => {
      cache.of(table).changed = true;
      const { schema } = splitName(table);
      if (schema !== 'main') await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      await conn.run(createTableSql(table, cols, part));
    },
    addColumns: async (table, cols) => {
      cache.of(table).changed = true;
      for (const c of cols) await conn.run(addColumnSql(table, c));
    },
    deletePartition: async (table, p) => {
      await conn.run(`DELETE FROM ${quoteTable(table)} WHERE ${partitionPredicate(p)}`);
    },
    insertRows: (table, source) => insertRows(conn, table, source),
    stats: (table, p, plan) => checksumOf(conn, `${quoteTable(table)} WHERE ${partitionPredicate(p)}`, plan),
    duplicateKeys: (table, p, keys, limit) => keyCountsIn(conn, table, p, keys, { atLeast: 2, limit }),
    record: (load, t) => recordLoad(conn, cache, load, t),
  };
}
