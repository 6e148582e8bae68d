import { SerialQueue } from '../../serialQueue.ts';
import pg from 'pg';
import type { Partition } from '../../catalog/partition.ts';
import { ident } from '../../engine/sql.ts';
import { keyPlan, pgRowHashSql, type HashPlanEntry, type RowHashSink, type RowsChecksum } from '../checksum.ts';
import { keyCountsOf, keyCountsSql } from '../keyCounts.ts';
import type { WarehouseDialect } from '../dialect.ts';
import { runLoad, type LoadTransaction } from '../loadProtocol.ts';
import { partitionColumns, partitionIdSql, partitionPredicate, partitionValues } from '../partitionColumns.ts';
import { openScratchDuckDB, readVersion, versionChecksum, type ScratchDuckDB } from '../scratchDuckdb.ts';
import type { WantedColumn } from '../schemaPlan.ts';
import { mapType, postgresType, quoteTable } from '../typeMap.ts';
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
import { copyQueryIn } from './copyIn.ts';
import { copyRowHashesOut } from './copyOut.ts';
import { pgError } from './errors.ts';

// A column may keep a wider type than a new version's: these widen without loss.
const WIDENS: Record<string, readonly string[]> = {
  smallint: ['integer', 'bigint'],
  integer: ['bigint'],
  real: ['double precision'],
  text: ['character varying'],
};

const ALIASES: Record<string, string> = {
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
};

/** A PostgreSQL type name in one spelling: format_type's long forms and aliases folded, varchar's length dropped. */
export function normalizePgType(type: string): string {
  const t = type
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*,\s*/g, ',')
    .trim()
    .replace(/^character varying\(\d+\)$/, 'character varying');
  return ALIASES[t] ?? t;
}

/** PostgreSQL types from the documented mapping (typeMap.ts); integers and floats may widen, nothing else changes. */
export const postgresDialect: WarehouseDialect = {
  columnType: (table, column, type) => postgresType(table, column, type),
  partitionType: (c) => c.postgres,
  compatible(existing, wanted) {
    const e = normalizePgType(existing);
    const w = normalizePgType(wanted);
    return e === w || (WIDENS[w]?.includes(e) ?? false);
  },
};

