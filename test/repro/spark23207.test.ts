import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { fileList, lit } from '../../src/engine/sql.ts';
import { partFileName, writeLayout } from '../../src/layout/bucketing.ts';
import { diffRelations } from '../../src/diff/diffRelations.ts';
import { DEFAULT_TOLERANCE } from '../../src/diff/tolerance.ts';
import { tempDir } from '../helpers/project.ts';

/*
 * The second seed's failure, in miniature (Taboola's "duplicates and missing rows after a retry";
 * SPARK-23207, SPARK-38388), and why recount's layout cannot produce it.
 *
 * The job: SELECT region, sum(val) FROM events GROUP BY region, then repartition(3) to write 3 files.
 *
 * 1. Stage 2 sums `val` (a DOUBLE) per region. Floating-point addition is not associative: summing the
 *    same values in another order can change the last bits of the result.
 * 2. repartition(3) deals the summed rows round-robin to 3 output partitions. To make that dealing
 *    repeatable, Spark first sorts the rows by a hash of the WHOLE row — sum included.
 * 3. Stage 3 writes one file per output partition. Tasks 0 and 2 finish and write part-0 and part-2.
 *    Task 1 fails to fetch its shuffle block (a lost executor), so Spark recomputes stage 2: the sums come
 *    out in another order, some differ in their last bits, their hashes change, the sort order changes,
 *    and round-robin deals many rows to different partitions than the first time.
 * 4. Only task 1 is rerun. part-1 now holds rows that the first dealing had put in part-0 or part-2
 *    (already written: duplicates) and lacks rows that the second dealing put in part-0 or part-2 (never
 *    written again: missing). Round-robin from the same start always gives part-1 the same number of rows,
 *    so there are exactly as many duplicates as missing rows, and the total row count looks right.
 *
 * recount never deals rows round-robin and never hashes a float: a row's file is hash(keys) % files over
 * the key columns (`region`), so a sum that changes in its last bits changes a value, never a file. The
 * same partial retry through recount's layout (src/layout/bucketing.ts) has every region exactly once.
 * And `recount diff` names the bad-retry pattern in the Spark-style output, with the right count.
 */

interface Row {
  readonly region: string;
  readonly total: number;
}

const REGIONS = 300;
const FILES = 3;

/** Deterministic pseudo-random values of very different magnitudes, so the order of a sum matters. */
function events(): Map<string, number[]> {
  let s = 42;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const byRegion = new Map<string, number[]>();
  for (let r = 0; r < REGIONS; r++) {
    byRegion.set(
      `region-${String(r).padStart(3, '0')}`,
      Array.from({ length: 40 }, () => next() * 10 ** Math.floor(next() * 8 - 3)),
    );
  }
  return byRegion;
}

/** Stage 2 of one attempt: the per-region sum, adding the values in the order this attempt fetched them. */
function sumStage(byRegion: Map<string, number[]>, order: 'as fetched' | 'reversed'): Row[] {
  return [...byRegion].map(([region, vals]) => ({
    region,
    total: (order === 'as fetched' ? vals : [...vals].reverse()).reduce((a, b) => a + b, 0),
  }));
}

