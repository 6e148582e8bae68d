import { createHash } from 'node:crypto';
import type { DuckDBBlobVector, DuckDBConnection, DuckDBDataChunk, DuckDBVector } from '@duckdb/node-api';
import type { Column } from '../engine/engine.ts';
import { ident } from '../engine/sql.ts';
import { foldInt64, hashBytes, hashFloat8, hashHi, hashLo, hashUint32 } from './pghash.ts';
import { mapType, type ColumnHash } from './typeMap.ts';

/**
 * The key checksum of a partition: the sum, over its rows, of a 64-bit hash of the row's key, where the
 * key's hash is the XOR of PostgreSQL's seeded hash of each key column (seed = the column's position + 1;
 * a NULL adds nothing). Order does not matter, a missing, extra or duplicated key changes it, and
 * PostgreSQL computes it in plain SQL (hashint8extended, hashtextextended, …) in one parallel scan — far
 * cheaper than md5 — while recount computes the same number in JavaScript over DuckDB (pghash.ts) for the
 * version's Parquet files and for the DuckDB warehouse. Together with the row count it is what a load is
 * reconciled against and what `recount monitor` compares. Floating-point, BLOB and nested key columns (which
 * recount never uses as keys) do not take part.
 */
export const CHECKSUM_SCHEME = 'pg-lookup3-xor-sum/1';

/**
 * The value checksum of a partition: the same sum of row hashes, where a row's hash is the XOR of every column
 * with an exact cross-engine hash (keys included, DOUBLE and REAL as PostgreSQL's hashfloat8extended), each
 * seeded by its name so two columns holding equal values never cancel out. It tells a partition whose rows have
 * the right keys but other values (a stale version of the same keys, an UPDATE by hand) from the loaded version.
 * JSON, INTERVAL and nested columns have no such hash and are not covered. `recount monitor` computes it; a load
 * does not, so loading costs what it did.
 */
export const VALUE_CHECKSUM_SCHEME = 'pg-lookup3-row-xor-sum/1';

// The hashes the key checksum has always used: checksums recorded in recount_loads depend on this set.
const KEY_HASHES = new Set(['integer', 'boolean', 'date', 'timestamp', 'timestamptz', 'time', 'text', 'uuid']);

/** One column of a checksum plan: its hash and seed. */
export interface HashPlanEntry {
  readonly column: string;
  readonly seed: number;
  readonly hash: ColumnHash | undefined;
}

/** The key checksum plan of a table: its key columns with their hashes, typed from the version's schema. */
export function keyPlan(columns: readonly Column[], keys: readonly string[]): HashPlanEntry[] {
  return keys.map((k, i) => {
    const hash = mapType(columns.find((c) => c.name === k)?.type ?? '').hash;
    return { column: k, seed: i + 1, hash: hash && KEY_HASHES.has(hash.name) ? hash : undefined };
  });
}

/** A column's seed in the value checksum: FNV-1a of its name, in 1 .. 2^31-1 (PostgreSQL takes it as a bigint literal). */
export function nameSeed(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 1 || 1;
}

/** The value checksum plan: every column with a hash, except those named in `exclude` (columns changed by hand). */
export function valuePlan(columns: readonly Column[], exclude: ReadonlySet<string> = new Set()): HashPlanEntry[] {
  return columns
    .filter((c) => !exclude.has(c.name) && mapType(c.type).hash)
    .map((c) => ({ column: c.name, seed: nameSeed(c.name), hash: mapType(c.type).hash }));
}

