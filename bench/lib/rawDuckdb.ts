import { mkdirSync, rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileList, ident, lit } from '../../src/engine/sql.ts';

/** What one raw DuckDB COPY did. */
export interface RawCopyResult {
  readonly rows: number;
  readonly oom: boolean;
  readonly error?: string;
}

/**
 * The baseline recount is measured against: a fresh @duckdb/node-api instance with only the memory limit,
 * threads and spill folder set, views named after the inputs over exactly the given files (read as recount
 * reads them), and one `COPY (<sql>) TO <out> (FORMAT parquet)`. No layout, checks, manifest or state.
 */
export async function rawDuckdbCopy(opts: {
  sql: string;
  inputs: Record<string, readonly string[]>;
  out: string;
  memoryBytes: number;
  threads: number;
  spillDir: string;
}): Promise<RawCopyResult> {
  mkdirSync(opts.spillDir, { recursive: true });
  rmSync(opts.out, { force: true });
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: `${Math.max(1, Math.floor(opts.memoryBytes / 1_000_000))}MB`,
    threads: String(opts.threads),
    temp_directory: opts.spillDir,
  });
  const conn = await instance.connect();
  try {
    for (const [name, files] of Object.entries(opts.inputs)) {
      await conn.run(
        `CREATE VIEW ${ident(name)} AS SELECT * FROM read_parquet(${fileList(files)}, hive_partitioning = false)`,
      );
    }
    const reader = await conn.runAndReadAll(`COPY (${opts.sql}) TO ${lit(opts.out)} (FORMAT parquet)`);
    const [row] = reader.getRowObjectsJson() as { Count?: string | number }[];
    return { rows: Number(row?.Count ?? 0), oom: false };
  } catch (err) {
    const message = (err as Error).message;
    return { rows: 0, oom: /Out of Memory/i.test(message), error: message.split('\n')[0] };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
