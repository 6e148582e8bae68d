import { mkdirSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Column, Engine, EngineOptions, EngineSession } from '../engine.ts';
import { lit } from '../sql.ts';

class DuckDBSession implements EngineSession {
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
    const rows = await this.query<{ column_name: string; column_type: string }>(`DESCRIBE (${sql})`);
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  }

  async memoryBytes(): Promise<number> {
    const [row] = await this.query<{ b: string | null }>('SELECT sum(memory_usage_bytes)::BIGINT AS b FROM duckdb_memory()');
    return Number(row?.b ?? 0);
  }

  async spillBytes(): Promise<number> {
    const [row] = await this.query<{ b: string | null }>('SELECT coalesce(sum(size), 0)::BIGINT AS b FROM duckdb_temporary_files()');
    return Number(row?.b ?? 0);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
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
