/** The layout rule DuckDB writes: file = DuckDB's `hash` of the keys mod the file count (DuckDB's hash may change across its versions). */
export const DUCKDB_LAYOUT_SCHEME = 'duckdb-hash(keys) % files';

/** The layout rule Spark writes: `repartition(files, keys)`, i.e. Spark's Murmur3 `hash` (seed 42) of the keys, pmod the file count. */
export const SPARK_LAYOUT_SCHEME = 'spark-pmod(hash(keys), files)';

/** The layout rule of an engine by name: a version written under another rule is a layout change to rerun. */
export function layoutSchemeOf(engine: string): string {
  return engine === 'spark' ? SPARK_LAYOUT_SCHEME : DUCKDB_LAYOUT_SCHEME;
}
