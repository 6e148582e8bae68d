import { SerialQueue } from '../../serialQueue.ts';
import { ensureDir } from '../../fs/ensureDir.ts';
import { dirname } from 'node:path';
import type { DuckDBInstance, DuckDBConnection } from '@duckdb/node-api';
import { openDuckDB } from '../../engine/duckdb/settings.ts';
import type { Partition } from '../../catalog/partition.ts';
import { asRecountError, RecountError } from '../../errors.ts';
import { faultPoint } from '../../fault.ts';
import { ident, lit } from '../../engine/sql.ts';
import {
  checksumOf,
  checksumsByPartition,
  keyPlan,
  keysOfHashes,
  scanRowHashes,
  type HashPlanEntry,
  type RowHashSink,
} from '../checksum.ts';
import { keyCountsOf, keyCountsSql } from '../keyCounts.ts';
import type { WarehouseDialect } from '../dialect.ts';
import { runLoad, type LoadTransaction } from '../loadProtocol.ts';
import { partitionColumns, partitionIdSql, partitionPredicate, partitionValues } from '../partitionColumns.ts';
import { readVersion, versionChecksum } from '../scratchDuckdb.ts';
import type { WantedColumn } from '../schemaPlan.ts';
import { mapType, quoteTable } from '../typeMap.ts';
import type {
  KeyCounts,
  LoadRecord,
  LoadRequest,
  LoadResult,
  PartitionStats,
  TableRecord,
  VersionSource,
  Warehouse,
  WarehouseColumn,
} from '../warehouse.ts';

/*
 * The embedded warehouse is one DuckDB file, and DuckDB lets one process at a time open a file for writing.
 * So loads are serialised twice: across processes by DuckDB's file lock (a second process waits and retries
 * until lockTimeoutMs), and inside a process by a queue per file, since all connections of one process share
 * one instance. recount opens the file only for a load, a monitor sweep or a query, and closes it after, so
 * people can read it between loads (`duckdb -readonly .recount/warehouse.duckdb`); a reader that keeps it
 * open makes loads wait, then fail as pending. For concurrent readers and writers, use PostgreSQL.
 */

interface SharedFile {
  instance: DuckDBInstance;
  refs: number;
  readonly queue: SerialQueue;
  /**
   * Tables' columns and recount_tables rows as last committed, read or written by a load of this process. While the
   * file is open here no other process can write it (DuckDB's file lock), so a backfill that keeps it open plans
   * each load's schema without asking again. Dropped for a table whose schema a load changes and for every table on
   * a rollback or on any other statement (query()).
   */
  schemas: Map<string, { columns?: WarehouseColumn[]; record?: TableRecord }>;
}

const sameRecord = (a: TableRecord | undefined, b: TableRecord) =>
  a !== undefined && JSON.stringify(a) === JSON.stringify(b);

// Open files of this process by path; a promise, so two opens at once share one instance.
const open = new Map<string, Promise<SharedFile>>();

