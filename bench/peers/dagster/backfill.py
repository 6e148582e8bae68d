"""Backfill hourly partitions of the Dagster asset in one process: `python backfill.py FROM TO`
(partition keys like 2023-10-12-00:00, both inclusive). Each partition is its own Dagster run, recorded in the
instance under DAGSTER_HOME (runs, event log, materializations), executed in-process: what Dagster's own
`dagster asset materialize --partition` does per key, minus a Python start per partition. A failed partition
is reported and the backfill goes on; exit 1 if any failed. Re-running the same command is the retry."""
import sys

from dagster import DagsterInstance, PartitionKeyRange, materialize

from definitions import ad_impressions_hourly, defs, hourly


def main(first: str, last: str) -> int:
    instance = DagsterInstance.get()
    todo = hourly.get_partition_keys_in_range(PartitionKeyRange(first, last))
    failed = []
    resources = defs.resources
    for key in todo:
        result = materialize([ad_impressions_hourly], partition_key=key, instance=instance, resources=resources, raise_on_error=False)
        if not result.success:
            failed.append(key)
    print(f"dagster backfill: {len(todo) - len(failed)} of {len(todo)} partitions materialized", flush=True)
    for key in failed:
        print(f"failed: {key}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
