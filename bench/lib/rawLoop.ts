// The raw baseline of the tiny benchmark, run as its own process: one Node process, one DuckDB instance, and per
// partition a view over exactly its files and one `COPY (<sql>) TO <file> (FORMAT parquet)`. No layout, checks,
// manifest, state or warehouse. Arguments: one JSON object { sql, root, grain, partitions, out, memoryBytes, threads }.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileList, lit } from '../../src/engine/sql.ts';

interface Args {
  readonly sql: string;
  readonly input: string;
  readonly root: string;
  readonly partitions: readonly string[];
  readonly out: string;
  readonly memoryBytes: number;
  readonly threads: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const instance = await DuckDBInstance.create(':memory:', {
  memory_limit: `${Math.max(1, Math.floor(args.memoryBytes / 1_000_000))}MB`,
  threads: String(args.threads),
  preserve_insertion_order: 'false',
});
const conn = await instance.connect();
let rows = 0;
for (const id of args.partitions) {
  // 2023-10-12T09 -> dt=2023-10-12/hour=09; 2023-10-12 -> dt=2023-10-12
  const [dt, hour] = id.split('T');
  const rel = hour === undefined ? `dt=${dt}` : join(`dt=${dt}`, `hour=${hour}`);
  const dir = join(args.root, rel);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.parquet'))
    .sort()
    .map((f) => join(dir, f));
  await conn.run(
    `CREATE OR REPLACE VIEW ${args.input} AS SELECT * FROM read_parquet(${fileList(files)}, hive_partitioning = false)`,
  );
  const outDir = join(args.out, rel);
  mkdirSync(outDir, { recursive: true });
  const reader = await conn.runAndReadAll(
    `COPY (${args.sql}) TO ${lit(join(outDir, 'data.parquet'))} (FORMAT parquet)`,
  );
  rows += Number((reader.getRowObjectsJson()[0] as { Count?: string })?.Count ?? 0);
}
conn.closeSync();
instance.closeSync();
process.stdout.write(`${JSON.stringify({ partitions: args.partitions.length, rows })}\n`);
