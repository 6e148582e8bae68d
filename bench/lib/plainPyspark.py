# The plain PySpark baseline of bench/spark.bench.ts: the hourly analyzer as a user would write it by hand on
# Spark Connect: read the partition's files -> SQL -> repartition(files, keys) -> sortWithinPartitions(keys) ->
# write Parquet. Prints one JSON line with the seconds from session creation to the end of the write.
import json
import sys
import time

remote, out, files, sql = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
inputs = sys.argv[5:]
keys = ["ad_id", "user_segment"]

t0 = time.perf_counter()
from pyspark.sql import SparkSession  # noqa: E402

spark = SparkSession.builder.remote(remote).getOrCreate()
t1 = time.perf_counter()
spark.read.parquet(*inputs).createOrReplaceTempView("events")
df = spark.sql(sql)
df.repartition(files, *keys).sortWithinPartitions(*keys).write.mode("error").parquet(out)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "work_s": t2 - t1}))
spark.stop()
