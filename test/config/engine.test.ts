import { describe, expect, it } from 'vitest';
import { buildProject, type AnalyzerSource } from '../../src/config/project.ts';
import { RecountError } from '../../src/errors.ts';

// engine: 'duckdb' (default) or { spark: { remote, conf } }, in the project and per analyzer; RECOUNT_SPARK_REMOTE overrides the remote.
const config = (over: Record<string, unknown> = {}) => ({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  ...over,
});
const analyzer = (over: Record<string, unknown> = {}) => ({
  name: 'hourly',
  inputs: ['events'],
  grain: 'hour',
  sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id',
  ...over,
});
const src = (value: unknown): AnalyzerSource => ({ file: 'analyzers/hourly.ts', value });
const build = (c: unknown, a: unknown = analyzer(), env: NodeJS.ProcessEnv = {}) =>
  buildProject('/proj', 'recount.config.ts', c, [src(a)], env).analyzers.get('hourly')!;

describe('the engine an analyzer runs on', () => {
  it('is DuckDB by default', () => {
    expect(build(config()).engineChoice).toEqual({ name: 'duckdb' });
  });

  it("is the project's Spark, with its settings as strings", () => {
    const a = build(
      config({
        engine: {
          spark: { remote: 'sc://spark:15002', conf: { 'spark.sql.shuffle.partitions': 8, 'spark.speculation': true } },
        },
      }),
    );
    expect(a.engineChoice).toEqual({
      name: 'spark',
      remote: 'sc://spark:15002',
      conf: { 'spark.sql.shuffle.partitions': '8', 'spark.speculation': 'true' },
    });
  });

  it("an analyzer's own engine wins over the project's, both ways", () => {
    expect(build(config(), analyzer({ engine: { spark: { remote: 'sc://spark:15002' } } })).engineChoice).toMatchObject(
      { name: 'spark', remote: 'sc://spark:15002' },
    );
    expect(
      build(config({ engine: { spark: { remote: 'sc://spark:15002' } } }), analyzer({ engine: 'duckdb' })).engineChoice,
    ).toEqual({ name: 'duckdb' });
  });

  it('RECOUNT_SPARK_REMOTE replaces the remote of a Spark engine, and leaves DuckDB analyzers on DuckDB', () => {
    const env = { RECOUNT_SPARK_REMOTE: 'sc://other:15002/;user_id=ci' };
    expect(
      build(config({ engine: { spark: { remote: 'sc://spark:15002' } } }), analyzer(), env).engineChoice,
    ).toMatchObject({ name: 'spark', remote: 'sc://other:15002/;user_id=ci' });
    expect(build(config(), analyzer(), env).engineChoice).toEqual({ name: 'duckdb' });
  });

  it('a remote that is not a Spark Connect string, or an unknown engine, is CONFIG_INVALID naming the field', () => {
    for (const engine of [
      { spark: { remote: 'http://spark:15002' } },
      'polars',
      { spark: { remote: 'sc://x', extra: 1 } },
    ]) {
      let err: unknown;
      try {
        build(config({ engine }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RecountError);
      expect((err as RecountError).code).toBe('CONFIG_INVALID');
      expect((err as RecountError).subject).toContain('engine');
    }
  });
});
