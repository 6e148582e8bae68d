import type { DuckDBConnection } from '@duckdb/node-api';
import type { Partition } from '../../catalog/partition.ts';
import { lit } from '../../engine/sql.ts';
import { asRecountError, RecountError } from '../../errors.ts';
import { faultPoint } from '../../fault.ts';
import {
  checksumsByPartition,
  type HashPlanEntry,
  keyPlan,
  keysOfHashes,
  type RowHashSink,
  scanRowHashes,
} from '../checksum.ts';
import { runLoad } from '../loadProtocol.ts';
import { partitionIdSql, partitionPredicate } from '../partitionColumns.ts';
import { createLoadsTableSql, createTablesTableSql } from '../recountTables.ts';
import { versionChecksum } from '../scratchDuckdb.ts';
import { quoteTable } from '../typeMap.ts';
import type {
  KeyCounts,
  LoadRecord,
  LoadRequest,
  LoadResult,
  PartitionStats,
  TableRecord,
  Warehouse,
  WarehouseColumn,
} from '../warehouse.ts';
import { keyCountsIn, loadRecords, rowsOf, tableColumns, tableRecords } from './duckdbReads.ts';
import { DUCKDB_META_TYPES, duckdbDialect } from './duckdbWarehouseDialect.ts';
import { duckdbLoadTransaction, LoadSchemaCache } from './duckdbLoadTransaction.ts';
import { acquireFile, releaseFile, type SharedFile } from './warehouseFile.ts';

/** A load's failure as WAREHOUSE_LOAD naming the version, table and warehouse (a RecountError stays as it is). */
function loadError(err: unknown, req: LoadRequest, display: string): RecountError {
  const e = asRecountError(err, 'WAREHOUSE_LOAD');
  if (e.code !== 'WAREHOUSE_LOAD' || err instanceof RecountError) return e;
  const { source, table } = req;
  return new RecountError(
    'WAREHOUSE_LOAD',
    `loading ${source.analyzer} ${source.partition.id} v${source.version} into ${table.name} (${display}) failed: ${e.message}`,
    {
      subject: `${table.name} ${source.partition.id}`,
      hint: 'the load was rolled back and the previous rows stay; fix the cause',
      cause: err,
    },
  );
}

/** The DuckDB warehouse: tables in one DuckDB file (see warehouseFile.ts), loaded straight from the version's Parquet. */
class DuckDBWarehouse implements Warehouse {
  readonly kind = 'duckdb';
  readonly dialect = duckdbDialect;
  readonly display: string;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly file: SharedFile,
    private readonly conn: DuckDBConnection,
  ) {
    this.display = `duckdb:${path}`;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.file.queue.run(fn);
  }

  async load(req: LoadRequest): Promise<LoadResult> {
    return (await this.loadBatch([req]))[0]!;
  }

  /**
   * The loads in one transaction, one after another, and one commit for all: the file has one writer, so no lock
   * order between loads matters. When one fails, all are rolled back and its error is thrown.
   */
  async loadBatch(reqs: readonly LoadRequest[]): Promise<LoadResult[]> {
    return this.exclusive(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      // What these loads learn or write of the tables' schemas, kept only once they commit.
      const cache = new LoadSchemaCache(this.file);
      let current: LoadRequest | undefined;
      try {
        const results: LoadResult[] = [];
        for (const req of reqs) {
          current = req;
          results.push(
            await runLoad(duckdbLoadTransaction(this.conn, cache), duckdbDialect, req, this.filesChecksum(req)),
          );
        }
        // Every load of the batch is done and reconciled, none committed: a kill here leaves them all owed.
        if (reqs.length > 1) faultPoint('before-batch-commit');
        await this.conn.run('COMMIT');
        cache.commit();
        return results;
      } catch (err) {
        cache.discard();
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw loadError(err, current ?? reqs[0]!, this.display);
      }
    });
  }

  // A second connection of the same instance reads the version's Parquet while the first inserts it.
  private filesChecksum(req: LoadRequest) {
    return async (plan: readonly HashPlanEntry[], signal: AbortSignal) => {
      const reader = await this.file.instance.connect();
      try {
        return await versionChecksum(reader, req.source.files, plan, signal);
      } finally {
        reader.closeSync();
      }
    };
  }

  async init(): Promise<void> {
    await this.conn.run(createLoadsTableSql(DUCKDB_META_TYPES));
    await this.conn.run(createTablesTableSql(DUCKDB_META_TYPES));
  }

  tables(): Promise<TableRecord[]> {
    return this.exclusive(() => tableRecords(this.conn));
  }

  loads(table?: string): Promise<LoadRecord[]> {
    return this.exclusive(() => loadRecords(this.conn, table ? `table_name = ${lit(table)}` : undefined));
  }

  columns(table: string): Promise<WarehouseColumn[] | undefined> {
    return tableColumns(this.conn, table);
  }

  partitionStats(t: TableRecord, values?: readonly HashPlanEntry[]): Promise<PartitionStats[]> {
    return this.exclusive(async () => {
      const byPartition = await checksumsByPartition(
        this.conn,
        quoteTable(t.table),
        partitionIdSql(t.grain, 'VARCHAR'),
        keyPlan(t.columns, t.keys),
        values,
      );
      return [...byPartition]
        .map(([partition, s]) => ({ partition, ...s }))
        .sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : 0)); // partition ids are ASCII; localeCompare would load ICU's collator
    });
  }

  keyCounts(t: TableRecord, p: Partition, opts: { atLeast: number; limit: number }): Promise<KeyCounts> {
    return this.exclusive(() => keyCountsIn(this.conn, t.table, p, t.keys, opts));
  }

  scanRowHashes(t: TableRecord, p: Partition, values: readonly HashPlanEntry[], sink: RowHashSink): Promise<void> {
    const rows = `${quoteTable(t.table)} WHERE ${partitionPredicate(p)}`;
    return this.exclusive(() => scanRowHashes(this.conn, rows, keyPlan(t.columns, t.keys), values, sink));
  }

  keysOfHashes(
    t: TableRecord,
    p: Partition,
    hashes: ReadonlySet<string>,
  ): Promise<Map<string, Record<string, string | null>>> {
    const rows = `${quoteTable(t.table)} WHERE ${partitionPredicate(p)}`;
    return this.exclusive(() => keysOfHashes(this.conn, rows, keyPlan(t.columns, t.keys), hashes));
  }

  query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    // Any statement may change a table recount loads: what loads learned of schemas is asked again.
    this.file.schemas.clear();
    return this.exclusive(() => rowsOf<T>(this.conn, sql));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.queue.idle();
    this.conn.closeSync();
    releaseFile(this.path, this.file);
  }
}

/** Open the DuckDB warehouse file (created with its recount_loads and recount_tables tables if new). */
export async function openDuckDBWarehouse(path: string, opts: { lockTimeoutMs?: number } = {}): Promise<Warehouse> {
  const file = await acquireFile(path, opts.lockTimeoutMs ?? 60_000);
  const wh = new DuckDBWarehouse(path, file, await file.instance.connect());
  try {
    await wh.init();
  } catch (err) {
    await wh.close();
    throw new RecountError(
      'WAREHOUSE_UNREACHABLE',
      `cannot use the warehouse file ${path}: ${(err as Error).message}`,
      { subject: path, hint: 'check the file is a DuckDB database recount can write', cause: err },
    );
  }
  return wh;
}
