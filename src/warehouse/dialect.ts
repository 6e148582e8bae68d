/** How a warehouse types columns. */
export interface WarehouseDialect {
  /** The warehouse type of a DuckDB output column (throws WAREHOUSE_SCHEMA when it has none). */
  columnType(table: string, column: string, duckdbType: string): string;
  partitionType(column: { duckdb: string; postgres: string }): string;
  /** Whether a column of type `existing` takes values of type `wanted` without loss. */
  compatible(existing: string, wanted: string): boolean;
}
