import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../../src/commit/paths.ts';
import { getAnalyzer } from '../../../src/config/project.ts';
import { runPartition } from '../../../src/run/runPartition.ts';
import { shadowRoot } from '../../../src/shadow/namespace.ts';
import { makeProject, type TestProject } from '../../helpers/project.ts';
import { sparkRemote } from '../../spark/remote.ts';

// Moving an analyzer between engines: `recount shadow --engine spark` runs the current definition on Spark into a
// shadow namespace and diffs it against DuckDB's published version; `recount audit --engines duckdb,spark` runs
// both. The example agrees; an analyzer using hash() (Murmur3 on Spark, DuckDB's own hash) disagrees on its keys;
// one using a DuckDB-only function fails on Spark with Spark's error naming the analyzer; production never moves.

const H = 'ad_impressions_hourly';
const P = '2023-10-12T01';

const HASHED = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'ad_hash_bucket', inputs: ['events'], grain: 'hour',
  sql: 'SELECT ad_id, CAST(hash(ad_id) % 7 AS BIGINT) AS bucket, count(*) AS n FROM events GROUP BY ad_id', files: 2 });
`;
const SUMMED = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'ad_sums', inputs: ['events'], grain: 'hour',
  sql: 'SELECT ad_id, sum(ad_id) AS ad_sum, count(*) AS n FROM events GROUP BY ad_id', files: 2 });
`;
const DUCKDB_ONLY = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'ad_list', inputs: ['events'], grain: 'hour',
  sql: 'SELECT ad_id, len(list_value(ad_id, ad_id)) AS pair, count(*) AS n FROM events GROUP BY ad_id', files: 2 });
