import { readManifest } from '../../src/commit/manifest.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, readPublished, duck, type TestProject } from '../helpers/project.ts';
import { versionTag } from '../../src/layout/bucketing.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { lit } from '../../src/engine/sql.ts';

describe('runPartition on the ad-tech example', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 4000 });
  });
  afterAll(() => tp.cleanup());

  it('publishes the hourly aggregate: the same rows as the SQL run directly, keys from the GROUP BY, 4 files', async () => {
    const ctx = await tp.open();
    try {
      const a = getAnalyzer(ctx.project, 'ad_impressions_hourly');
      const r = await runPartition(ctx, a, '2023-10-12T00');
      expect(r.error).toBeUndefined();
      expect(r.status).toBe('succeeded');
      expect(r.version).toBe(1);
      expect(r.keys).toEqual(['ad_id', 'user_segment']);
      expect(r.files).toBe(4);
      const published = join(tp.dir, 'data/out/ad_impressions_hourly/dt=2023-10-12/hour=00');
      expect(lstatSync(published).isSymbolicLink()).toBe(true);
      expect(existsSync(join(published, '_SUCCESS'))).toBe(true);
      // Bucket i is part-0000i; the tag after it is the attempt's, so no two versions share a file name (I1).
      const tag = versionTag(r.attemptId);
      expect(readdirSync(published).sort()).toEqual([
        '_SUCCESS',
        '_manifest.json',
        `part-00000-${tag}.parquet`,
        `part-00001-${tag}.parquet`,
        `part-00002-${tag}.parquet`,
        `part-00003-${tag}.parquet`,
      ]);
      // The sha256 the attempt computed from the bytes it wrote, which its load (or serve's daemon) trusts: the manifest's.
      const written = readManifest(published)!.files;
      expect(r.fileSha256).toEqual(Object.fromEntries(written.map((f) => [f.path, f.sha256])));
      const expected = await duck(
        `SELECT ad_id, user_segment, count(*) AS impression_count, sum(bid_price) AS total_bid FROM read_parquet(${lit(join(tp.dir, 'data/events/dt=2023-10-12/hour=00/*.parquet'))}) WHERE event_type = 'impression' GROUP BY ALL ORDER BY ad_id, user_segment`,
      );
      const got = await readPublished(published, ['ad_id', 'user_segment']);
      expect(got.length).toBe(expected.length);
      expect(got.map(({ _file, ...rest }) => ({ ...rest, total_bid: Number(rest.total_bid).toFixed(6) }))).toEqual(
        expected.map((e) => ({ ...e, total_bid: Number(e.total_bid).toFixed(6) })),
      );
      const manifest = JSON.parse(readFileSync(join(published, '_manifest.json'), 'utf8'));
      expect(manifest.rows).toBe(expected.length);
      expect(manifest.keys).toEqual(['ad_id', 'user_segment']);
      expect(manifest.keySource).toBe('group_by');
      expect(manifest.files).toHaveLength(4);
      expect(manifest.provenance.sqlHash).toBe(a.sqlHash);
      expect(manifest.provenance.engineVersion).toMatch(/^v\d/);
      expect(manifest.provenance.inputs[0].files[0].path).toBe('dt=2023-10-12/hour=00/part-00000.parquet');
      expect(manifest.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
    } finally {
      await ctx.close();
    }
  });

  it('a rerun publishes version 2 with the same rows and keeps version 1 for rollback', async () => {
    const ctx = await tp.open();
    try {
      const a = getAnalyzer(ctx.project, 'ad_impressions_hourly');
      const first = await ctx.store.publishedVersion(a.name, '2023-10-12T00');
      const r = await runPartition(ctx, a, '2023-10-12T00');
      expect(r.version).toBe((first?.seq ?? 0) + 1);
      const versions = await ctx.store.listVersions(a.name, '2023-10-12T00');
      expect(versions.map((v) => [v.seq, v.status])).toEqual([
        [r.version, 'published'],
        [first!.seq, 'retained'],
      ]);
      expect(versions[0]!.rows).toBe(versions[1]!.rows);
    } finally {
      await ctx.close();
    }
  });

  it('the daily analyzer refuses a day whose 24 hours are not all published, naming the missing hours', async () => {
    const ctx = await tp.open();
    try {
      const r = await runPartition(ctx, getAnalyzer(ctx.project, 'ad_impressions_daily'), '2023-10-12');
      expect(r.status).toBe('failed');
      expect(r.error?.code).toBe('PARTITION_NOT_READY');
      expect(r.error?.message).toContain('2023-10-12T01');
      expect(r.error?.hint).toContain('ad_impressions_hourly');
    } finally {
      await ctx.close();
    }
  });
});

describe('analyzer SQL as people write it', () => {
  it('a query ending in a semicolon and a -- comment, and a check ending in a semicolon, run and publish', async () => {
    const analyzer = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'pasted', inputs: ['events'], grain: 'hour', files: 2,
  sql: \`SELECT ad_id, count(*)::BIGINT AS n -- impressions and all
FROM events
GROUP BY ad_id; -- one row per ad\`,
  checks: [{ name: 'positive', sql: 'SELECT * FROM output WHERE n <= 0;' }] });`;
    const tp = await makeProject({ examples: false, hours: 1, rowsPerHour: 500, analyzers: { pasted: analyzer } });
    try {
      const r = tp.cli(['--json', 'run', 'pasted', '--partition', '2023-10-12T00']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.json).toMatchObject({ status: 'succeeded', keys: ['ad_id'] });
      expect(r.json.checks.find((c: { name: string }) => c.name === 'positive')).toMatchObject({ passed: true });
    } finally {
      tp.cleanup();
    }
  });

  it('two statements in one analyzer are a configuration error naming the file (exit 2)', async () => {
    const analyzer = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'two', inputs: ['events'], grain: 'hour', sql: 'SELECT 1 AS a; SELECT 2 AS a' });`;
    const tp = await makeProject({ examples: false, hours: 1, rowsPerHour: 100, analyzers: { two: analyzer } });
    try {
      const r = tp.cli(['--json', 'run', 'two', '--partition', '2023-10-12T00']);
      expect(r.code).toBe(2);
      expect(r.json.error).toMatchObject({ code: 'CONFIG_INVALID', subject: 'analyzers/two.ts: sql' });
    } finally {
      tp.cleanup();
    }
  });
});
