import { describe } from 'vitest';
import { lintFixtureTests, type LintFixture } from './lintFixtures.ts';

// Lint rules about order (U4): a window function that numbers or picks rows needs an ORDER BY; an ORDER BY
// before a LIMIT must be unique or ties are cut differently; approximate aggregates built in row order vary with
// the thread count; setseed() does not make random() reproducible with more than one thread. Each fixture holds
// one pattern; the clean ones hold none.

const FIXTURES: Record<string, LintFixture> = {
  lint_row_number: {
    sql: 'SELECT ad_id, user_segment, row_number() OVER () AS rn FROM (SELECT DISTINCT ad_id, user_segment FROM events)',
    extra: ", keys: ['ad_id', 'user_segment']",
    rule: 'window-without-order',
    severity: 'error',
    says: 'row_number() OVER (...) without ORDER BY',
  },
  lint_lag: {
    sql: 'SELECT event_id, lag(bid_price) OVER (PARTITION BY ad_id) AS previous_bid FROM events',
    extra: ", keys: ['event_id']",
    rule: 'window-without-order',
    severity: 'error',
    says: 'lag() OVER (...) without ORDER BY',
  },
  lint_order_limit_tie: {
    sql: 'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ad_id, user_segment ORDER BY ad_id LIMIT 10',
    rule: 'limit-order-not-unique',
    severity: 'warning',
    says: 'ORDER BY ad_id with LIMIT: rows that tie on ad_id',
  },
  lint_approx_quantile: {
    sql: 'SELECT ad_id, approx_quantile(bid_price, 0.5) AS median_bid FROM events GROUP BY ad_id',
    rule: 'approximate-aggregate',
    severity: 'warning',
    says: 'approx_quantile() is approximate',
  },
  lint_reservoir: {
    sql: 'SELECT ad_id, reservoir_quantile(bid_price, 0.9) AS p90 FROM events GROUP BY ad_id',
    rule: 'approximate-aggregate',
    severity: 'warning',
    says: 'reservoir_quantile() is approximate',
  },
  lint_seeded_random: {
    sql: 'SELECT ad_id, count(*) AS n, random() AS r FROM events, (SELECT setseed(0.5) AS s) GROUP BY ad_id',
    rule: 'nondeterministic-function',
    severity: 'error',
    says: 'setseed() does not fix that: it makes random() repeat its sequence only when one thread runs the query',
  },
};

const CLEAN: Record<string, string> = {
  clean_row_number_ordered:
    'SELECT event_id, row_number() OVER (PARTITION BY ad_id ORDER BY ts, event_id) AS nth FROM events',
  clean_rank_all_peers: 'SELECT ad_id, count(*) AS n, rank() OVER () AS r FROM events GROUP BY ad_id',
  clean_window_sum: 'SELECT event_id, sum(bid_price) OVER (PARTITION BY ad_id) AS ad_total FROM events',
  clean_limit_by_group:
    'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ad_id, user_segment ORDER BY n DESC, ad_id, user_segment LIMIT 10',
  clean_limit_positional: 'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 10',
  clean_limit_distinct: 'SELECT DISTINCT ad_id, user_segment FROM events ORDER BY user_segment, ad_id LIMIT 10',
  clean_approx_count_distinct: 'SELECT ad_id, approx_count_distinct(user_id) AS users FROM events GROUP BY ad_id',
  clean_setseed_alone: 'SELECT ad_id, count(*) AS n FROM events, (SELECT setseed(0.5) AS s) GROUP BY ad_id',
};

describe('lint: order', () => {
  lintFixtureTests(FIXTURES, CLEAN, { examples: false });
});
