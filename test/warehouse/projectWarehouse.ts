import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { readManifest } from '../../src/commit/manifest.ts';
import { keyPlan } from '../../src/warehouse/checksum.ts';
import { openWarehouse } from '../../src/warehouse/open.ts';
import { versionChecksum } from '../../src/warehouse/scratchDuckdb.ts';
import type { LoadRecord, PartitionStats, TableRecord } from '../../src/warehouse/warehouse.ts';
import type { StateStore } from '../../src/state/store.ts';
import { makeProject, REPO, type TestProject, type TestProjectOptions } from '../helpers/project.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/** The example's recount.config.ts with a warehouse URL added (the URL is written as given). */
export function configWithWarehouse(url: string): string {
  const base = readFileSync(join(REPO, 'examples/ad-tech/recount.config.ts'), 'utf8');
  return base.replace(
    "state: 'sqlite:.recount/state.db',",
    `state: 'sqlite:.recount/state.db',\n  warehouse: ${JSON.stringify(url)},`,
  );
}

/** What a warehouse table holds, read through a fresh connection: recount_loads and per-partition stats. */
export async function tableState(
  url: string,
  projectDir: string,
  table: string,
): Promise<{ loads: Map<string, LoadRecord>; stats: Map<string, PartitionStats>; record?: TableRecord }> {
  const wh = await openWarehouse(url, projectDir);
  try {
    const record = (await wh.tables()).find((t) => t.table === table);
    const loads = new Map((await wh.loads(table)).map((l) => [l.partition, l]));
    const stats = new Map(record ? (await wh.partitionStats(record)).map((s) => [s.partition, s]) : []);
    return { loads, stats, record };
  } finally {
    await wh.close();
  }
}

/** Rows and key checksum of a published version, computed from its own Parquet files. */
export async function versionStats(
  store: StateStore,
  analyzer: string,
  partition: string,
  seq: number,
): Promise<{ rows: number; checksum: string; files: string[] }> {
  const v = await store.getVersion(analyzer, partition, seq);
  const manifest = readManifest(v!.dir)!;
  const files = manifest.files.map((f) => join(v!.dir, f.path));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const described = (
      await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`)
    ).getRowObjectsJson() as { column_name: string; column_type: string }[];
    const columns = described.map((d) => ({ name: d.column_name, type: d.column_type }));
    const c = await versionChecksum(conn, files, keyPlan(columns, manifest.keys));
    return { ...c, files };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Run SQL on the warehouse behind recount's back: its own DuckDB instance on the file, or its own PostgreSQL client. */
export async function byHand(url: string, projectDir: string, sql: string): Promise<void> {
  if (url.startsWith('duckdb:')) {
    const path = url.slice('duckdb:'.length);
    const instance = await DuckDBInstance.create(path.startsWith('/') ? path : join(projectDir, path));
    const conn = await instance.connect();
    try {
      await conn.run(sql);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The embedded warehouse URL of a project made by makeProject. */
export const EMBEDDED = 'duckdb:.recount/warehouse.duckdb';

/** A test project loading into one kind of warehouse, and how to take it down. */
export interface ProjectOnWarehouse {
  readonly tp: TestProject;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A test project on the embedded DuckDB warehouse, or on a database of its own on a PostgreSQL server started for
 * it: what the suites that run against both warehouses set up first.
 */
export async function projectOn(
  kind: 'duckdb' | 'postgres',
  database: string,
  opts: TestProjectOptions,
): Promise<ProjectOnWarehouse> {
  let server: TestPostgres | undefined;
  let url = EMBEDDED;
  if (kind === 'postgres') {
    server = await startPostgres();
    url = await server.createDatabase(database);
  }
  const tp = await makeProject({ ...opts, config: configWithWarehouse(url) });
  return {
    tp,
    url,
    async stop() {
      tp.cleanup();
      await server?.stop();
    },
  };
}