/** A hash of the whole row, the double's bits included (Spark hashes every column of the row). */
function wholeRowHash(row: Row): number {
  const bits = Buffer.alloc(8);
  bits.writeDoubleLE(row.total);
  let h = 0x811c9dc5;
  for (const byte of Buffer.concat([Buffer.from(row.region), bits])) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** repartition(n) after SPARK-23207's fix: sort by whole-row hash, then deal round-robin from a fixed start. */
function roundRobin(rows: Row[], n: number): Row[][] {
  const out: Row[][] = Array.from({ length: n }, () => []);
  [...rows]
    .sort((a, b) => wholeRowHash(a) - wholeRowHash(b) || a.region.localeCompare(b.region))
    .forEach((row, i) => {
      out[i % n]!.push(row);
    });
  return out;
}

const valuesSql = (rows: Row[]) =>
  `SELECT region, total::DOUBLE AS total FROM (VALUES ${rows.map((r) => `(${lit(r.region)}, ${lit(String(r.total))})`).join(', ')}) t(region, total)`;
const schema = [
  { name: 'region', type: 'VARCHAR' },
  { name: 'total', type: 'DOUBLE' },
];

describe('the second seed in miniature: a partial retry after round-robin over a whole-row hash', () => {
  const dir = tempDir('recount-repro-');
  let session: EngineSession;
  const first = sumStage(events(), 'as fetched');
  const retry = sumStage(events(), 'reversed');
  beforeAll(async () => {
    session = await new DuckDBEngine().open({ memoryBytes: 300_000_000, threads: 2, spillDir: join(dir, 'spill') });
  });
  afterAll(() => session.close());

  it('the recomputed float sums differ from the first ones in their last bits', () => {
    const changed = first.filter((r, i) => r.total !== retry[i]!.total);
    expect(changed.length).toBeGreaterThan(REGIONS / 10);
    for (const [i, r] of first.entries())
      expect(Math.abs(r.total - retry[i]!.total)).toBeLessThanOrEqual(1e-12 * Math.abs(r.total));
  });

  it('Spark-style: rerunning only task 1 duplicates as many rows as it loses, and recount diff names it', async () => {
    const dealtFirst = roundRobin(first, FILES);
    const dealtRetry = roundRobin(retry, FILES);
    // Tasks 0 and 2 wrote from the first attempt; task 1 was rerun from the recomputed stage.
    const output = [dealtFirst[0]!, dealtRetry[1]!, dealtFirst[2]!];
    const rows = output.flat();
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.region, (seen.get(r.region) ?? 0) + 1);
    const duplicated = rows.length - seen.size;
    const missing = first.filter((r) => !seen.has(r.region)).length;
    expect(rows.length).toBe(REGIONS); // the row count looks right...
    expect(duplicated).toBeGreaterThan(0); // ...but rows are duplicated
    expect(missing).toBe(duplicated); // and exactly as many are missing

    // Write both outputs as Parquet and let recount diff compare the fault-free run with the bad retry.
    const write = async (name: string, parts: Row[][]) => {
      mkdirSync(join(dir, name), { recursive: true });
      const files = parts.map((_, i) => join(dir, name, partFileName(i)));
      for (const [i, part] of parts.entries())
        await session.exec(`COPY (${valuesSql(part)}) TO ${lit(files[i]!)} (FORMAT parquet)`);
      return files;
    };
    const clean = await write('spark-clean', dealtFirst);
    const bad = await write('spark-retried', output);
    const report = await diffRelations(
      session,
      { label: 'fault-free run', files: clean, schema },
      { label: 'retried run', files: bad, schema },
      { keys: ['region'], tolerance: DEFAULT_TOLERANCE },
    );
    expect(report.badRetry).toMatchObject({ side: 'to', duplicated, missing, sameRowCount: true });
    expect([report.added, report.removed, report.to.extraRows]).toEqual([0, missing, duplicated]);
  });

  it("recount's layout: the same partial retry keeps every region exactly once", async () => {
    // Both attempts through recount's real layout: file = hash(region) % 3, rows sorted by region.
    const layoutOf = async (name: string, rows: Row[]) => {
      const out = join(dir, name);
      mkdirSync(out, { recursive: true });
      const written = await writeLayout(session, { sql: valuesSql(rows), keys: ['region'], files: FILES, dir: out });
      return written.files.map((f) => join(out, f.name));
    };
    const a = await layoutOf('recount-first', first);
    const b = await layoutOf('recount-retry', retry);
    // The same partial retry: files 0 and 2 from the first attempt, file 1 from the recomputation.
    const combined = [a[0]!, b[1]!, a[2]!];
    const [c] = await session.query<{ rows: string; regions: string }>(
      `SELECT count(*) AS rows, count(DISTINCT region) AS regions FROM read_parquet(${fileList(combined)})`,
    );
    expect([Number(c!.rows), Number(c!.regions)]).toEqual([REGIONS, REGIONS]);
    // Every region sits in the same file in both attempts; only last bits of some sums differ.
    const [moved] = await session.query<{ n: string }>(
      `SELECT count(*) AS n FROM read_parquet(${fileList(a)}, filename = 'f') x JOIN read_parquet(${fileList(b)}, filename = 'f') y USING (region) WHERE parse_filename(x.f) <> parse_filename(y.f)`,
    );
    expect(Number(moved!.n)).toBe(0);
    const report = await diffRelations(
      session,
      { label: 'fault-free run', files: a, schema },
      { label: 'retried run', files: combined, schema },
      { keys: ['region'], tolerance: DEFAULT_TOLERANCE },
    );
    expect([
      report.added,
      report.removed,
      report.changed,
      report.to.extraRows,
      report.differs,
      report.badRetry,
    ]).toEqual([0, 0, 0, 0, false, undefined]);
    expect(report.columns.find((col) => col.column === 'total')!.differentBits).toBeGreaterThan(0); // the sums did move, within tolerance
  });
});
