-- The hourly analyzer as a microbatch incremental model: one batch an hour, each batch replaced by
-- delete+insert on hour_start (dbt-duckdb's microbatch). Native output: a DuckDB table.
-- The dt/hour filter prunes the file list to the batch's one folder, as the other tools do.
{{ config(
    materialized = 'incremental',
    incremental_strategy = 'microbatch',
    event_time = 'hour_start',
    batch_size = 'hour',
    begin = '2023-10-12',
    concurrent_batches = false
) }}
SELECT date_trunc('hour', ts) AS hour_start,
       ad_id, user_segment,
       {% if env_var('PEERS_FLOAT_KEYS', '0') == '1' %}round(bid_price, 1) AS bid_bucket,  -- seed-003 case: a computed DOUBLE key{% endif %}
       count(*)       AS impression_count,
       sum(bid_price) AS total_bid
FROM {{ source('raw', 'events') }}
WHERE event_type = 'impression'
  AND dt = DATE '{{ model.batch.event_time_start.strftime("%Y-%m-%d") }}'
  AND hour = {{ model.batch.event_time_start.hour }}
GROUP BY ALL
