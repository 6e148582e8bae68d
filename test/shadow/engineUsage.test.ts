import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// `shadow --engine` and `audit --engines` refuse what they cannot do before running anything: an unknown engine,
// one engine to compare, Spark with no server configured, Spark unreachable. DuckDB needs no server: shadowing
// the current definition on it agrees with its own publish.

const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';

describe('moving an analyzer between engines: bad input', () => {
  let tp: TestProject;
  const auditDir = () => join(tp.dir, 'data/out/.recount/audit');
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 300 });
    const ctx = await tp.open();
    try {
      expect((await runPartition(ctx, getAnalyzer(ctx.project, H), P, { threads: 1 })).status).toBe('succeeded');
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it('an unknown engine name: a usage error naming the engines there are (exit 2)', () => {
    const shadow = tp.cli(['--json', 'shadow', H, '--engine', 'flink', '--partition', P]);
    expect(shadow.code).toBe(2);
    expect(shadow.json.error).toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining("unknown engine 'flink'"),
    });
    const audit = tp.cli(['audit', '--engines', 'duckdb,flink']);
    expect(audit.code).toBe(2);
    expect(audit.stderr).toContain("unknown engine 'flink'");
  });

  it('--engines with one engine: a usage error asking for two (exit 2), nothing run', () => {
    for (const list of ['duckdb', 'spark,spark']) {
      const r = tp.cli(['--json', 'audit', H, '--engines', list]);
      expect(r.code, list).toBe(2);
      expect(r.json.error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('comparing needs two') });
    }
    expect(existsSync(auditDir()) ? readdirSync(auditDir()) : []).toEqual([]);
  });

  it('shadow with neither --definition nor --engine: a usage error naming both (exit 2)', () => {
    const r = tp.cli(['--json', 'shadow', H, '--partition', P]);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toContain('--definition or --engine');
  });

  it('Spark with no server configured: a config error naming what to set (exit 2)', () => {
    const r = tp.cli(['--json', 'shadow', H, '--engine', 'spark', '--partition', P], { RECOUNT_SPARK_REMOTE: '' });
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'CONFIG_INVALID', subject: 'engine.spark.remote' });
    expect(r.json.error.hint).toContain('RECOUNT_SPARK_REMOTE');
    expect(r.json.error.hint).toContain('recount.config.ts');
  });

  it('audit --engines with Spark unreachable: one error naming the endpoint before anything runs (exit 1)', () => {
    const r = tp.cli(['--json', 'audit', H, '--engines', 'duckdb,spark'], { RECOUNT_SPARK_REMOTE: 'sc://127.0.0.1:1' });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'ENGINE_UNREACHABLE', message: expect.stringContaining('127.0.0.1:1') });
    expect(existsSync(auditDir()) ? readdirSync(auditDir()) : []).toEqual([]);
  });

  it('shadow --engine duckdb: the current definition on DuckDB agrees with its DuckDB publish (exit 0)', () => {
    const r = tp.cli(['--json', 'shadow', H, '--engine', 'duckdb', '--partition', P]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json).toMatchObject({ engine: 'duckdb', name: `${H}-duckdb`, differs: false });
    expect(r.json.partitions[0].diff.to.label).toBe('shadow v1 (duckdb)');
  });
});
