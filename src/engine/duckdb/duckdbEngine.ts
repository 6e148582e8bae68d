import { mkdirSync } from 'node:fs';
import { subquery } from '../queryText.ts';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Column, Engine, EngineOptions, EngineSession, LayoutRequest, PartitionVariables, WrittenLayout } from '../engine.ts';
import { fileList, ident, lit } from '../sql.ts';
import { DUCKDB_LAYOUT_SCHEME } from '../../layout/schemes.ts';
import { duckdbDialect } from './duckdbDialect.ts';
import { writeDuckdbLayout } from './duckdbLayout.ts';

/** A timestamp literal DuckDB reads as UTC wall time. */
function timestampLit(d: Date): string {
  return `TIMESTAMP ${lit(d.toISOString().replace('T', ' ').replace('Z', ''))}`;
}

class DuckDBSession implements EngineSession {
  readonly engine = 'duckdb';
  readonly layoutScheme = DUCKDB_LAYOUT_SCHEME;
  readonly dialect = duckdbDialect;
  /** A second connection, so memory and spill can be read while the main one runs a query. */
  private monitor: Promise<DuckDBConnection> | undefined;
  /** Monitor queries run one at a time; close() must not pull their connection or instance from under them. */
  private monitorTail: Promise<unknown> = Promise.resolve();
  private monitorBusy = 0;
  private monitorConn: DuckDBConnection | undefined;
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly version: string,
  ) {}

  async exec(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql);
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
    await this.exec(`CREATE OR REPLACE VIEW ${ident(name)} AS SELECT * FROM read_parquet(${fileList(paths)}, hive_partitioning = false)`);
  }

  async setPartitionVariables(vars: PartitionVariables): Promise<void> {
    await this.exec(`SET VARIABLE partition_id = ${lit(vars.id)}`);
    await this.exec(`SET VARIABLE partition_start = ${timestampLit(vars.start)}`);
    await this.exec(`SET VARIABLE partition_end = ${timestampLit(vars.end)}`);
  }

  sqlParser(): Promise<EngineSession> {
    return Promise.resolve(this);
  }

  writeLayout(request: LayoutRequest): Promise<WrittenLayout> {
    return writeDuckdbLayout(this, request);
  }

  private monitorValue(sql: string): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    this.monitorBusy++;
    const run = this.monitorTail.then(async () => {
      if (this.closed) return 0;
      this.monitor ??= this.instance.connect();
      const conn = (this.monitorConn = await this.monitor);
      if (this.closed) return 0;
      const [row] = (await conn.runAndReadAll(sql)).getRowObjectsJson();
      return Number(row?.b ?? 0);
    });
    this.monitorTail = run.catch(() => undefined).finally(() => this.monitorBusy--);
    return run;
  }

  memoryBytes(): Promise<number> {
    return this.monitorValue('SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT AS b FROM duckdb_memory()');
  }

  spillBytes(): Promise<number> {
    return this.monitorValue('SELECT coalesce(sum(size), 0)::BIGINT AS b FROM duckdb_temporary_files()');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.closeSync();
    // A monitor query may be running on a libuv thread: disconnecting its connection or closing the instance
    // under it crashed workers (SIGSEGV, "corrupted double-linked list") or hung them. Close once it settles.
    const rest = () => {
      this.monitorConn?.closeSync();
      this.instance.closeSync();
    };
    if (this.monitorBusy === 0) rest();
    else void this.monitorTail.then(rest).catch(() => undefined);
  }
}

/** DuckDB through @duckdb/node-api: one in-memory instance per attempt with its own memory limit, threads and spill folder. */
export class DuckDBEngine implements Engine {
  readonly name = 'duckdb';

  async open(options: EngineOptions): Promise<EngineSession> {
    mkdirSync(options.spillDir, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: `${Math.max(1, Math.floor(options.memoryBytes / 1_000_000))}MB`,
      threads: String(options.threads),
      temp_directory: options.spillDir,
      // Rows are ordered explicitly by key wherever order matters; dropping insertion order lets big results stream.
      preserve_insertion_order: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const conn = await instance.connect();
    const [row] = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJson();
    const session = new DuckDBSession(instance, conn, String(row?.v ?? 'unknown'));
    await session.exec(`SET temp_directory = ${lit(options.spillDir)}`);
    return session;
  }
}
