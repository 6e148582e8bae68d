import { bucketOfFile } from '../../../src/layout/bucketing.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, readPublished, REPO, type TestProject } from '../../helpers/project.ts';
import { runPartition, type AttemptResult } from '../../../src/run/runPartition.ts';
import { getAnalyzer } from '../../../src/config/project.ts';
import { SPARK_LAYOUT_SCHEME, DUCKDB_LAYOUT_SCHEME } from '../../../src/layout/schemes.ts';
import { isUpToDate } from '../../../src/run/fingerprint.ts';
import { parsePartition } from '../../../src/catalog/partition.ts';
import { sparkRemote } from '../../spark/remote.ts';

// The ad-tech example on both engines, from the same generated events: the same keys and integers, float sums
// within tolerance; on Spark every key stays in its file over a rerun, and the manifest names Spark's layout.

const HOURS = 24;
const KEYS = ['ad_id', 'user_segment'];

async function runAll(tp: TestProject, analyzer: string, partitions: string[]): Promise<AttemptResult[]> {
  const ctx = await tp.open();
  try {
    const out: AttemptResult[] = [];
    for (const p of partitions)
      out.push(await runPartition(ctx, getAnalyzer(ctx.project, analyzer), p, { threads: 1 }));
    return out;
  } finally {
    await ctx.close();
  }
}

function published(tp: TestProject, analyzer: string, partition: string): string {
  const [dt, hour] = partition.split('T');
  return join(tp.dir, 'data/out', analyzer, `dt=${dt}`, ...(hour ? [`hour=${hour}`] : []));
}

function manifest(tp: TestProject, analyzer: string, partition: string): any {
  return JSON.parse(readFileSync(join(published(tp, analyzer, partition), '_manifest.json'), 'utf8'));
}

/** Rows by key, integers as numbers and the float sum rounded within tolerance. */
function normalised(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map(({ _file, ...r }) => ({
    ...r,
    impression_count: Number(r.impression_count),
    total_bid: Number(Number(r.total_bid).toFixed(6)),
  }));
}

describe('the example analyzers on DuckDB and on Spark', () => {
  let duckdb: TestProject;
  let spark: TestProject;
  const hours = Array.from({ length: HOURS }, (_, h) => `2023-10-12T${String(h).padStart(2, '0')}`);

  beforeAll(async () => {
    duckdb = await makeProject({ hours: HOURS, rowsPerHour: 300, seed: 11 });
    spark = await makeProject({ hours: HOURS, rowsPerHour: 300, seed: 11 });
    // The whole project on Spark: the example config with an engine.
    const config = readFileSync(join(REPO, 'examples/ad-tech/recount.config.ts'), 'utf8').replace(
      "output: 'data/out',",
      `output: 'data/out',\n  engine: { spark: { remote: ${JSON.stringify(sparkRemote())}, conf: { 'spark.sql.shuffle.partitions': '4' } } },`,
    );
    writeFileSync(join(spark.dir, 'recount.config.ts'), config);
  });
  afterAll(() => {
    duckdb?.cleanup();
    spark?.cleanup();
  });

  it('hourly: the same rows on both engines; Spark writes its own layout, and a rerun keeps every key in its file', async () => {
    const partition = hours[9]!;
    const [d] = await runAll(duckdb, 'ad_impressions_hourly', [partition]);
    const [s] = await runAll(spark, 'ad_impressions_hourly', [partition]);
    expect(d!.error).toBeUndefined();
    expect(s!.error).toBeUndefined();
    expect(s!.status).toBe('succeeded');
    expect(s!.keys).toEqual(KEYS);
    expect(s!.files).toBe(4);
    const fromDuck = await readPublished(published(duckdb, 'ad_impressions_hourly', partition), KEYS);
    const fromSpark = await readPublished(published(spark, 'ad_impressions_hourly', partition), KEYS);
    expect(fromSpark.length).toBeGreaterThan(0);
    expect(normalised(fromSpark)).toEqual(normalised(fromDuck));

    const m = manifest(spark, 'ad_impressions_hourly', partition);
    expect(m.layout.rule).toBe(SPARK_LAYOUT_SCHEME);
    expect(m.provenance.engine).toBe('spark');
    expect(m.provenance.engineVersion).toMatch(/^4\./);
    expect(manifest(duckdb, 'ad_impressions_hourly', partition).layout.rule).toBe(DUCKDB_LAYOUT_SCHEME);
    expect(m.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);

    const [again] = await runAll(spark, 'ad_impressions_hourly', [partition]);
    expect(again!.status).toBe('succeeded');
    expect(again!.version).toBe(2);
    const rerun = await readPublished(published(spark, 'ad_impressions_hourly', partition), KEYS);
    // The same bucket (part-0000N); the file names also carry each version's own tag.
    expect(rerun.map((r) => [r.ad_id, r.user_segment, bucketOfFile(String(r._file))])).toEqual(
      fromSpark.map((r) => [r.ad_id, r.user_segment, bucketOfFile(String(r._file))]),
    );
  });

  it('switching an analyzer to the other engine is a layout change: the DuckDB version is not up to date for Spark', async () => {
    const ctx = await duckdb.open();
    try {
      const a = getAnalyzer(ctx.project, 'ad_impressions_hourly');
      const p = parsePartition(hours[9]!, 'hour');
      expect(await isUpToDate(ctx.store, ctx.project, a, p)).toBe(true);
      const onSpark = { ...a, engineChoice: { name: 'spark' as const, remote: sparkRemote(), conf: {} } };
      expect(await isUpToDate(ctx.store, ctx.project, onSpark, p)).toBe(false);
    } finally {
      await ctx.close();
    }
  });

  it('daily (files: auto, a custom check over an input): the same rows on both engines from the same hourly input', async () => {
    const duckHours = await runAll(duckdb, 'ad_impressions_hourly', hours);
    expect(duckHours.filter((r) => r.status !== 'succeeded')).toEqual([]);
    // The Spark project's daily reads the same hourly output: DuckDB's, copied over (24 Spark runs would only cost time).
    const { cpSync, rmSync } = await import('node:fs');
    rmSync(join(spark.dir, 'data/out/ad_impressions_hourly'), { recursive: true, force: true });
    cpSync(join(duckdb.dir, 'data/out/ad_impressions_hourly'), join(spark.dir, 'data/out/ad_impressions_hourly'), {
      recursive: true,
      dereference: true,
    });
    const [d] = await runAll(duckdb, 'ad_impressions_daily', ['2023-10-12']);
    const [s] = await runAll(spark, 'ad_impressions_daily', ['2023-10-12']);
    expect(d!.error).toBeUndefined();
    expect(s!.error).toBeUndefined();
    expect(s!.checks.map((c) => [c.name, c.passed])).toEqual(d!.checks.map((c) => [c.name, c.passed]));
    const fromDuck = await readPublished(published(duckdb, 'ad_impressions_daily', '2023-10-12'), KEYS);
    const fromSpark = await readPublished(published(spark, 'ad_impressions_daily', '2023-10-12'), KEYS);
    expect(fromSpark.length).toBe(fromDuck.length);
    expect(normalised(fromSpark)).toEqual(normalised(fromDuck));
  });
});
