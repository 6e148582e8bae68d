"""Dagster project for the peers bench: the hourly analyzer as an hourly-partitioned asset.

The asset runs the analyzer's SQL through dagster-duckdb's DuckDBResource (an in-memory DuckDB, threads 2) and
writes the partition as one Parquet file, out/dt=YYYY-MM-DD/hour=HH/part-0.parquet: native output Parquet
(an asset that owns its storage, as Dagster's docs show for files). Events root and output root come from
the environment (PEERS_EVENTS, PEERS_OUT).
"""
import os

from dagster import AssetExecutionContext, Definitions, HourlyPartitionsDefinition, asset
from dagster_duckdb import DuckDBResource

EVENTS = os.environ.get("PEERS_EVENTS", "data/events")
OUT = os.environ.get("PEERS_OUT", "data/out")
# PEERS_FLOAT_KEYS=1 is the seed-003 case: a computed DOUBLE (the bid rounded to 0.1) among the GROUP BY keys.
FLOAT_KEYS = os.environ.get("PEERS_FLOAT_KEYS") == "1"

hourly = HourlyPartitionsDefinition(start_date="2023-10-12-00:00")

SQL = """
SELECT ad_id, user_segment,{extra}
       count(*)       AS impression_count,
       sum(bid_price) AS total_bid
FROM read_parquet('{files}')
WHERE event_type = 'impression'
GROUP BY ALL
"""


@asset(partitions_def=hourly)
def ad_impressions_hourly(context: AssetExecutionContext, duckdb: DuckDBResource) -> None:
    start = context.partition_time_window.start
    folder = f"dt={start:%Y-%m-%d}/hour={start:%H}"
    target = os.path.join(OUT, folder)
    os.makedirs(target, exist_ok=True)
    extra = " round(bid_price, 1) AS bid_bucket," if FLOAT_KEYS else ""
    sql = SQL.format(files=os.path.join(EVENTS, folder, "*.parquet"), extra=extra)
    with duckdb.get_connection() as conn:
        rows = conn.execute(f"COPY ({sql}) TO '{os.path.join(target, 'part-0.parquet')}' (FORMAT parquet)").fetchone()[0]
    context.add_output_metadata({"rows": rows})


defs = Definitions(
    assets=[ad_impressions_hourly],
    resources={"duckdb": DuckDBResource(database=":memory:", connection_config={"threads": 2})},
)
