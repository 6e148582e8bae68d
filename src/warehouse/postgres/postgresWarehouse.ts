import pg from 'pg';
import type { Partition } from '../../catalog/partition.ts';
import { ident } from '../../engine/sql.ts';
import { SerialQueue } from '../../serialQueue.ts';
import { type HashPlanEntry, keyPlan, pgRowHashSql, type RowHashSink } from '../checksum.ts';
import { runLoad } from '../loadProtocol.ts';
import { partitionColumns, partitionIdSql, partitionPredicate } from '../partitionColumns.ts';
import { createLoadsTableSql, createTablesTableSql } from '../recountTables.ts';
import { openScratchDuckDB, type ScratchDuckDB, versionChecksum } from '../scratchDuckdb.ts';
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
import { copyRowHashesOut } from './copyOut.ts';
import { pgError } from './errors.ts';
import { postgresLoadTransaction } from './postgresLoadTransaction.ts';
import { keyCountsIn, loadRecords, type PgQuery, tableColumns, tableRecords } from './postgresReads.ts';
import { ADVISORY_XACT_LOCK_SQL, advisoryLockKey, PG_META_TYPES, postgresDialect } from './postgresWarehouseDialect.ts';

export { normalizePgType, postgresDialect } from './postgresWarehouseDialect.ts';

