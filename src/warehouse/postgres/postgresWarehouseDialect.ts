import { type WarehouseDialect, widensTo } from '../dialect.ts';
import type { MetaTypes } from '../recountTables.ts';
import { postgresType } from '../typeMap.ts';

// A column may keep a wider type than a new version's: these widen without loss.
const WIDENS: Record<string, readonly string[]> = {
  smallint: ['integer', 'bigint'],
  integer: ['bigint'],
  real: ['double precision'],
  text: ['character varying'],
};

const ALIASES: Record<string, string> = {
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
};

/** A PostgreSQL type name in one spelling: format_type's long forms and aliases folded, varchar's length dropped. */
export function normalizePgType(type: string): string {
  const t = type
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*,\s*/g, ',')
    .trim()
    .replace(/^character varying\(\d+\)$/, 'character varying');
  return ALIASES[t] ?? t;
}

/** PostgreSQL types from the documented mapping (typeMap.ts); integers and floats may widen, nothing else changes. */
export const postgresDialect: WarehouseDialect = {
  columnType: (table, column, type) => postgresType(table, column, type),
  partitionType: (c) => c.postgres,
  compatible: widensTo(normalizePgType, WIDENS),
};

/** recount_loads and recount_tables in PostgreSQL's spelling. */
export const PG_META_TYPES: MetaTypes = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  timestamptz: 'timestamptz',
};

/** loaded_at as ISO text in UTC. */
export const PG_LOADED_AT_ISO = `to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Take a transaction-scoped advisory lock on a key ($1); see advisoryLockKey. */
export const ADVISORY_XACT_LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))';

/** The text an advisory lock is keyed on: recount.<kind>:<parts…> (meta, ddl of a table, load of a partition). */
export function advisoryLockKey(kind: string, ...parts: string[]): string {
  return `recount.${kind}:${parts.join(':')}`;
}
