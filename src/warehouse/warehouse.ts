import type { Grain, Partition } from '../catalog/partition.ts';
import type { Column } from '../engine/engine.ts';
import type { HashPlanEntry, RowHashSink, RowsChecksum } from './checksum.ts';
import type { WarehouseDialect } from './dialect.ts';

/** The table one analyzer loads into. */
export interface TargetTable {
  /** `table` or `schema.table`. */
  readonly name: string;
  readonly analyzer: string;
  readonly grain: Grain;
}

/** One published version of one partition, as a load reads it (files checked against the manifest). */
export interface VersionSource {
  readonly analyzer: string;
  readonly partition: Partition;
  readonly version: number;
  readonly dir: string;
  /** Absolute paths of the version's Parquet files. */
  readonly files: readonly string[];
  /** Rows the manifest records. */
  readonly rows: number;
  readonly columns: readonly Column[];
  readonly keys: readonly string[];
  /** Settles when the files are checked against the manifest's sha256 (rejecting when one differs); a load awaits it before it commits. */
  readonly verified?: Promise<void>;
}

/** Load one version of one partition into its table. */
export interface LoadRequest {
  readonly table: TargetTable;
  readonly source: VersionSource;
  /** Reload even when the table already holds this version (to repair rows changed behind recount's back). */
  readonly force?: boolean;
  /**
   * Asked with the partition's load lock held: false when this version is no longer the published one, so a
   * slow load of an old version never replaces a newer one that was loaded meanwhile.
   */
  readonly isCurrent?: () => Promise<boolean>;
}

/** What a load did. */
export interface LoadResult {
  /** loaded: the partition now holds the version; unchanged: it already did; superseded: skipped for a newer version. */
  readonly status: 'loaded' | 'unchanged' | 'superseded';
  readonly table: string;
  readonly partition: string;
  readonly version: number;
  /** The version the table held before, if any. */
  readonly previousVersion: number | null;
  readonly rows: number;
  readonly checksum: string;
  readonly tableCreated: boolean;
  readonly columnsAdded: readonly string[];
  readonly ms: number;
  /** Milliseconds per step of a load that copied rows: schema, delete, copy, reconcile, record. */
  readonly steps?: Readonly<Record<string, number>>;
}

/** A row of `recount_loads`: which version of a partition a table holds, recorded in the load's own transaction. */
export interface LoadRecord {
  readonly table: string;
  readonly partition: string;
  readonly analyzer: string;
  readonly version: number;
  readonly rows: number;
  readonly checksum: string;
  readonly loadedAt: string;
}

/** A row of `recount_tables`: a table recount loads, with the keys and output schema of its last load. */
export interface TableRecord {
  readonly table: string;
  readonly analyzer: string;
  readonly grain: Grain;
  readonly keys: string[];
  readonly columns: Column[];
}

/** A column as the warehouse reports it. */
export interface WarehouseColumn {
  readonly name: string;
  /** The type in the warehouse's own spelling (PostgreSQL's format_type, DuckDB's data_type). */
  readonly type: string;
  readonly nullable: boolean;
}

/** Rows and key checksum of one partition of a table, as found in the warehouse; the value checksum when asked for. */
export interface PartitionStats extends RowsChecksum {
  readonly partition: string;
  readonly valueChecksum?: string;
}

/** A key and how many rows carry it; values as text, for people. */
export interface KeyCount {
  readonly key: Record<string, string | null>;
  readonly count: number;
}

/** Keys of a partition carried by at least `atLeast` rows: how many there are in all, their rows, and the most repeated. */
export interface KeyCounts {
  readonly keys: number;
  readonly rows: number;
  readonly sample: KeyCount[];
}

/**
 * A warehouse recount loads published versions into: an embedded DuckDB file (duckdb/) or PostgreSQL
 * (postgres/). Both keep I5: loading version v of partition p is one transaction that deletes p's rows,
 * inserts v's rows, reconciles rows and key checksum with the manifest and records (table, partition,
 * version, rows, checksum) in `recount_loads`; a crash before its commit leaves the previous rows.
 */
export interface Warehouse {
  readonly kind: 'duckdb' | 'postgres';
  /** Where it is, password masked: safe for messages and logs. */
  readonly display: string;
  /** How it types columns: what a table's columns should be, to tell a column changed by hand. */
  readonly dialect: WarehouseDialect;
  load(req: LoadRequest): Promise<LoadResult>;
  /**
   * Load several versions in one transaction, in order, with one commit: all of them, or none (the first error is
   * thrown and nothing changed). Only where the warehouse has one writer (a DuckDB file); PostgreSQL, loaded by
   * many processes at once, takes one load per transaction, so that no two transactions ever wait for each other's
   * partition locks in opposite orders.
   */
  loadBatch?(reqs: readonly LoadRequest[]): Promise<LoadResult[]>;
  /** Tables recount has loaded. */
  tables(): Promise<TableRecord[]>;
  /** `recount_loads`, of one table or all. */
  loads(table?: string): Promise<LoadRecord[]>;
  /** Columns of a table, or undefined when it does not exist. */
  columns(table: string): Promise<WarehouseColumn[] | undefined>;
  /** Rows and key checksum of every partition present in a table, in one scan; with a value plan, the value checksum too. */
  partitionStats(table: TableRecord, values?: readonly HashPlanEntry[]): Promise<PartitionStats[]>;
  /** Keys of a partition held by at least `atLeast` rows (2: the duplicated ones), counted, with the `limit` most repeated. */
  keyCounts(table: TableRecord, partition: Partition, opts: { atLeast: number; limit: number }): Promise<KeyCounts>;
  /** Stream every row's key hash and value hash (under `values`) of a partition, without holding the partition in memory. */
  scanRowHashes(
    table: TableRecord,
    partition: Partition,
    values: readonly HashPlanEntry[],
    sink: RowHashSink,
  ): Promise<void>;
  /** The keys (as text) of the partition's rows whose key hash (decimal text) is one of `hashes`. */
  keysOfHashes(
    table: TableRecord,
    partition: Partition,
    hashes: ReadonlySet<string>,
  ): Promise<Map<string, Record<string, string | null>>>;
  /** Run SQL as given, rows as JSON-safe objects: the demo's query, and tests changing rows behind recount's back. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}
