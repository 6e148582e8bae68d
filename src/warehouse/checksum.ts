import type { DuckDBBlobVector, DuckDBConnection, DuckDBVector } from '@duckdb/node-api';
import type { Column } from '../engine/engine.ts';
import { ident } from '../engine/sql.ts';
import { foldInt64, hashBytes, hashHi, hashLo, hashUint32 } from './pghash.ts';
import { mapType, type KeyHash } from './typeMap.ts';

/**
 * The key checksum of a partition: the sum, over its rows, of a 64-bit hash of the row's key, where the
 * key's hash is the XOR of PostgreSQL's seeded hash of each key column (seed = the column's position + 1;
 * a NULL adds nothing). Order does not matter, a missing, extra or duplicated key changes it, and
 * PostgreSQL computes it in plain SQL (hashint8extended, hashtextextended, …) in one parallel scan — far
 * cheaper than md5 — while recount computes the same number in JavaScript over DuckDB (pghash.ts) for the
 * version's Parquet files and for the DuckDB warehouse. Together with the row count it is what a load is
 * reconciled against and what `recount monitor` compares. Floating-point and nested key columns (which
 * recount never uses as keys) do not take part.
 */
export const CHECKSUM_SCHEME = 'pg-lookup3-xor-sum/1';

/** One key column of a checksum plan. */
export interface KeyPlanEntry {
  readonly column: string;
  readonly seed: number;
  readonly hash: KeyHash | undefined;
}

/** The checksum plan of a table: its key columns with their hashes, typed from the version's schema. */
export function keyPlan(columns: readonly Column[], keys: readonly string[]): KeyPlanEntry[] {
  return keys.map((k, i) => {
    const col = columns.find((c) => c.name === k);
    return { column: k, seed: i + 1, hash: col ? mapType(col.type).hash : undefined };
  });
}

/** PostgreSQL expression of one row's key hash (a bigint). */
export function pgRowHashSql(plan: readonly KeyPlanEntry[]): string {
  const parts = plan.filter((p) => p.hash).map((p) => `coalesce(${p.hash!.pg(ident(p.column), p.seed)}, 0)`);
  return parts.length ? parts.join(' # ') : '0::bigint';
}

/** DuckDB select list feeding checksumOf: one column per hashed key (a UINTEGER or a BLOB). */
export function duckHashInputs(plan: readonly KeyPlanEntry[]): string {
  const parts = plan.filter((p) => p.hash).map((p, i) => `${p.hash!.duck(ident(p.column))} AS __k${i}`);
  return parts.length ? parts.join(', ') : '0::UINTEGER AS __k0';
}

let rowHi = 0;
let rowLo = 0;

// One row's key hash into rowHi (signed) / rowLo (unsigned): XOR of each non-NULL key column's hash.
function hashRow(hashed: readonly KeyPlanEntry[], vectors: readonly DuckDBVector[], r: number): void {
  let hi = 0;
  let lo = 0;
  for (let j = 0; j < hashed.length; j++) {
    const p = hashed[j]!;
    if (p.hash!.kind === 'u32') {
      const v = vectors[j]!.getItem(r) as number | null;
      if (v === null) continue;
      hashUint32(v, p.seed);
    } else {
      const bytes = (vectors[j] as DuckDBBlobVector).getItemBytes(r);
      if (bytes === null) continue;
      hashBytes(bytes, p.seed);
    }
    hi ^= hashHi;
    lo ^= hashLo;
  }
  rowHi = hi;
  rowLo = lo >>> 0;
}

/** Rows and key checksum of a set of rows. */
export interface RowsChecksum {
  readonly rows: number;
  readonly checksum: string;
}

/** Sum of 64-bit row hashes kept exact: int32 halves summed as Numbers, flushed into a BigInt before they could lose bits. */
class ChecksumSum {
  private total = 0n;
  private hi = 0;
  private lo = 0;
  private pending = 0;
  rows = 0;

  add(hi: number, lo: number): void {
    this.hi += hi;
    this.lo += lo;
    this.rows++;
    if (++this.pending === 1 << 20) this.flush();
  }

