import type { EngineSession } from '../engine.ts';

/**
 * The rows each Parquet file's footer records, read by another engine than the one that wrote them (the Spark
 * session's local DuckDB): no Spark job, and the row_count check then compares two independent readers.
 */
export async function footerRows(reader: EngineSession, paths: readonly string[]): Promise<number[]> {
  if (paths.length === 0) return [];
  const cols = paths.map((p, i) => `(${reader.dialect.fileRowsSql([p])}) AS r${i}`);
  const [row] = await reader.query<Record<string, unknown>>(`SELECT ${cols.join(', ')}`);
  return paths.map((_, i) => Number(row?.[`r${i}`] ?? Number.NaN));
}