// Values of the key type fit the value types without loss: a column may keep a wider type than a new version's.
const WIDENS: Record<string, readonly string[]> = {
  TINYINT: ['SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'],
  SMALLINT: ['INTEGER', 'BIGINT', 'HUGEINT'],
  INTEGER: ['BIGINT', 'HUGEINT'],
  BIGINT: ['HUGEINT'],
  UTINYINT: ['SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'USMALLINT', 'UINTEGER', 'UBIGINT'],
  USMALLINT: ['INTEGER', 'BIGINT', 'HUGEINT', 'UINTEGER', 'UBIGINT'],
  UINTEGER: ['BIGINT', 'HUGEINT', 'UBIGINT'],
  UBIGINT: ['HUGEINT'],
  FLOAT: ['DOUBLE'],
};

/** DuckDB types: the output's own (ENUM as VARCHAR); integers and floats may widen, nothing else changes. */
export const duckdbDialect: WarehouseDialect = {
  columnType: (_table, _column, type) => mapType(type).duckdb,
  partitionType: (c) => c.duckdb,
  compatible(existing, wanted) {
    const e = existing.toUpperCase().replace(/\s+/g, ' ');
    const w = wanted.toUpperCase().replace(/\s+/g, ' ');
    return e === w || (WIDENS[w]?.includes(e) ?? false);
  },
};

function splitName(table: string): { schema: string; name: string } {
  const [a, b] = table.split('.');
  return b === undefined ? { schema: 'main', name: a! } : { schema: a!, name: b };
}

async function createInstance(path: string, lockTimeoutMs: number): Promise<DuckDBInstance> {
  ensureDir(dirname(path));
  const deadline = Date.now() + lockTimeoutMs;
  // Another process holds the file for one load at a time (a worker of serve, ~0.1 s): poll often, so the file does
  // not sit unused while this one sleeps (a backoff up to 0.5 s made two workers' loads wait on each other's naps).
  let wait = 10;
  for (;;) {
    try {
      // The file is opened for one load and closed after: a checkpoint at every close (the default) cost more than
      // the load of a small partition. Committed loads are durable in the WAL either way; it is checkpointed into
      // the file once it passes 1 MB (and replayed by whoever opens the file next), so it stays small to replay.
      const instance = await openDuckDB({ kind: 'warehouse' }, path);
      const conn = await instance.connect();
      try {
        await conn.run('PRAGMA disable_checkpoint_on_shutdown');
      } finally {
        conn.closeSync();
      }
      return instance;
    } catch (err) {
      const message = (err as Error).message;
      const locked = /lock/i.test(message);
      if (locked && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
        wait = Math.min(40, wait * 2);
        continue;
      }
      if (locked) {
        throw new RecountError('WAREHOUSE_BUSY', `the warehouse file ${path} is held by another process: ${message}`, {
          subject: path,
          hint: 'a DuckDB warehouse takes one writer at a time: close other programs that have it open (or open it with -readonly)',
          cause: err,
        });
      }
      throw new RecountError('WAREHOUSE_UNREACHABLE', `cannot open the warehouse file ${path}: ${message}`, {
        subject: path,
        hint: 'check that the folder is writable and the file is a DuckDB database (warehouse in recount.config.ts or RECOUNT_WAREHOUSE)',
        cause: err,
      });
    }
  }
}

/** The DuckDB warehouse: tables in one DuckDB file, loaded straight from the version's Parquet. */
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

  private async rows<T>(sql: string): Promise<T[]> {
    return (await this.conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
  }

  async load(req: LoadRequest): Promise<LoadResult> {
    return this.exclusive(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      // What this load learns or writes of the table's schema, kept only once it commits.
      const learned = new Map<string, { columns?: WarehouseColumn[]; record?: TableRecord; changed?: boolean }>();
      try {
        const result = await runLoad(this.transaction(learned), duckdbDialect, req, async (plan, signal) => {
          // A second connection of the same instance reads the Parquet while the first inserts it.
          const reader = await this.file.instance.connect();
          try {
            return await versionChecksum(reader, req.source.files, plan, signal);
          } finally {
            reader.closeSync();
          }
        });
        await this.conn.run('COMMIT');
        for (const [table, l] of learned) {
          if (l.changed) this.file.schemas.delete(table);
          else
            this.file.schemas.set(table, {
              ...this.file.schemas.get(table),
              ...(l.columns ? { columns: l.columns } : {}),
              ...(l.record ? { record: l.record } : {}),
            });
        }
        return result;
      } catch (err) {
        this.file.schemas.clear();
        await this.conn.run('ROLLBACK').catch(() => undefined);
        const e = asRecountError(err, 'WAREHOUSE_LOAD');
        if (e.code === 'WAREHOUSE_LOAD' && !(err instanceof RecountError)) {
          throw new RecountError(
            'WAREHOUSE_LOAD',
            `loading ${req.source.analyzer} ${req.source.partition.id} v${req.source.version} into ${req.table.name} (${this.display}) failed: ${e.message}`,
            {
              subject: `${req.table.name} ${req.source.partition.id}`,
              hint: 'the load was rolled back and the previous rows stay; fix the cause',
              cause: err,
            },
          );
        }
        throw e;
      }
    });
  }

  private transaction(
    learned: Map<string, { columns?: WarehouseColumn[]; record?: TableRecord; changed?: boolean }>,
  ): LoadTransaction {
    const conn = this.conn;
    const learn = (table: string) => learned.get(table) ?? learned.set(table, {}).get(table)!;
    return {
      lockPartition: async () => undefined,
      lockTable: async () => undefined,
      loadRecord: async (table, partition) =>
        (await this.loadRecords(`table_name = ${lit(table)} AND partition_id = ${lit(partition)}`))[0],
      tableRecord: async (table) => {
        const known = learn(table).changed ? undefined : this.file.schemas.get(table)?.record;
        return known ?? (learn(table).record = (await this.tableRecords(`table_name = ${lit(table)}`))[0]);
      },
      columns: async (table) => {
        const known = learn(table).changed ? undefined : this.file.schemas.get(table)?.columns;
        if (known) return known;
        const cols = await this.columns(table);
        if (cols) learn(table).columns = cols;
        return cols;
      },
      createTable: async (table, cols, part) => {
        learn(table).changed = true;
        const { schema } = splitName(table);
        if (schema !== 'main') await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
        const defs = [
          ...cols.map((c) => `${ident(c.name)} ${c.type}`),
          ...part.map((c) => `${ident(c.name)} ${c.type} NOT NULL`),
        ];
        await conn.run(`CREATE TABLE ${quoteTable(table)} (${defs.join(', ')})`);
      },
      addColumns: async (table, cols: readonly WantedColumn[]) => {
        learn(table).changed = true;
        for (const c of cols) await conn.run(`ALTER TABLE ${quoteTable(table)} ADD COLUMN ${ident(c.name)} ${c.type}`);
      },
      deletePartition: async (table, p) => {
        await conn.run(`DELETE FROM ${quoteTable(table)} WHERE ${partitionPredicate(p)}`);
      },
      insertRows: (table, source) => this.insertRows(table, source),
      stats: (table, p, plan) => checksumOf(conn, `${quoteTable(table)} WHERE ${partitionPredicate(p)}`, plan),
      duplicateKeys: (table, p, keys, limit) => this.keyCountsIn(table, p, keys, 2, limit),
      record: async (load, t) => {
        await conn.run(
          `INSERT INTO recount_loads VALUES (${lit(load.table)}, ${lit(load.partition)}, ${lit(load.analyzer)}, ${load.version}, ${load.rows}, ${lit(load.checksum)}, ${lit(load.loadedAt)}::TIMESTAMPTZ)
           ON CONFLICT (table_name, partition_id) DO UPDATE SET analyzer = excluded.analyzer, version = excluded.version, rows = excluded.rows, checksum = excluded.checksum, loaded_at = excluded.loaded_at`,
        );
        // The table's row is written when it changes; a load of one more partition of the same output leaves it.
        const l = learn(t.table);
        if (!l.changed && sameRecord(l.record ?? this.file.schemas.get(t.table)?.record, t)) return;
        await conn.run(
          `INSERT INTO recount_tables VALUES (${lit(t.table)}, ${lit(t.analyzer)}, ${lit(t.grain)}, ${lit(JSON.stringify(t.keys))}, ${lit(JSON.stringify(t.columns))}, now())
           ON CONFLICT (table_name) DO UPDATE SET analyzer = excluded.analyzer, grain = excluded.grain, keys_json = excluded.keys_json, columns_json = excluded.columns_json, updated_at = excluded.updated_at`,
        );
        l.record = {
          table: t.table,
          analyzer: t.analyzer,
          grain: t.grain,
          keys: [...t.keys],
          columns: t.columns.map((c) => ({ name: c.name, type: c.type })),
        };
      },
    };
  }

  // One INSERT per Parquet file, so a crash test can kill the process between two of them.
  private async insertRows(table: string, source: VersionSource): Promise<number> {
    const names = source.columns.map((c) => ident(c.name));
    const part = partitionColumns(source.partition.grain);
    const values = partitionValues(source.partition);
    const target = [...names, ...part.map((c) => ident(c.name))].join(', ');
    const select = [...names, ...values.map((v, i) => `${v} AS ${ident(part[i]!.name)}`)].join(', ');
    let inserted = 0;
    for (const [i, f] of source.files.entries()) {
      const r = await this.conn.run(
        `INSERT INTO ${quoteTable(table)} (${target}) SELECT ${select} FROM ${readVersion([f])}`,
      );
      inserted += r.rowsChanged;
      if (i === 0) faultPoint('during-load-copy');
    }
    if (source.files.length === 0) faultPoint('during-load-copy');
    return inserted;
  }

  private async keyCountsIn(
    table: string,
    p: Partition,
    keys: readonly string[],
    atLeast: number,
    limit: number,
  ): Promise<KeyCounts> {
    return keyCountsOf(
      await this.rows(keyCountsSql(table, partitionPredicate(p), keys, 'VARCHAR', atLeast, limit)),
      keys,
      limit,
    );
  }

  private async loadRecords(where?: string): Promise<LoadRecord[]> {
    const rows = await this.rows<{
      table_name: string;
      partition_id: string;
      analyzer: string;
      version: number;
      rows: string;
      checksum: string;
      loaded_at: string;
    }>(
      `SELECT table_name, partition_id, analyzer, version, rows, checksum, strftime(loaded_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS loaded_at FROM recount_loads ${where ? `WHERE ${where}` : ''} ORDER BY table_name, partition_id`,
    );
    return rows.map((r) => ({
      table: r.table_name,
      partition: r.partition_id,
      analyzer: r.analyzer,
      version: Number(r.version),
      rows: Number(r.rows),
      checksum: r.checksum,
      loadedAt: r.loaded_at,
    }));
  }

  private async tableRecords(where?: string): Promise<TableRecord[]> {
    const rows = await this.rows<{
      table_name: string;
      analyzer: string;
      grain: 'hour' | 'day';
      keys_json: string;
      columns_json: string;
    }>(
      `SELECT table_name, analyzer, grain, keys_json, columns_json FROM recount_tables ${where ? `WHERE ${where}` : ''} ORDER BY table_name`,
    );
    return rows.map((r) => ({
      table: r.table_name,
      analyzer: r.analyzer,
      grain: r.grain,
      keys: JSON.parse(r.keys_json),
      columns: JSON.parse(r.columns_json),
    }));
  }

  async init(): Promise<void> {
    await this.conn.run(
      `CREATE TABLE IF NOT EXISTS recount_loads (table_name VARCHAR NOT NULL, partition_id VARCHAR NOT NULL, analyzer VARCHAR NOT NULL, version INTEGER NOT NULL, rows BIGINT NOT NULL, checksum VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (table_name, partition_id))`,
    );
    await this.conn.run(
      `CREATE TABLE IF NOT EXISTS recount_tables (table_name VARCHAR PRIMARY KEY, analyzer VARCHAR NOT NULL, grain VARCHAR NOT NULL, keys_json VARCHAR NOT NULL, columns_json VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
    );
  }

  tables(): Promise<TableRecord[]> {
    return this.exclusive(() => this.tableRecords());
  }

  loads(table?: string): Promise<LoadRecord[]> {
    return this.exclusive(() => this.loadRecords(table ? `table_name = ${lit(table)}` : undefined));
  }

  async columns(table: string): Promise<WarehouseColumn[] | undefined> {
    const { schema, name } = splitName(table);
    const rows = await this.rows<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = ${lit(schema)} AND table_name = ${lit(name)} ORDER BY ordinal_position`,
    );
    return rows.length
      ? rows.map((r) => ({ name: r.column_name, type: r.data_type, nullable: r.is_nullable === 'YES' }))
      : undefined;
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
    return this.exclusive(() => this.keyCountsIn(t.table, p, t.keys, opts.atLeast, opts.limit));
  }

  scanRowHashes(t: TableRecord, p: Partition, values: readonly HashPlanEntry[], sink: RowHashSink): Promise<void> {
    return this.exclusive(() =>
      scanRowHashes(
        this.conn,
        `${quoteTable(t.table)} WHERE ${partitionPredicate(p)}`,
        keyPlan(t.columns, t.keys),
        values,
        sink,
      ),
    );
  }

  keysOfHashes(
    t: TableRecord,
    p: Partition,
    hashes: ReadonlySet<string>,
  ): Promise<Map<string, Record<string, string | null>>> {
    return this.exclusive(() =>
      keysOfHashes(
        this.conn,
        `${quoteTable(t.table)} WHERE ${partitionPredicate(p)}`,
        keyPlan(t.columns, t.keys),
        hashes,
      ),
    );
  }

  query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    // Any statement may change a table recount loads: what loads learned of schemas is asked again.
    this.file.schemas.clear();
    return this.exclusive(() => this.rows<T>(sql));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.queue.idle();
    this.conn.closeSync();
    if (--this.file.refs === 0) {
      open.delete(this.path);
      this.file.instance.closeSync();
    }
  }
}

/** Open the DuckDB warehouse file (created with its recount_loads and recount_tables tables if new). */
export async function openDuckDBWarehouse(path: string, opts: { lockTimeoutMs?: number } = {}): Promise<Warehouse> {
  let pending = open.get(path);
  if (!pending) {
    pending = createInstance(path, opts.lockTimeoutMs ?? 60_000).then((instance) => ({
      instance,
      refs: 0,
      queue: new SerialQueue(),
      schemas: new Map(),
    }));
    open.set(path, pending);
    pending.catch(() => open.delete(path));
  }
  const file = await pending;
  file.refs++;
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
