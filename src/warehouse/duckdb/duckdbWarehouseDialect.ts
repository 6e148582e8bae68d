import { type WarehouseDialect, widensTo } from '../dialect.ts';
import type { MetaTypes } from '../recountTables.ts';
import { mapType } from '../typeMap.ts';

// Values of the key type fit the value types without loss: a column may keep a wider type than a new version's.
const WIDENS: Record<string, readonly string[]> = {
  TINYINT: ['SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'],
  SMALLINT: ['INTEGER', 'BIGINT', 'HUGEINT'],
  INTEGER: ['BIGINT', 'HUGEINT'],
  BIGINT: ['HUGEINT'],
  UTINYINT: ['SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'USMALLINT', 'UINTEGER', 'UBIGINT'],
  USMALLINT: ['INTEGER', 'BIGINT', 'HUGEINT', 'UINTEGER', 'UBIGINT'],
  UINTEGER: ['BIGINT', 'HUGEINT', 'UBIGINT'],
  UBIGINT: ['HUGEINT'],
  FLOAT: ['DOUBLE'],
};

/** DuckDB types: the output's own (ENUM as VARCHAR); integers and floats may widen, nothing else changes. */
export const duckdbDialect: WarehouseDialect = {
  columnType: (_table, _column, type) => mapType(type).duckdb,
  partitionType: (c) => c.duckdb,
  compatible: widensTo((type) => type.toUpperCase().replace(/\s+/g, ' '), WIDENS),
};

/** recount_loads and recount_tables in DuckDB's spelling. */
export const DUCKDB_META_TYPES: MetaTypes = {
  text: 'VARCHAR',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  timestamptz: 'TIMESTAMPTZ',
};

/** loaded_at as ISO text in UTC. */
export const DUCKDB_LOADED_AT_ISO = `strftime(loaded_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`;

/** `schema.table` split; a bare name is in DuckDB's default schema, main. */
export function splitName(table: string): { schema: string; name: string } {
  const [a, b] = table.split('.');
  return b === undefined ? { schema: 'main', name: a! } : { schema: a!, name: b };
}
