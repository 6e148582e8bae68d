import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { bucketOfFile } from '../../src/layout/bucketing.ts';
import {
  duckdbKeyHash as keyHashSql,
  DUCKDB_LAYOUT_SCHEME as HASH_SCHEME,
} from '../../src/engine/duckdb/duckdbDialect.ts';
import { lit } from '../../src/engine/sql.ts';
import type { Manifest } from '../../src/commit/manifest.ts';

// I3: a key lands in the same file on every rerun and with any thread count. The hourly example has a
// DOUBLE sum (total_bid) whose last bits may vary with threads: it must never move a key.
const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: 'ad_counts', inputs: ['events'], grain: 'hour', files: 3,
  sql: "SELECT ad_id, user_segment, count(*)::BIGINT AS events, count(DISTINCT user_id)::BIGINT AS users FROM events GROUP BY ALL",
});`;

const PARTITION = '2023-10-12T00';

/** key -> file bucket (`part-00003`; the tag after it is each version's own) of every row of a version folder, read the way an external reader would. */
async function keyToFile(dir: string, keys: string[]): Promise<Map<string, string>> {
  const rows = await duck<{ k: string; f: string }>(
    `SELECT concat_ws('|', ${keys.join(', ')}) AS k, parse_filename(filename) AS f FROM read_parquet(${lit(join(dir, '*.parquet'))}, filename = true, hive_partitioning = false)`,
  );
  const map = new Map<string, string>();
  for (const r of rows) {
    expect(map.has(r.k), `key ${r.k} appears twice`).toBe(false);
    map.set(r.k, bucketOfFile(r.f));
  }
  return map;
}

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, '_manifest.json'), 'utf8')) as Manifest;
}

describe('key stability (I3)', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  // The version folder of each run, by label.
  const dirs: Record<string, { hourly: string; counts: string }> = {};

  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 30_000, analyzers: { ad_counts: COUNTS } });
    ctx = await tp.open();
    const runs: [string, number][] = [
      ['threads1', 1],
      ['threads2', 2],
      ['rerun', 2],
    ];
    for (const [label, threads] of runs) {
      const out: Record<string, string> = {};
      for (const name of ['ad_impressions_hourly', 'ad_counts']) {
        const r = await runPartition(ctx, getAnalyzer(ctx.project, name), PARTITION, { threads });
        expect(r.error).toBeUndefined();
        out[name] = (await ctx.store.getVersion(name, PARTITION, r.version!))!.dir;
      }
      dirs[label] = { hourly: out.ad_impressions_hourly!, counts: out.ad_counts! };
    }
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('each run made its own version (the comparison is between real reruns)', () => {
    const all = Object.values(dirs).flatMap((d) => [d.hourly, d.counts]);
    expect(new Set(all).size).toBe(6);
    expect(manifestOf(dirs.threads1!.hourly).provenance.threads).toBe(1);
    expect(manifestOf(dirs.threads2!.hourly).provenance.threads).toBe(2);
  });

  it('every key of the hourly output sits in the same file with 1 thread, 2 threads and on a rerun', async () => {
    const keys = ['ad_id', 'user_segment'];
    const a = await keyToFile(dirs.threads1!.hourly, keys);
    const b = await keyToFile(dirs.threads2!.hourly, keys);
    const c = await keyToFile(dirs.rerun!.hourly, keys);
    expect(a.size).toBeGreaterThan(1000);
    expect(new Set(a.values()).size).toBe(4);
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
    expect([...c.entries()].sort()).toEqual([...a.entries()].sort());
  });

  it('integer-only output is byte-identical across reruns and thread counts (sha256 in the manifests)', () => {
    const sums = Object.values(dirs).map((d) =>
      manifestOf(d.counts).files.map((f) => [bucketOfFile(f.path), f.sha256, f.rows]),
    );
    expect(sums[0]).toHaveLength(3);
    expect(sums[1]).toEqual(sums[0]);
    expect(sums[2]).toEqual(sums[0]);
  });

  it('every row sits in file hash(keys) % files and rows ascend by key within each file', async () => {
    for (const [dir, keys] of [
      [dirs.threads1!.hourly, ['ad_id', 'user_segment']],
      [dirs.threads2!.counts, ['ad_id', 'user_segment']],
    ] as const) {
      const m = manifestOf(dir);
      expect(m.layout.rule).toBe(HASH_SCHEME);
      expect(m.keys).toEqual(keys);
      const n = m.layout.files;
      const [bad] = await duck<{ misplaced: string; out_of_order: string; total: string }>(
        `SELECT count(*) FILTER (WHERE ${keyHashSql(keys)} % ${n} <> CAST(regexp_extract(parse_filename(filename), 'part-(\\d+)', 1) AS UBIGINT)) AS misplaced,
                count(*) FILTER (WHERE prev IS NOT NULL AND (${keys.join(', ')}) <= prev) AS out_of_order,
                count(*) AS total
         FROM (SELECT *, lag((${keys.join(', ')})) OVER (PARTITION BY filename ORDER BY file_row_number) AS prev
               FROM read_parquet(${lit(join(dir, '*.parquet'))}, filename = true, file_row_number = true, hive_partitioning = false))`,
      );
      expect(Number(bad!.total)).toBe(m.rows);
      expect(Number(bad!.misplaced)).toBe(0);
      expect(Number(bad!.out_of_order)).toBe(0);
    }
  });
});

describe('golden file rule: DuckDB hash() of keys', () => {
  // Pinned with DuckDB v1.5.6. If a DuckDB upgrade changes hash(), every published key would move to another
  // file on the next run (readers mixing versions would see a key twice or not at all): this must fail loudly
  // and the upgrade must come with a new layout rule (HASH_SCHEME) and a full rebuild of published output.
  it.each([
    [
      '(ad_id INTEGER 1, user_segment seg_01)',
      ['1::INTEGER AS ad_id', "'seg_01' AS user_segment"],
      ['ad_id', 'user_segment'],
      '16074702871379462845',
      1,
    ],
    [
      '(ad_id INTEGER 137, user_segment seg_19)',
      ['137::INTEGER AS ad_id', "'seg_19' AS user_segment"],
      ['ad_id', 'user_segment'],
      '6108408194074376397',
      1,
    ],
    ['BIGINT 42', ['42::BIGINT AS id'], ['id'], '7199933130570745587', 3],
    [
      'INTEGER 42 hashes as BIGINT 42 (a widened column keeps its files)',
      ['42::INTEGER AS id'],
      ['id'],
      '7199933130570745587',
      3,
    ],
    ["VARCHAR 'US'", ["'US' AS country"], ['country'], '6757816015173783925', 1],
    [
      '(DATE, INTEGER)',
      ["DATE '2023-10-12' AS day", '7::INTEGER AS ad_id'],
      ['day', 'ad_id'],
      '11360899744976439809',
      1,
    ],
    ['DECIMAL(10,2) 1.50', ['1.5::DECIMAL(10,2) AS price'], ['price'], '11259946367786091803', 3],
  ])('%s', async (_name, cols, keys, hash, file4) => {
    const [row] = await duck<{ h: string; f: string; v: string }>(
      `SELECT ${keyHashSql(keys)}::VARCHAR AS h, (${keyHashSql(keys)} % 4)::VARCHAR AS f, version() AS v FROM (SELECT ${cols.join(', ')})`,
    );
    expect(row!.h, `hash() changed under DuckDB ${row!.v}: the file rule moved`).toBe(hash);
    expect(Number(row!.f)).toBe(file4);
  });
});
