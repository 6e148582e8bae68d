import { defineAnalyzer } from 'recount';

// The first seed's query: impressions per ad and user segment, per hour.
export default defineAnalyzer({
  name: 'ad_impressions_hourly',
  description: 'Impressions and total bid per ad and user segment, per hour',
  inputs: ['events'],
  grain: 'hour',
  // recount serve runs partitions from here on (without start: only the last serve.lookbackHours), so the
  // generated 2023 events are picked up; older history is for recount backfill.
  start: '2023-10-12T00',
  sql: `
    SELECT ad_id, user_segment,
           count(*)       AS impression_count,
           sum(bid_price) AS total_bid
    FROM events
    WHERE event_type = 'impression'
    GROUP BY ad_id, user_segment`,
  // keys are inferred from the GROUP BY: (ad_id, user_segment). total_bid is a DOUBLE and never chooses a file.
  files: 4,
  // Every published version is loaded into this warehouse table (embedded DuckDB file by default), one transaction per partition.
  load: { table: 'ad_impressions_hourly' },
  checks: [
    { name: 'positive_counts', sql: 'SELECT * FROM output WHERE impression_count <= 0' },
    { name: 'non_negative_bids', sql: 'SELECT * FROM output WHERE total_bid < 0' },
  ],
});
