import { describe, expect, it } from 'vitest';
import { lintFixtureTests, type LintFixture } from './lintFixtures.ts';

// The lint reads each analyzer's SQL with DuckDB's own parser and flags what would make a rerun disagree
// with the published rows. Each fixture analyzer below holds one pattern; the shipped examples hold none.

const FIXTURES: Record<string, LintFixture> = {
  lint_random: {
    sql: 'SELECT ad_id, count(*) AS n, random() AS r FROM events GROUP BY ad_id',
    rule: 'nondeterministic-function',
    severity: 'error',
    says: 'random()',
  },
  lint_now: {
    sql: 'SELECT ad_id, max(ts) AS last_ts, now() AS computed_at FROM events GROUP BY ad_id',
    rule: 'nondeterministic-function',
    severity: 'error',
    says: 'now()',
  },
  lint_current_timestamp: {
    sql: 'SELECT ad_id, count(*) AS n,\n  current_timestamp AS computed_at FROM events GROUP BY ad_id',
    rule: 'nondeterministic-function',
    severity: 'error',
    says: 'current_timestamp reads the clock',
  },
  lint_uuid: {
    sql: 'SELECT ad_id, count(*) AS n, uuid() AS row_id FROM events GROUP BY ad_id',
    rule: 'nondeterministic-function',
    severity: 'error',
    says: 'uuid()',
  },
  lint_gen_random_uuid: {
    sql: 'SELECT ad_id, count(*) AS n, gen_random_uuid() AS row_id FROM events GROUP BY ad_id',
    rule: 'nondeterministic-function',
    severity: 'error',
    says: 'gen_random_uuid()',
  },
  lint_limit: {
    sql: 'SELECT ad_id, user_segment FROM (SELECT DISTINCT ad_id, user_segment FROM events) LIMIT 100',
    extra: ", keys: ['ad_id', 'user_segment']",
    rule: 'limit-without-order',
    severity: 'error',
    says: 'LIMIT without ORDER BY',
  },
  lint_float_key_declared: {
    sql: 'SELECT bid_price, count(*) AS n FROM events GROUP BY bid_price',
    extra: ", keys: ['bid_price']",
    rule: 'float-key',
    severity: 'error',
    says: "key column 'bid_price' is DOUBLE",
  },
  lint_float_key_inferred: {
    sql: 'SELECT round(bid_price, 2) AS price, count(*) AS n FROM events GROUP BY 1',
    rule: 'float-key',
    severity: 'error',
    says: "key column 'price' is DOUBLE",
  },
  lint_select_star: {
    sql: "SELECT * FROM events WHERE event_type = 'click'",
    extra: ", keys: ['event_id']",
    rule: 'select-star',
    severity: 'warning',
    says: "SELECT * over input 'events'",
  },
  lint_first: {
    sql: 'SELECT ad_id, first(device) AS device FROM events GROUP BY ad_id',
    rule: 'order-dependent-aggregate',
    severity: 'warning',
    says: 'first() without ORDER BY',
  },
  lint_sample: {
    sql: 'SELECT ad_id, count(*) AS n FROM events TABLESAMPLE 10% GROUP BY ad_id',
    rule: 'sample-without-seed',
    severity: 'error',
    says: 'without REPEATABLE',
  },
};

const CLEAN: Record<string, string> = {
  clean_ordered_limit: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id ORDER BY n DESC, ad_id LIMIT 10',
  clean_ordered_agg:
    "SELECT ad_id, string_agg(device, ',' ORDER BY device) AS devices, first(device ORDER BY ts, event_id) AS first_device FROM events GROUP BY ad_id",
  clean_partition_time:
    "SELECT ad_id, count(*) AS n FROM events WHERE ts >= getvariable('partition_start') GROUP BY ad_id",
};

describe('lint', () => {
  const checks = lintFixtureTests(FIXTURES, CLEAN);

  it('points at the line of the SQL', () => {
    expect(checks.get('lint_current_timestamp')!.lint[0]!.line).toBe(2);
  });

  it('finds nothing in the shipped examples', () => {
    for (const name of ['ad_impressions_hourly', 'ad_impressions_daily']) {
      const c = checks.get(name)!;
      expect(c.compiles, `${name}: ${c.error}`).toBe(true);
      expect(c.lint, name).toEqual([]);
    }
  });

  it('checks a downstream analyzer with nothing published upstream against the upstream query', () => {
    const daily = checks.get('ad_impressions_daily')!;
    expect(daily.schemaFrom.sources).toContainEqual({
      dataset: 'ad_impressions_hourly',
      from: "analyzer ad_impressions_hourly's query (nothing published yet)",
    });
    expect(daily.schemaFrom.missing).toEqual([]);
    expect(daily.columns?.map((c) => c.name)).toEqual(['ad_id', 'user_segment', 'impression_count', 'total_bid']);
  });
});
