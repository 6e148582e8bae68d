import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBEngine } from '../engine/duckdb/duckdbEngine.ts';
import { lit } from '../engine/sql.ts';
import { partitionRange, partitionPath, formatPartitionId } from '../catalog/partition.ts';
import { SUCCESS_MARKER } from '../catalog/dataset.ts';
import { writeFileDurable } from '../fs/fsync.ts';
import { RecountError } from '../errors.ts';

/** Options of the synthetic ad-tech event generator. */
export interface GenEventsOptions {
  readonly out: string;
  /** First hour, e.g. `2023-10-12T00`. */
  readonly start: string;
  readonly hours: number;
  readonly rowsPerHour: number;
  readonly seed: number;
  /** Distinct ads; ad_id runs 1..ads. */
  readonly ads?: number;
  /** Skew ad popularity (log-uniform) instead of uniform: a few ads get most events, as in real traffic. */
  readonly skew?: boolean;
  readonly threads?: number;
}

/** The SELECT that generates one hour of events: deterministic for (seed, hour, row). */
export function eventsSql(
  hourStartIso: string,
  rows: number,
  seed: number,
  hourKey: number,
  ads: number,
  skew: boolean,
): string {
  // r(k) is a pseudo-random UBIGINT per row and salt k: DuckDB's hash() of integers, fixed for a DuckDB version.
  // The outer hash() matters: a multi-argument hash() XORs in the last argument's hash, so hash(i, …, k1) XOR
  // hash(i, …, k2) is the same for every row and the columns would be correlated (ad_id mod 4 fixing user_segment mod 4).
  const r = (k: number) => `hash(hash(i, ${seed}, ${hourKey}, ${k}))`;
  const unit = (k: number) => `(${r(k)} % 1000000000)::DOUBLE / 1e9`;
  const ad = skew
    ? `least(${ads}, greatest(1, floor(pow(${ads}, ${unit(3)}))::INTEGER))`
    : `(${r(3)} % ${ads} + 1)::INTEGER`;
  return `SELECT
      (${hourKey}::BIGINT * 1000000000 + i)::BIGINT AS event_id,
      TIMESTAMP ${lit(hourStartIso)} + to_microseconds((${r(1)} % 3600000000)::BIGINT) AS ts,
      CASE WHEN ${r(2)} % 1000 < 850 THEN 'impression' WHEN ${r(2)} % 1000 < 970 THEN 'click' ELSE 'conversion' END AS event_type,
      ad_id,
      (ad_id // 10 + 1)::INTEGER AS campaign_id,
      (${r(4)} % 1000000)::BIGINT AS user_id,
      'seg_' || lpad(CAST(${r(5)} % 20 AS VARCHAR), 2, '0') AS user_segment,
      ['US','GB','DE','FR','JP','BR','IN','CA','AU','MX'][(${r(6)} % 10 + 1)::INTEGER] AS country,
      ['mobile','desktop','tablet','ctv'][(${r(7)} % 4 + 1)::INTEGER] AS device,
      (0.05 + ${unit(8)} * 4.95)::DOUBLE AS bid_price
    FROM (SELECT i, ${ad} AS ad_id FROM range(${rows}) t(i))`;
}

/**
 * Write `hours` hourly partitions of synthetic ad-tech events under `out` (dt=…/hour=…/part-00000.parquet,
 * then _SUCCESS, as a real writer would). Same options, same rows.
 */
export async function generateEvents(opts: GenEventsOptions): Promise<{ partitions: string[]; rows: number }> {
  if (!Number.isInteger(opts.hours) || opts.hours < 1)
    throw new RecountError('USAGE', `--hours must be a positive whole number, got ${opts.hours}`, {
      subject: '--hours',
    });
  if (!Number.isInteger(opts.rowsPerHour) || opts.rowsPerHour < 0)
    throw new RecountError('USAGE', `--rows-per-hour must be a whole number, got ${opts.rowsPerHour}`, {
      subject: '--rows-per-hour',
    });
  if (!Number.isInteger(opts.seed))
    throw new RecountError('USAGE', `--seed must be a whole number, got ${opts.seed}`, { subject: '--seed' });
  const first = partitionRange(opts.start, opts.start, 'hour')[0]!;
  const last = formatPartitionId(new Date(first.start.getTime() + (opts.hours - 1) * 3_600_000), 'hour');
  const parts = partitionRange(first.id, last, 'hour');
  const session = await new DuckDBEngine().open({
    memoryBytes: 2_000_000_000,
    threads: opts.threads ?? 2,
    spillDir: join(opts.out, '.gen-spill'),
  });
  try {
    for (const p of parts) {
      const dir = join(opts.out, partitionPath(p));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const iso = p.start.toISOString().replace('T', ' ').replace('Z', '');
      const sql = eventsSql(
        iso,
        opts.rowsPerHour,
        opts.seed,
        Math.floor(p.start.getTime() / 3_600_000),
        opts.ads ?? 1000,
        opts.skew ?? false,
      );
      await session.exec(`COPY (${sql} ORDER BY event_id) TO ${lit(join(dir, 'part-00000.parquet'))} (FORMAT parquet)`);
      writeFileDurable(join(dir, SUCCESS_MARKER), '');
    }
  } finally {
    session.close();
    rmSync(join(opts.out, '.gen-spill'), { recursive: true, force: true });
  }
  return { partitions: parts.map((p) => p.id), rows: parts.length * opts.rowsPerHour };
}
