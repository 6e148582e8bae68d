-- The hourly analyzer: impressions per ad and user segment with count and sum of bid, one interval an hour.
-- Native output: a DuckDB table (physical table behind the view peers.ad_impressions_hourly).
-- batch_size 1: one hour per query, as every tool in the bench runs it (SQLMesh would otherwise backfill the
-- whole range in one query). The hive filter on dt/hour prunes the file list to the interval's one folder.
MODEL (
  name peers.ad_impressions_hourly,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column hour_start,
    batch_size 1
  ),
  cron '@hourly',
  grain (hour_start, ad_id, user_segment)
);

SELECT date_trunc('hour', ts) AS hour_start,
       ad_id, user_segment,
       @IF(@float_keys = 1, round(bid_price, 1) AS bid_bucket),   -- seed-003 case: a computed DOUBLE key
       count(*)       AS impression_count,
       sum(bid_price) AS total_bid
FROM read_parquet(@events_root || '/*/*/*.parquet', hive_partitioning = true)
WHERE event_type = 'impression'
  AND dt = @start_ds::DATE AND hour = hour(@start_ts::TIMESTAMP)   -- the interval's one partition folder
  AND ts BETWEEN @start_ts::TIMESTAMP AND @end_ts::TIMESTAMP
GROUP BY ALL
