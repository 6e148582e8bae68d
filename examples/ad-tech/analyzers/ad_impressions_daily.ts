import { defineAnalyzer } from 'recount';

// The daily rollup, read from the hourly analyzer's output: runs when all 24 hours are published.
export default defineAnalyzer({
  name: 'ad_impressions_daily',
  description: 'Daily impressions and total bid per ad and user segment, rolled up from the hourly output',
  inputs: ['ad_impressions_hourly'],
  grain: 'day',
  start: '2023-10-12',
  sql: `
    SELECT ad_id, user_segment,
           sum(impression_count)::BIGINT AS impression_count,
           sum(total_bid)                AS total_bid
    FROM ad_impressions_hourly
    GROUP BY ad_id, user_segment`,
  keys: ['ad_id', 'user_segment'],
  files: 'auto',
  load: { table: 'ad_impressions_daily' },
  checks: [
    {
      name: 'matches_hourly_total',
      description: 'the day holds exactly the impressions of its 24 hours',
      sql: `SELECT d.n AS daily, h.n AS hourly FROM (SELECT sum(impression_count) n FROM output) d,
              (SELECT sum(impression_count) n FROM ad_impressions_hourly) h WHERE d.n <> h.n`,
    },
  ],
});
