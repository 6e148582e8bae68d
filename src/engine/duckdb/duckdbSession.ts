import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DUCKDB_LAYOUT_SCHEME } from '../../layout/schemes.ts';
import type {
  Column,
  EngineSession,
  EngineUsage,
  LayoutRequest,
  PartitionVariables,
  WrittenLayout,
} from '../engine.ts';
import { subquery } from '../queryText.ts';
import { fileList, ident, lit } from '../sql.ts';
import { utcWallTime } from '../utcWallTime.ts';
import { duckdbDialect } from './duckdbDialect.ts';
import { writeDuckdbLayout } from './duckdbLayout.ts';

/** A timestamp literal DuckDB reads as UTC wall time. */
function timestampLit(d: Date): string {
  return `TIMESTAMP ${lit(utcWallTime(d))}`;
}

/** The engine's memory by its own accounting, and its spill files' size, as `m` and `s`. */
const USAGE_SQL =
  'SELECT (SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory())::BIGINT AS m, (SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files())::BIGINT AS s';

/** Where a session's instance goes when the session closes: back to its engine for the next attempt, or closed. */
export interface Release {
  /** close() was called; `released` settles once the instance is reset and handed back. */
  closing(released: Promise<void>): void;
  /** The instance, and whether another attempt may use it. */
  done(instance: DuckDBInstance, reusable: boolean): void;
}

/**
 * One attempt's DuckDB session: its own catalog on an instance of the engine, and a second connection that reads
 * memory and spill while a query runs; close() resets the instance and hands it back (or closes it).
 */
export class DuckDBSession implements EngineSession {
  readonly engine = 'duckdb';
  readonly layoutScheme = DUCKDB_LAYOUT_SCHEME;
  readonly dialect = duckdbDialect;
  /** A second connection, so memory and spill can be read while the main one runs a query. */
  private monitor: Promise<DuckDBConnection> | undefined;
  /** Monitor queries run one at a time; close() must not pull their connection or instance from under them. */
  private monitorTail: Promise<unknown> = Promise.resolve();
  private monitorBusy = 0;
  private monitorConn: DuckDBConnection | undefined;
  /** Connections besides the main one, made on first use, for statements that run side by side (a layout's files). */
  private lanes: Promise<DuckDBConnection>[] = [];
  private closed = false;
  /** A statement of this session failed: its instance is not trusted for another attempt (it may be out of memory). */
  private failed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly version: string,
    /** The attempt's own in-memory catalog: every view and table the attempt makes goes there, and goes with it. */
    readonly catalog: string,
    /** The threads the instance runs on for this attempt. */
    readonly threads: number,
    private readonly release: Release,
  ) {}

  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  async exec(sql: string): Promise<void> {
    await this.guard(() => this.conn.run(sql));
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await this.guard(() => this.conn.runAndReadAll(sql));
    return reader.getRowObjectsJson() as T[];
  }

  /**
   * Run `sql` on lane `lane`: 0 is the main connection, every other lane a connection of its own in the attempt's
   * catalog, so statements on different lanes run at the same time within the instance's limits.
   */
  async queryOnLane<T = Record<string, unknown>>(lane: number, sql: string): Promise<T[]> {
    if (lane === 0) return this.query<T>(sql);
    this.lanes[lane] ??= this.instance.connect().then(async (conn) => {
      await conn.run(`USE ${ident(this.catalog)}`);
      return conn;
    });
    const conn = await this.guard(() => this.lanes[lane]!);
    const reader = await this.guard(() => conn.runAndReadAll(sql));
    return reader.getRowObjectsJson() as T[];
  }

  async describe(sql: string): Promise<Column[]> {
    const rows = await this.query<{ column_name: string; column_type: string }>(`DESCRIBE ${subquery(sql)}`);
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  }

  parquetSchema(path: string): Promise<Column[]> {
    return this.describe(`SELECT * FROM read_parquet(${lit(path)}, hive_partitioning = false)`);
  }

  async readFully(path: string): Promise<void> {
    await this.query(`SELECT max(hash(COLUMNS(*))) FROM read_parquet(${lit(path)}, hive_partitioning = false)`);
  }

  async createParquetView(name: string, paths: readonly string[]): Promise<void> {
    await this.exec(
      `CREATE OR REPLACE VIEW ${ident(name)} AS SELECT * FROM read_parquet(${fileList(paths)}, hive_partitioning = false)`,
    );
  }

  async setPartitionVariables(vars: PartitionVariables): Promise<void> {
    // One round trip: DuckDB runs the statements of one call in order.
    await this.exec(
      [
        `SET VARIABLE partition_id = ${lit(vars.id)}`,
        `SET VARIABLE partition_start = ${timestampLit(vars.start)}`,
        `SET VARIABLE partition_end = ${timestampLit(vars.end)}`,
      ].join('; '),
    );
  }

  sqlParser(): Promise<EngineSession> {
    return Promise.resolve(this);
  }

  writeLayout(request: LayoutRequest): Promise<WrittenLayout> {
    return writeDuckdbLayout(this, request);
  }

  /** Memory and spill in one statement on the monitor connection, one read at a time. */
  usage(): Promise<EngineUsage> {
    const none = { memoryBytes: 0, spillBytes: 0 };
    if (this.closed) return Promise.resolve(none);
    this.monitorBusy++;
    const run = this.monitorTail.then(async () => {
      if (this.closed) return none;
      this.monitor ??= this.instance.connect();
      const conn = (this.monitorConn = await this.monitor);
      if (this.closed) return none;
      const [row] = (await conn.runAndReadAll(USAGE_SQL)).getRowObjectsJson();
      return { memoryBytes: Number(row?.m ?? 0), spillBytes: Number(row?.s ?? 0) };
    });
    this.monitorTail = run.catch(() => undefined).finally(() => this.monitorBusy--);
    return run;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A monitor query may be running on a libuv thread: disconnecting its connection or closing the instance
    // under it crashed workers (SIGSEGV, "corrupted double-linked list") or hung them. Release once it settles.
    // Then the attempt's catalog is detached (its views and tables freed) before the instance serves another attempt.
    const reset = async () => {
      // Lanes first: a catalog that is another connection's default cannot be detached. Their statements are done
      // (writeDuckdbLayout waits for every lane, failed or not).
      for (const lane of this.lanes) (await lane?.catch(() => undefined))?.closeSync();
      let reusable = !this.failed;
      if (reusable) {
        try {
          // The attempt's catalog, and any other database attached on the session (a file attached, even read-only,
          // holds that file's lock for as long as the instance lives): the next attempt starts with none of them.
          // One round trip for the usual case: the catalog detached, and what else is attached listed.
          const attached = (
            await this.conn.runAndReadAll(
              `USE memory; DETACH ${ident(this.catalog)}; SELECT database_name AS name FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory'`,
            )
          ).getRowObjectsJson() as { name: string }[];
          for (const { name } of attached) await this.conn.run(`DETACH ${ident(name)}`);
        } catch {
          reusable = false;
        }
      }
      this.conn.closeSync();
      this.monitorConn?.closeSync();
      this.release.done(this.instance, reusable);
    };
    this.release.closing((this.monitorBusy === 0 ? reset() : this.monitorTail.then(reset)).catch(() => undefined));
  }
}