// Dates and times come back as the server's text, not as JavaScript Dates in the local time zone.
const TEXT_TYPES = new Set([1082, 1083, 1114, 1184, 1266]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TEXT_TYPES.has(oid)
      ? (v: string) => v
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function lockKey(kind: string, ...parts: string[]): string {
  return `recount.${kind}:${parts.join(':')}`;
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

  private async q<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]> {
    return (await this.client.query<T>(sql, values)).rows;
  }

  async init(): Promise<void> {
    await this.serial('preparing recount_loads', async () => {
      await this.q(`SET TimeZone TO 'UTC'`);
      await this.q(`SET DateStyle TO 'ISO, YMD'`);
      await this.q('BEGIN');
      try {
        await this.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey('meta')]);
        await this.q(
          `CREATE TABLE IF NOT EXISTS recount_loads (table_name text NOT NULL, partition_id text NOT NULL, analyzer text NOT NULL, version integer NOT NULL, rows bigint NOT NULL, checksum text NOT NULL, loaded_at timestamptz NOT NULL, PRIMARY KEY (table_name, partition_id))`,
        );
        await this.q(
          `CREATE TABLE IF NOT EXISTS recount_tables (table_name text PRIMARY KEY, analyzer text NOT NULL, grain text NOT NULL, keys_json text NOT NULL, columns_json text NOT NULL, updated_at timestamptz NOT NULL)`,
        );
        await this.q('COMMIT');
      } catch (err) {
        await this.q('ROLLBACK').catch(() => undefined);
        throw err;
      }
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
        await this.q('BEGIN');
        try {
          const result = await runLoad(this.transaction(scratch), postgresDialect, req, async (plan, signal) =>
            versionChecksum(await (await scratch()).connect(), source.files, plan, signal),
          );
          await this.q('COMMIT');
          return result;
        } catch (err) {
          if (!this.broken) await this.q('ROLLBACK').catch(() => undefined);
          throw err;
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

  private transaction(scratch: () => Promise<ScratchDuckDB>): LoadTransaction {
    return {
      // The COPY is bound by the server parsing CSV (measured: hashing during it cut reconciliation by a third and
      // left the copy as fast), so the version is hashed meanwhile.
      hashWhileCopying: true,
      lockPartition: async (table, partition) => {
        await this.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey('load', table, partition)]);
      },
      lockTable: async (table) => {
        await this.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey('ddl', table)]);
      },
      loadRecord: async (table, partition) =>
        (await this.loadRecords('WHERE table_name = $1 AND partition_id = $2', [table, partition]))[0],
      tableRecord: async (table) => (await this.tableRecords('WHERE table_name = $1', [table]))[0],
      columns: (table) => this.tableColumns(table),
      createTable: async (table, cols, part) => {
        const [schema, name] = table.includes('.') ? table.split('.') : [undefined, table];
        if (schema) await this.q(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
        const defs = [
          ...cols.map((c) => `${ident(c.name)} ${c.type}`),
          ...part.map((c) => `${ident(c.name)} ${c.type} NOT NULL`),
        ];
        await this.q(`CREATE TABLE ${quoteTable(table)} (${defs.join(', ')})`);
        // BRIN, not B-tree: a load appends a partition's rows together, so block ranges map to partitions; it
        // makes DELETE and per-partition reads skip the rest of the table at almost no cost to COPY (a B-tree on
        // the partition columns doubled COPY time here). New ranges are summarized by autovacuum; autosummarize
        // is off because a big load would flood the server log with "summarization request not recorded".
        await this.q(
          `CREATE INDEX ${ident(`${name!.slice(0, 40)}_recount_partition`)} ON ${quoteTable(table)} USING brin (${part.map((c) => ident(c.name)).join(', ')})`,
        );
      },
      addColumns: async (table, cols: readonly WantedColumn[]) => {
        for (const c of cols) await this.q(`ALTER TABLE ${quoteTable(table)} ADD COLUMN ${ident(c.name)} ${c.type}`);
      },
      deletePartition: async (table, p) => {
        await this.q(`DELETE FROM ${quoteTable(table)} WHERE ${partitionPredicate(p)}`);
      },
      insertRows: async (table, source) =>
        source.files.length
          ? copyQueryIn(this.client, copySql(table, source), await (await scratch()).connect(), copySelect(source))
          : 0,
      stats: (table, p, plan) => this.stats(table, p, plan),
      duplicateKeys: (table, p, keys, limit) => this.keyCountsIn(table, p, keys, 2, limit),
      record: async (load, t) => {
        await this.q(
          `INSERT INTO recount_loads (table_name, partition_id, analyzer, version, rows, checksum, loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (table_name, partition_id) DO UPDATE SET analyzer = excluded.analyzer, version = excluded.version, rows = excluded.rows, checksum = excluded.checksum, loaded_at = excluded.loaded_at`,
          [load.table, load.partition, load.analyzer, load.version, load.rows, load.checksum, load.loadedAt],
        );
        await this.q(
          `INSERT INTO recount_tables (table_name, analyzer, grain, keys_json, columns_json, updated_at) VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (table_name) DO UPDATE SET analyzer = excluded.analyzer, grain = excluded.grain, keys_json = excluded.keys_json, columns_json = excluded.columns_json, updated_at = excluded.updated_at`,
          [t.table, t.analyzer, t.grain, JSON.stringify(t.keys), JSON.stringify(t.columns)],
        );
      },
    };
  }

  private async stats(table: string, p: Partition | undefined, plan: readonly HashPlanEntry[]): Promise<RowsChecksum> {
    const [row] = await this.q<{ rows: string; checksum: string }>(
      `SELECT count(*)::bigint AS rows, coalesce(sum(${pgRowHashSql(plan)}), 0)::text AS checksum FROM ${quoteTable(table)}${p ? ` WHERE ${partitionPredicate(p)}` : ''}`,
    );
    return { rows: Number(row!.rows), checksum: row!.checksum };
  }

  private async keyCountsIn(
    table: string,
    p: Partition,
    keys: readonly string[],
    atLeast: number,
    limit: number,
  ): Promise<KeyCounts> {
    return keyCountsOf(
      await this.q(keyCountsSql(table, partitionPredicate(p), keys, 'text', atLeast, limit)),
      keys,
      limit,
    );
  }

  private async loadRecords(where = '', values: unknown[] = []): Promise<LoadRecord[]> {
    const rows = await this.q<{
      table_name: string;
      partition_id: string;
      analyzer: string;
      version: number;
      rows: string;
      checksum: string;
      loaded_at: string;
    }>(
      `SELECT table_name, partition_id, analyzer, version, rows, checksum, to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS loaded_at FROM recount_loads ${where} ORDER BY table_name, partition_id`,
      values,
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

  private async tableRecords(where = '', values: unknown[] = []): Promise<TableRecord[]> {
    const rows = await this.q<{
      table_name: string;
      analyzer: string;
      grain: 'hour' | 'day';
      keys_json: string;
      columns_json: string;
    }>(
      `SELECT table_name, analyzer, grain, keys_json, columns_json FROM recount_tables ${where} ORDER BY table_name`,
      values,
    );
    return rows.map((r) => ({
      table: r.table_name,
      analyzer: r.analyzer,
      grain: r.grain,
      keys: JSON.parse(r.keys_json),
      columns: JSON.parse(r.columns_json),
    }));
  }

  private async tableColumns(table: string): Promise<WarehouseColumn[] | undefined> {
    const rows = await this.q<{ name: string; type: string; nullable: boolean }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
       FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [quoteTable(table)],
    );
    return rows.length ? rows : undefined;
  }

  tables(): Promise<TableRecord[]> {
    return this.serial('reading recount_tables', () => this.tableRecords());
  }

  loads(table?: string): Promise<LoadRecord[]> {
    return this.serial('reading recount_loads', () =>
      table ? this.loadRecords('WHERE table_name = $1', [table]) : this.loadRecords(),
    );
  }

  columns(table: string): Promise<WarehouseColumn[] | undefined> {
    return this.serial(`describing table ${table}`, () => this.tableColumns(table));
  }

  partitionStats(t: TableRecord, values?: readonly HashPlanEntry[]): Promise<PartitionStats[]> {
    return this.serial(`scanning table ${t.table}`, async () => {
      const rows = await this.q<{ partition: string; rows: string; checksum: string; value_checksum?: string }>(
        `SELECT ${partitionIdSql(t.grain, 'text')} AS partition, count(*)::bigint AS rows, coalesce(sum(${pgRowHashSql(keyPlan(t.columns, t.keys))}), 0)::text AS checksum
           ${values ? `, coalesce(sum(${pgRowHashSql(values)}), 0)::text AS value_checksum` : ''}
         FROM ${quoteTable(t.table)} GROUP BY ${partitionColumns(t.grain)
           .map((c) => ident(c.name))
           .join(', ')} ORDER BY 1`,
      );
      return rows.map((r) => ({
        partition: r.partition,
        rows: Number(r.rows),
        checksum: r.checksum,
        ...(values ? { valueChecksum: r.value_checksum! } : {}),
      }));
    });
  }

  keyCounts(t: TableRecord, p: Partition, opts: { atLeast: number; limit: number }): Promise<KeyCounts> {
    return this.serial(`scanning table ${t.table}`, () =>
      this.keyCountsIn(t.table, p, t.keys, opts.atLeast, opts.limit),
    );
  }

  scanRowHashes(t: TableRecord, p: Partition, values: readonly HashPlanEntry[], sink: RowHashSink): Promise<void> {
    return this.serial(`scanning table ${t.table}`, () =>
      copyRowHashesOut(
        this.client,
        `SELECT ${pgRowHashSql(keyPlan(t.columns, t.keys))} AS k, ${pgRowHashSql(values)} AS v FROM ${quoteTable(t.table)} WHERE ${partitionPredicate(p)}`,
        sink,
      ),
    );
  }

  keysOfHashes(
    t: TableRecord,
    p: Partition,
    hashes: ReadonlySet<string>,
  ): Promise<Map<string, Record<string, string | null>>> {
    return this.serial(`scanning table ${t.table}`, async () => {
      const out = new Map<string, Record<string, string | null>>();
      if (hashes.size === 0) return out;
      const shown = t.keys.map((k, i) => `${ident(k)}::text AS __v${i}`).join(', ');
      const rows = await this.q<Record<string, string | null>>(
        `SELECT h::text AS __h, ${t.keys.map((_, i) => `__v${i}`).join(', ')} FROM (SELECT (${pgRowHashSql(keyPlan(t.columns, t.keys))}) AS h, ${shown} FROM ${quoteTable(t.table)} WHERE ${partitionPredicate(p)}) s WHERE h = ANY($1::bigint[])`,
        [[...hashes]],
      );
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

function copySql(table: string, source: VersionSource): string {
  const cols = [...source.columns.map((c) => c.name), ...partitionColumns(source.partition.grain).map((c) => c.name)];
  return `COPY ${quoteTable(table)} (${cols.map(ident).join(', ')}) FROM STDIN WITH (FORMAT csv)`;
}

function copySelect(source: VersionSource): string {
  const part = partitionColumns(source.partition.grain);
  const values = partitionValues(source.partition);
  const cols = [
    ...source.columns.map((c) => `${mapType(c.type).csv(ident(c.name))} AS ${ident(c.name)}`),
    ...values.map((v, i) => `${v} AS ${ident(part[i]!.name)}`),
  ];
  return `SELECT ${cols.join(', ')} FROM ${readVersion(source.files)}`;
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