/** A short identity of a value plan (scheme, columns and their hashes): what a cached value checksum was computed with. */
export function planSignature(plan: readonly HashPlanEntry[]): string {
  const text = [
    VALUE_CHECKSUM_SCHEME,
    ...plan.filter((p) => p.hash).map((p) => `${p.column}:${p.hash!.name}:${p.seed}`),
  ].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The plan restricted to columns a version has: a column it lacks reads NULL in the table, which hashes to nothing. */
export function planFor(plan: readonly HashPlanEntry[], columns: readonly Column[]): HashPlanEntry[] {
  const names = new Set(columns.map((c) => c.name));
  return plan.filter((p) => names.has(p.column));
}

/** PostgreSQL expression of one row's hash under a plan (a bigint). */
export function pgRowHashSql(plan: readonly HashPlanEntry[]): string {
  const parts = plan.filter((p) => p.hash).map((p) => `coalesce(${p.hash!.pg(ident(p.column), p.seed)}, 0)`);
  return parts.length ? parts.join(' # ') : '0::bigint';
}

import type { RowsChecksum, RowsChecksums } from '../state/types.ts';

export type { RowsChecksum, RowsChecksums };

/** Sum of 64-bit row hashes kept exact: int32 halves summed as Numbers, flushed into a BigInt before they could lose bits. */
class ChecksumSum {
  private total = 0n;
  private hi = 0;
  private lo = 0;
  private pending = 0;

  add(hi: number, lo: number): void {
    this.hi += hi;
    this.lo += lo;
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

/** The decimal text PostgreSQL prints for the bigint with these halves (hi signed, lo unsigned). */
export function hashText(hi: number, lo: number): string {
  return (BigInt(hi) * 4294967296n + BigInt(lo >>> 0)).toString();
}

interface CompiledEntry {
  readonly input: number;
  readonly seed: number;
  readonly kind: ColumnHash['kind'];
}

/** Halves of the last row hash computed by rowHash: hi signed, lo unsigned. */
let rowHi = 0;
let rowLo = 0;

// One row's hash under a compiled plan into rowHi / rowLo: the XOR of each non-NULL column's hash.
function rowHash(entries: readonly CompiledEntry[], vectors: readonly DuckDBVector[], r: number): void {
  let hi = 0;
  let lo = 0;
  for (let j = 0; j < entries.length; j++) {
    const e = entries[j]!;
    const vector = vectors[e.input]!;
    if (e.kind === 'u32') {
      const v = vector.getItem(r) as number | null;
      if (v === null) continue;
      hashUint32(v, e.seed);
    } else if (e.kind === 'f64') {
      const v = vector.getItem(r) as number | null;
      if (v === null) continue;
      hashFloat8(v, e.seed);
    } else {
      const bytes = (vector as DuckDBBlobVector).getItemBytes(r);
      if (bytes === null) continue;
      hashBytes(bytes, e.seed);
    }
    hi ^= hashHi;
    lo ^= hashLo;
  }
  rowHi = hi;
  rowLo = lo >>> 0;
}

/**
 * The select list of a hashing scan over DuckDB: one input column per distinct (column, hash) of the key and value
 * plans (a key column feeds both, hashed twice with its two seeds), and each plan's entries pointing at them.
 */
class HashScan {
  readonly inputs: string[] = [];
  readonly key: CompiledEntry[];
  readonly value: CompiledEntry[] | undefined;
  private readonly index = new Map<string, number>();

  constructor(key: readonly HashPlanEntry[], value?: readonly HashPlanEntry[]) {
    this.key = this.compile(key);
    this.value = value && this.compile(value);
    if (this.inputs.length === 0) this.inputs.push('0::UINTEGER');
  }

  private compile(plan: readonly HashPlanEntry[]): CompiledEntry[] {
    return plan
      .filter((p) => p.hash)
      .map((p) => {
        const id = `${p.column}\u0000${p.hash!.name}`;
        let input = this.index.get(id);
        if (input === undefined) {
          input = this.inputs.length;
          this.index.set(id, input);
          this.inputs.push(p.hash!.duck(ident(p.column)));
        }
        return { input, seed: p.seed, kind: p.hash!.kind };
      });
  }

  /** `SELECT <inputs>, <extra> FROM <from>`; extra columns follow the inputs. */
  sql(from: string, extra: readonly string[] = []): string {
    return `SELECT ${[...this.inputs.map((e, i) => `${e} AS __h${i}`), ...extra].join(', ')} FROM ${from}`;
  }
}

// Stream a scan chunk by chunk; stops between chunks when the signal aborts, so no fetch runs when its DuckDB closes.
async function eachChunk(
  conn: DuckDBConnection,
  sql: string,
  signal: AbortSignal | undefined,
  fn: (chunk: DuckDBDataChunk, n: number) => void,
): Promise<void> {
  const result = await conn.stream(sql);
  for (;;) {
    signal?.throwIfAborted();
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return;
    fn(chunk, chunk.rowCount);
  }
}

function vectorsOf(chunk: DuckDBDataChunk, width: number): DuckDBVector[] {
  return Array.from({ length: width }, (_, i) => chunk.getColumnVector(i));
}

/**
 * Stream `SELECT <hash inputs> FROM <from>` from DuckDB and sum the row hashes in JavaScript: the same
 * number PostgreSQL's `sum(<pgRowHashSql>)` gives for the same rows.
 */
export async function checksumOf(
  conn: DuckDBConnection,
  from: string,
  plan: readonly HashPlanEntry[],
  signal?: AbortSignal,
): Promise<RowsChecksum> {
  const scan = new HashScan(plan);
  const sum = new ChecksumSum();
  let rows = 0;
  await eachChunk(conn, scan.sql(from), signal, (chunk, n) => {
    const vectors = vectorsOf(chunk, scan.inputs.length);
    for (let r = 0; r < n; r++) {
      rowHash(scan.key, vectors, r);
      sum.add(rowHi, rowLo);
    }
    rows += n;
  });
  return { rows, checksum: sum.value() };
}

/** Rows, key checksum and value checksum of `from`, in one scan. */
export async function checksumsOf(
  conn: DuckDBConnection,
  from: string,
  key: readonly HashPlanEntry[],
  value: readonly HashPlanEntry[],
): Promise<RowsChecksums> {
  const c = (await checksumsByPartition(conn, from, `''`, key, value)).get('');
  return { rows: c?.rows ?? 0, checksum: c?.checksum ?? '0', valueChecksum: c?.valueChecksum ?? '0' };
}

/** Rows and checksums per partition, in one scan: `partitionExpr` gives each row's partition id; the value checksum only with a value plan. */
export async function checksumsByPartition(
  conn: DuckDBConnection,
  from: string,
  partitionExpr: string,
  key: readonly HashPlanEntry[],
  value?: readonly HashPlanEntry[],
): Promise<Map<string, RowsChecksum & { valueChecksum?: string }>> {
  const scan = new HashScan(key, value);
  const width = scan.inputs.length;
  const sums = new Map<string, { rows: number; key: ChecksumSum; value: ChecksumSum }>();
  await eachChunk(conn, scan.sql(from, [`${partitionExpr} AS __partition`]), undefined, (chunk, n) => {
    const vectors = vectorsOf(chunk, width);
    const partitions = chunk.getColumnVector(width);
    for (let r = 0; r < n; r++) {
      const p = partitions.getItem(r) as string;
      let s = sums.get(p);
      if (!s) sums.set(p, (s = { rows: 0, key: new ChecksumSum(), value: new ChecksumSum() }));
      s.rows++;
      rowHash(scan.key, vectors, r);
      s.key.add(rowHi, rowLo);
      if (scan.value) {
        rowHash(scan.value, vectors, r);
        s.value.add(rowHi, rowLo);
      }
    }
  });
  return new Map(
    [...sums].map(([p, s]) => [
      p,
      { rows: s.rows, checksum: s.key.value(), ...(value ? { valueChecksum: s.value.value() } : {}) },
    ]),
  );
}

/** Receives one row's key hash and value hash, as int32 halves (hi signed, lo unsigned). */
export type RowHashSink = (keyHi: number, keyLo: number, valueHi: number, valueLo: number) => void;

/** Stream every row's key hash and value hash to `sink`, holding one chunk at a time: the monitor's bounded diff. */
export async function scanRowHashes(
  conn: DuckDBConnection,
  from: string,
  key: readonly HashPlanEntry[],
  value: readonly HashPlanEntry[],
  sink: RowHashSink,
): Promise<void> {
  const scan = new HashScan(key, value);
  await eachChunk(conn, scan.sql(from), undefined, (chunk, n) => {
    const vectors = vectorsOf(chunk, scan.inputs.length);
    for (let r = 0; r < n; r++) {
      rowHash(scan.key, vectors, r);
      const kHi = rowHi;
      const kLo = rowLo;
      rowHash(scan.value!, vectors, r);
      sink(kHi, kLo, rowHi, rowLo);
    }
  });
}

/** The key values (as text, for people) of the rows whose key hash (decimal text) is one of `wanted`; one scan. */
export async function keysOfHashes(
  conn: DuckDBConnection,
  from: string,
  key: readonly HashPlanEntry[],
  wanted: ReadonlySet<string>,
): Promise<Map<string, Record<string, string | null>>> {
  const out = new Map<string, Record<string, string | null>>();
  if (wanted.size === 0) return out;
  const scan = new HashScan(key);
  const width = scan.inputs.length;
  const shown = key.map((p, i) => `${ident(p.column)}::VARCHAR AS __v${i}`);
  await eachChunk(conn, scan.sql(from, shown), undefined, (chunk, n) => {
    const vectors = vectorsOf(chunk, width);
    const values = key.map((_, i) => chunk.getColumnVector(width + i));
    for (let r = 0; r < n; r++) {
      rowHash(scan.key, vectors, r);
      const h = hashText(rowHi, rowLo);
      if (!wanted.has(h) || out.has(h)) continue;
      out.set(h, Object.fromEntries(key.map((p, i) => [p.column, values[i]!.getItem(r) as string | null])));
    }
  });
  return out;
}

/** The signed 64-bit hash PostgreSQL's hashint8extended(value, seed) returns. */
export function hashInt64(value: bigint, seed: number): bigint {
  const v = BigInt.asUintN(64, value);
  hashUint32(foldInt64(Number(BigInt.asIntN(32, v >> 32n)), Number(v & 0xffffffffn)), seed);
  return BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo));
}
