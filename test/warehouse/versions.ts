import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parsePartition, type Grain } from '../../src/catalog/partition.ts';
import { fileList, ident, lit } from '../../src/engine/sql.ts';
import type { VersionSource } from '../../src/warehouse/warehouse.ts';
import { duck } from '../helpers/project.ts';

/** A version to write: rows from a SELECT, split into key-hashed Parquet files as recount's layout does. */
export interface VersionSpec {
  readonly analyzer?: string;
  readonly partition: string;
  readonly grain?: Grain;
  readonly version: number;
  readonly sql: string;
  readonly keys: string[];
  readonly files?: number;
}

/**
 * Write a version's Parquet files under `root` with DuckDB and describe it as a load reads it. The contract
 * tests load these directly, so every column type and every edge (no rows, NULLs, unicode) is cheap to make.
 */
export async function writeVersion(root: string, spec: VersionSpec): Promise<VersionSource> {
  const grain = spec.grain ?? 'hour';
  const partition = parsePartition(spec.partition, grain);
  const analyzer = spec.analyzer ?? 'contract';
  const dir = join(root, analyzer, partition.id, `v${String(spec.version).padStart(6, '0')}`);
  mkdirSync(dir, { recursive: true });
  const n = spec.files ?? 2;
  const keyList = spec.keys.map(ident).join(', ');
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(dir, `part-${String(i).padStart(5, '0')}.parquet`);
    await duck(
      `COPY (SELECT * FROM (${spec.sql}) WHERE hash(${keyList}) % ${n} = ${i} ORDER BY ${keyList}) TO ${lit(f)} (FORMAT parquet)`,
    );
    files.push(f);
  }
  // The schema of the files, as a load reads them (HUGEINT, for one, is written to Parquet as DOUBLE).
  const columns = (
    await duck<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${fileList(files)})`)
  ).map((c) => ({ name: c.column_name, type: c.column_type }));
  const [count] = await duck<{ n: string }>(`SELECT count(*)::BIGINT AS n FROM (${spec.sql})`);
  return { analyzer, partition, version: spec.version, dir, files, rows: Number(count!.n), columns, keys: spec.keys };
}

/** A small aggregate-like version: `rows` keys (ad_id, segment) with a count and a double; `salt` changes the values. */
export function adRows(rows: number, salt = 0, extra = ''): string {
  return `SELECT (i // 4 + 1)::INTEGER AS ad_id, 'seg_' || (i % 4)::VARCHAR AS segment, (i * 7 + ${salt})::BIGINT AS impressions, (i * 0.25 + ${salt})::DOUBLE AS total_bid${extra} FROM range(${rows}) t(i)`;
}