`;

/** The published link and every version of each analyzer's partition: what must not move. */
async function production(tp: TestProject) {
  const ctx = await tp.open();
  try {
    const layout = new OutputLayout(ctx.project.outputRoot);
    const out: Record<string, unknown> = {};
    for (const a of [H, 'ad_hash_bucket', 'ad_list'])
      out[a] = {
        link: readlinkSync(layout.publishedPath(a, P)),
        versions: (await ctx.store.listVersions(a, P)).map((v) => [v.seq, v.status, v.dir]),
      };
    return out;
  } finally {
    await ctx.close();
  }
}

describe('an analyzer moved between DuckDB and Spark', () => {
  let tp: TestProject;
  let before: Record<string, unknown>;
  const env = () => ({ RECOUNT_SPARK_REMOTE: sparkRemote() });

  beforeAll(async () => {
    tp = await makeProject({
      hours: 2,
      rowsPerHour: 400,
      seed: 5,
      analyzers: { ad_hash_bucket: HASHED, ad_list: DUCKDB_ONLY, ad_sums: SUMMED },
    });
    const ctx = await tp.open();
    try {
      for (const a of [H, 'ad_hash_bucket', 'ad_list', 'ad_sums'])
        expect((await runPartition(ctx, getAnalyzer(ctx.project, a), P, { threads: 1 })).status).toBe('succeeded');
    } finally {
      await ctx.close();
    }
    before = await production(tp);
  });
  afterAll(() => tp?.cleanup());

  it('shadow --engine spark: the example agrees with its DuckDB publish, each side labelled with its engine (exit 0)', () => {
    const r = tp.cli(['--json', 'shadow', H, '--engine', 'spark', '--partition', P], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, engine: 'spark', name: `${H}-spark`, differs: false });
    const [p] = r.json.partitions;
    expect(p).toMatchObject({
      partition: P,
      status: 'compared',
      productionVersion: 1,
      shadowVersion: 1,
      added: 0,
      removed: 0,
      changed: 0,
    });
    expect(p.unchanged).toBeGreaterThan(0);
    expect(p.diff.from.label).toBe('production v1 (duckdb)');
    expect(p.diff.to.label).toBe('shadow v1 (spark)');
    const meta = JSON.parse(readFileSync(join(r.json.namespace, 'shadow.json'), 'utf8'));
    expect(meta).toMatchObject({ analyzer: H, engine: 'spark' });
  });

  it('shadow --engine spark: a sum typed HUGEINT by DuckDB and BIGINT by Spark, with equal values, agrees (exit 0)', () => {
    const r = tp.cli(['--json', 'shadow', 'ad_sums', '--engine', 'spark', '--partition', P], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [p] = r.json.partitions;
    expect(p).toMatchObject({ status: 'compared', differs: false, added: 0, removed: 0, changed: 0 });
    expect(p.diff.schema.typeChanged).toContainEqual({ column: 'ad_sum', from: 'HUGEINT', to: 'BIGINT' });
  });

  it('shadow --engine spark: hash() differs between the engines: a disagreement with the differing keys (exit 1)', async () => {
    const r = tp.cli(['--json', 'shadow', 'ad_hash_bucket', '--engine', 'spark', '--partition', P, '--details'], env());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const [p] = r.json.partitions;
    expect(p).toMatchObject({ status: 'compared', differs: true, added: 0, removed: 0 });
    expect(p.changed).toBeGreaterThan(0);
    expect(p.diff.columns.find((c: { column: string }) => c.column === 'bucket').changed).toBe(p.changed);
    expect(p.diff.samples.changed[0]).toMatchObject({ column: 'bucket', key: { ad_id: expect.anything() } });
    expect(await production(tp)).toEqual(before);
  });

  it("shadow --engine spark: SQL that does not run on Spark fails with Spark's error, naming the analyzer (exit 1)", async () => {
    const r = tp.cli(['shadow', 'ad_list', '--engine', 'spark', '--partition', P], env());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/✗ ad_list 2023-10-12T01: \[SQL_INVALID\] analyzers\/ad_list\.ts: .*list_value/);
    expect(await production(tp)).toEqual(before);
  });

  it('shadow --engine spark with Spark unreachable: one error naming the endpoint, no namespace, nothing changed', async () => {
    const r = tp.cli(['--json', 'shadow', H, '--engine', 'spark', '--partition', P, '--name', 'down'], {
      RECOUNT_SPARK_REMOTE: 'sc://127.0.0.1:1',
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'ENGINE_UNREACHABLE', message: expect.stringContaining('127.0.0.1:1') });
    expect(existsSync(join(shadowRoot(new OutputLayout(join(tp.dir, 'data/out'))), 'down'))).toBe(false);
    expect(await production(tp)).toEqual(before);
  });

  it("audit --engines duckdb,spark: a table per analyzer; the example agrees, hash() disagrees, Spark's SQL error is reported (exit 1)", async () => {
    const r = tp.cli(['--json', 'audit', H, 'ad_hash_bucket', 'ad_list', '--engines', 'duckdb,spark'], env());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json).toMatchObject({ ok: false, agree: false, engines: ['duckdb', 'spark'], scratch: null });
    const [example, hashed, duckdbOnly] = r.json.analyzers;
    expect(example).toMatchObject({ analyzer: H, agree: true });
    expect(example.partitions.map((p: { partition: string }) => p.partition)).toEqual([P]);
    expect(example.partitions[0].comparisons[0]).toMatchObject({ from: 'duckdb', to: 'spark', differs: false });
    expect(hashed).toMatchObject({ analyzer: 'ad_hash_bucket', agree: false });
    expect(hashed.partitions[0].comparisons[0].changed).toBeGreaterThan(0);
    expect(hashed.partitions[0].comparisons[0].diff.samples.changed.length).toBeGreaterThan(0);
    expect(duckdbOnly).toMatchObject({ analyzer: 'ad_list', agree: false });
    expect(duckdbOnly.partitions[0].runs).toMatchObject([
      { engine: 'duckdb', status: 'succeeded' },
      {
        engine: 'spark',
        status: 'failed',
        error: { code: 'SQL_INVALID', message: expect.stringContaining('analyzers/ad_list.ts') },
      },
    ]);
    expect(await production(tp)).toEqual(before);

    const text = tp.cli(['audit', 'ad_hash_bucket', '--engines', 'duckdb,spark', '--partition', P], env());
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/ad_hash_bucket .* DISAGREE/);
    expect(text.stdout).toContain('the engines disagree on ad_hash_bucket');
  });
});
