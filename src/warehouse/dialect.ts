/** How a warehouse types columns. */
export interface WarehouseDialect {
  /** The warehouse type of a DuckDB output column (throws WAREHOUSE_SCHEMA when it has none). */
  columnType(table: string, column: string, duckdbType: string): string;
  partitionType(column: { duckdb: string; postgres: string }): string;
  /** Whether a column of type `existing` takes values of type `wanted` without loss. */
  compatible(existing: string, wanted: string): boolean;
}

/**
 * A dialect's `compatible`: a column of type `existing` takes values of type `wanted` when both are the same type
 * (in `normalize`'s spelling) or `existing` is one `wanted` widens to without loss.
 */
export function widensTo(
  normalize: (type: string) => string,
  widens: Readonly<Record<string, readonly string[]>>,
): (existing: string, wanted: string) => boolean {
  return (existing, wanted) => {
    const e = normalize(existing);
    const w = normalize(wanted);
    return e === w || (widens[w]?.includes(e) ?? false);
  };
}