// Dates and times come back as the server's text, not as JavaScript Dates in the local time zone.
const TEXT_TYPES = new Set([1082, 1083, 1114, 1184, 1266]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TEXT_TYPES.has(oid)
      ? (v: string) => v
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Every partition of a table: rows, key checksum and (with a value plan) value checksum, ordered by partition. */
function partitionStatsSql(t: TableRecord, values?: readonly HashPlanEntry[]): string {
  return `SELECT ${partitionIdSql(t.grain, 'text')} AS partition, count(*)::bigint AS rows,
      coalesce(sum(${pgRowHashSql(keyPlan(t.columns, t.keys))}), 0)::text AS checksum
      ${values ? `, coalesce(sum(${pgRowHashSql(values)}), 0)::text AS value_checksum` : ''}
    FROM ${quoteTable(t.table)}
    GROUP BY ${partitionColumns(t.grain)
      .map((c) => ident(c.name))
      .join(', ')}
    ORDER BY 1`;
}

/** The key hash (as text) and key values (as __v0…) of a partition's rows whose key hash is one of $1. */
function keysOfHashesSql(t: TableRecord, p: Partition): string {
  const shown = t.keys.map((k, i) => `${ident(k)}::text AS __v${i}`).join(', ');
  return `SELECT h::text AS __h, ${t.keys.map((_, i) => `__v${i}`).join(', ')}
    FROM (SELECT (${pgRowHashSql(keyPlan(t.columns, t.keys))}) AS h, ${shown}
          FROM ${quoteTable(t.table)} WHERE ${partitionPredicate(p)}) s
    WHERE h = ANY($1::bigint[])`;
}

/** Options of a PostgreSQL warehouse connection. */
export interface PostgresWarehouseOptions {
  readonly connectTimeoutMs?: number;
}

/** The PostgreSQL warehouse: one connection; loads in transactions, rows through COPY, checksums in SQL. */
class PostgresWarehouse implements Warehouse {
  readonly kind = 'postgres';
  readonly dialect = postgresDialect;
  private broken: Error | undefined;
  private readonly queue = new SerialQueue();
  private readonly q: PgQuery = async (sql, values) => (await this.client.query(sql, values)).rows;

  constructor(
    private readonly client: pg.Client,
    readonly display: string,
    private readonly secrets: readonly string[],
  ) {
    // A server that goes away emits 'error' on the client: remember it for the next call instead of crashing.
    client.on('error', (err) => {
      this.broken = err;
    });
  }

  // One statement stream per connection: calls queue behind each other.
  private serial<T>(doing: string, fn: () => Promise<T>, subject?: string): Promise<T> {
    return this.queue.run(async () => {
      if (this.broken) throw pgError(this.broken, { display: this.display, secrets: this.secrets, doing, subject });
      try {
        return await fn();
      } catch (err) {
        throw pgError(err, { display: this.display, secrets: this.secrets, doing, subject });
      }
    });
  }

  /** Run `fn` in a transaction: committed when it returns, rolled back (unless the connection broke) when it throws. */
  private async inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.q('BEGIN');
    try {
      const result = await fn();
      await this.q('COMMIT');
      return result;
    } catch (err) {
      if (!this.broken) await this.q('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async init(): Promise<void> {
    await this.serial('preparing recount_loads', async () => {
      await this.q(`SET TimeZone TO 'UTC'`);
      await this.q(`SET DateStyle TO 'ISO, YMD'`);
      await this.inTransaction(async () => {
        await this.q(ADVISORY_XACT_LOCK_SQL, [advisoryLockKey('meta')]);
        await this.q(createLoadsTableSql(PG_META_TYPES));
        await this.q(createTablesTableSql(PG_META_TYPES));
      });
    });
  }

  load(req: LoadRequest): Promise<LoadResult> {
    const { source, table } = req;
    const doing = `loading ${source.analyzer} ${source.partition.id} v${source.version} into table ${table.name}`;
    return this.serial(
      doing,
      async () => {
        // DuckDB reads the version only when rows are copied: an unchanged or superseded load never opens it.
        let opened: Promise<ScratchDuckDB> | undefined;
        const scratch = () => (opened ??= openScratchDuckDB());
        try {
          return await this.inTransaction(() =>
            runLoad(postgresLoadTransaction(this.client, this.q, scratch), postgresDialect, req, async (plan, signal) =>
              versionChecksum(await (await scratch()).connect(), source.files, plan, signal),
            ),
          );
        } finally {
          await opened?.then(
            (d) => d.close(),
            () => undefined,
          );
        }
      },
      `${table.name} ${source.partition.id}`,
    );
  }

  tables(): Promise<TableRecord[]> {
    return this.serial('reading recount_tables', () => tableRecords(this.q));
  }

  loads(table?: string): Promise<LoadRecord[]> {
    return this.serial('reading recount_loads', () =>
      table ? loadRecords(this.q, 'WHERE table_name = $1', [table]) : loadRecords(this.q),
    );
  }

  columns(table: string): Promise<WarehouseColumn[] | undefined> {
    return this.serial(`describing table ${table}`, () => tableColumns(this.q, table));
  }

  partitionStats(t: TableRecord, values?: readonly HashPlanEntry[]): Promise<PartitionStats[]> {
    return this.serial(`scanning table ${t.table}`, async () => {
      type Row = { partition: string; rows: string; checksum: string; value_checksum?: string };
      const rows = await this.q<Row>(partitionStatsSql(t, values));
      return rows.map((r) => ({
        partition: r.partition,
        rows: Number(r.rows),
        checksum: r.checksum,
        ...(values ? { valueChecksum: r.value_checksum! } : {}),
      }));
    });
  }

  keyCounts(t: TableRecord, p: Partition, opts: { atLeast: number; limit: number }): Promise<KeyCounts> {
    return this.serial(`scanning table ${t.table}`, () => keyCountsIn(this.q, t.table, p, t.keys, opts));
  }

  scanRowHashes(t: TableRecord, p: Partition, values: readonly HashPlanEntry[], sink: RowHashSink): Promise<void> {
    const sql = `SELECT ${pgRowHashSql(keyPlan(t.columns, t.keys))} AS k, ${pgRowHashSql(values)} AS v
      FROM ${quoteTable(t.table)} WHERE ${partitionPredicate(p)}`;
    return this.serial(`scanning table ${t.table}`, () => copyRowHashesOut(this.client, sql, sink));
  }

  keysOfHashes(
    t: TableRecord,
    p: Partition,
    hashes: ReadonlySet<string>,
  ): Promise<Map<string, Record<string, string | null>>> {
    return this.serial(`scanning table ${t.table}`, async () => {
      const out = new Map<string, Record<string, string | null>>();
      if (hashes.size === 0) return out;
      const rows = await this.q<Record<string, string | null>>(keysOfHashesSql(t, p), [[...hashes]]);
      for (const r of rows)
        if (!out.has(r.__h!)) out.set(r.__h!, Object.fromEntries(t.keys.map((k, i) => [k, r[`__v${i}`] ?? null])));
      return out;
    });
  }

  query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return this.serial('querying', async () => (await this.client.query(sql)).rows as T[]);
  }

  async close(): Promise<void> {
    await this.queue.idle();
    await this.client.end().catch(() => undefined);
  }
}

/** Connect to a PostgreSQL warehouse (creating recount_loads and recount_tables if missing). */
export async function openPostgresWarehouse(
  connectionString: string,
  display: string,
  secrets: readonly string[],
  opts: PostgresWarehouseOptions = {},
): Promise<Warehouse> {
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    application_name: 'recount',
    types,
  });
  const wh = new PostgresWarehouse(client, display, secrets);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw pgError(err, { display, secrets, doing: 'connecting' });
  }
  try {
    await wh.init();
  } catch (err) {
    await wh.close();
    throw err;
  }
  return wh;
}
