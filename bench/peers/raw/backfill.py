"""The floor: a raw DuckDB per-partition loop, `python backfill.py EVENTS OUT FROM TO` (hour ids like
2023-10-12T00, inclusive). One in-memory DuckDB (threads 2), one `COPY (<the analyzer's SQL>) TO
OUT/dt=…/hour=…/part-0.parquet` per partition: no state, no checks, no layout, no atomic publish."""
import os
import sys
from datetime import datetime, timedelta

import duckdb

SQL = """
SELECT ad_id, user_segment,{extra}
       count(*)       AS impression_count,
       sum(bid_price) AS total_bid
FROM read_parquet('{files}')
WHERE event_type = 'impression'
GROUP BY ALL
"""


def main(events: str, out: str, first: str, last: str) -> int:
    extra = " round(bid_price, 1) AS bid_bucket," if os.environ.get("PEERS_FLOAT_KEYS") == "1" else ""
    conn = duckdb.connect(":memory:", config={"threads": 2})
    t = datetime.strptime(first, "%Y-%m-%dT%H")
    end = datetime.strptime(last, "%Y-%m-%dT%H")
    n = 0
    while t <= end:
        folder = f"dt={t:%Y-%m-%d}/hour={t:%H}"
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        sql = SQL.format(files=os.path.join(events, folder, "*.parquet"), extra=extra)
        conn.execute(f"COPY ({sql}) TO '{os.path.join(out, folder, 'part-0.parquet')}' (FORMAT parquet)")
        t += timedelta(hours=1)
        n += 1
    print(f"raw duckdb: {n} partitions", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
