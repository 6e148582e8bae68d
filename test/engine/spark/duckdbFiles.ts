// Parquet files written and read by DuckDB, so the Spark tests check Spark against another engine.
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** Writes each `[file name, SELECT]` as a Parquet file into dir; returns the absolute paths in order. */
export async function writeParquetWithDuckDB(dir: string, files: [string, string][]): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const out: string[] = [];
    for (const [name, select] of files) {
      const path = join(dir, name);
      await conn.run(`COPY (${select}) TO '${path.replace(/'/g, "''")}' (FORMAT parquet)`);
      out.push(path);
    }
    return out;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Rows of a DuckDB query (JSON-safe: big integers as strings). */
export async function duckdbRows<T = Record<string, unknown>>(query: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(query)).getRowObjectsJson() as T[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