  flush(): void {
    this.total += BigInt(this.hi) * 4294967296n + BigInt(this.lo);
    this.hi = this.lo = this.pending = 0;
  }

  value(): string {
    this.flush();
    return this.total.toString();
  }
}

/**
 * Stream `SELECT <hash inputs> FROM <from>` from DuckDB and sum the row hashes in JavaScript: the same
 * number PostgreSQL's `sum(<pgRowHashSql>)` gives for the same rows.
 */
export async function checksumOf(conn: DuckDBConnection, from: string, plan: readonly KeyPlanEntry[], signal?: AbortSignal): Promise<RowsChecksum> {
  const hashed = plan.filter((p) => p.hash);
  const result = await conn.stream(`SELECT ${duckHashInputs(plan)} FROM ${from}`);
  const sum = new ChecksumSum();
  for (;;) {
    // Stop between chunks when the load gave up, so no fetch is running when its DuckDB closes.
    signal?.throwIfAborted();
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const vectors: DuckDBVector[] = hashed.map((_, i) => chunk.getColumnVector(i));
    const n = chunk.rowCount;
    for (let r = 0; r < n; r++) {
      hashRow(hashed, vectors, r);
      sum.add(rowHi, rowLo);
    }
  }
  return { rows: sum.rows, checksum: sum.value() };
}

/** checksumOf per partition, in one scan: `partitionExpr` gives each row's partition id. */
export async function checksumByPartition(conn: DuckDBConnection, from: string, partitionExpr: string, plan: readonly KeyPlanEntry[]): Promise<Map<string, RowsChecksum>> {
  const hashed = plan.filter((p) => p.hash);
  const width = Math.max(1, hashed.length);
  const result = await conn.stream(`SELECT ${duckHashInputs(plan)}, ${partitionExpr} AS __partition FROM ${from}`);
  const sums = new Map<string, ChecksumSum>();
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const vectors: DuckDBVector[] = hashed.map((_, i) => chunk.getColumnVector(i));
    const partitions = chunk.getColumnVector(width);
    for (let r = 0; r < chunk.rowCount; r++) {
      const p = partitions.getItem(r) as string;
      let sum = sums.get(p);
      if (!sum) sums.set(p, (sum = new ChecksumSum()));
      hashRow(hashed, vectors, r);
      sum.add(rowHi, rowLo);
    }
  }
  return new Map([...sums].map(([p, s]) => [p, { rows: s.rows, checksum: s.value() }]));
}

/**
 * Every row's key hash (decimal text, as PostgreSQL prints its bigint) with the key's values as text, counted:
 * the detail behind a checksum mismatch, to name the keys that are missing, extra or duplicated.
 */
export async function rowHashesOf(conn: DuckDBConnection, from: string, plan: readonly KeyPlanEntry[]): Promise<Map<string, { key: Record<string, string | null>; count: number }>> {
  const hashed = plan.filter((p) => p.hash);
  const display = plan.map((p, i) => `${ident(p.column)}::VARCHAR AS __v${i}`).join(', ');
  const result = await conn.stream(`SELECT ${duckHashInputs(plan)}, ${display} FROM ${from}`);
  const width = Math.max(1, hashed.length);
  const out = new Map<string, { key: Record<string, string | null>; count: number }>();
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const vectors = hashed.map((_, i) => chunk.getColumnVector(i));
    const shown = plan.map((_, i) => chunk.getColumnVector(width + i));
    for (let r = 0; r < chunk.rowCount; r++) {
      hashRow(hashed, vectors, r);
      const h = (BigInt(rowHi) * 4294967296n + BigInt(rowLo)).toString();
      const seen = out.get(h);
      if (seen) seen.count++;
      else out.set(h, { key: Object.fromEntries(plan.map((p, i) => [p.column, shown[i]!.getItem(r) as string | null])), count: 1 });
    }
  }
  return out;
}

/** The signed 64-bit hash PostgreSQL's hashint8extended(value, seed) returns. */
export function hashInt64(value: bigint, seed: number): bigint {
  const v = BigInt.asUintN(64, value);
  hashUint32(foldInt64(Number(BigInt.asIntN(32, v >> 32n)), Number(v & 0xffffffffn)), seed);
  return BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo));
}
