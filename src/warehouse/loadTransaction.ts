import type { Partition } from '../catalog/partition.ts';
import type { HashPlanEntry, RowsChecksum } from './checksum.ts';
import type { WantedColumn } from './schemaPlan.ts';
import type { KeyCounts, LoadRecord, TableRecord, VersionSource, WarehouseColumn } from './warehouse.ts';

/**
 * What a warehouse does inside one open transaction; the load protocol (runLoad) is the same for every
 * warehouse and lives in loadProtocol.ts, so DuckDB and PostgreSQL cannot drift apart on what a load means.
 */
export interface LoadTransaction {
  /**
   * Whether the version's expected checksum is computed during the copy rather than after it: yes where the copy
   * is bound by another process (PostgreSQL's backend parsing the CSV), which leaves this one CPU to spare; no where
   * the copy itself runs on this process's threads (DuckDB).
   */
  readonly hashWhileCopying?: boolean;
  /** Serialise loads of one partition of one table (PostgreSQL: advisory transaction lock). */
  lockPartition(table: string, partition: string): Promise<void>;
  /** Serialise schema changes of one table; taken after the partition lock, never before. */
  lockTable(table: string): Promise<void>;
  loadRecord(table: string, partition: string): Promise<LoadRecord | undefined>;
  tableRecord(table: string): Promise<TableRecord | undefined>;
  columns(table: string): Promise<WarehouseColumn[] | undefined>;
  createTable(table: string, columns: readonly WantedColumn[], partition: readonly WantedColumn[]): Promise<void>;
  addColumns(table: string, columns: readonly WantedColumn[]): Promise<void>;
  deletePartition(table: string, partition: Partition): Promise<void>;
  /** Copy the version's rows in; returns the rows the warehouse says it inserted. */
  insertRows(table: string, source: VersionSource): Promise<number>;
  /** Rows and key checksum of the partition as the transaction sees it. */
  stats(table: string, partition: Partition, plan: readonly HashPlanEntry[]): Promise<RowsChecksum>;
  /** Keys held by more than one row, counted, with the `limit` most repeated. */
  duplicateKeys(table: string, partition: Partition, keys: readonly string[], limit: number): Promise<KeyCounts>;
  record(load: LoadRecord, table: TableRecord): Promise<void>;
}
