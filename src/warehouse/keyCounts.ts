import { ident } from '../engine/sql.ts';
import { quoteTable } from './typeMap.ts';
import type { KeyCounts } from './warehouse.ts';

/**
 * SQL (DuckDB and PostgreSQL alike) counting the rows per key of a partition, keeping keys held by at least
 * `atLeast` rows: the `limit` most repeated (key values as text), each row carrying how many such keys there are
 * in all and how many rows they hold, so one bounded query says "20 keys duplicated" and names five.
 */
export function keyCountsSql(
  table: string,
  predicate: string,
  keys: readonly string[],
  text: 'VARCHAR' | 'text',
  atLeast: number,
  limit: number,
): string {
  const shown = keys.map((k, i) => `CAST(${ident(k)} AS ${text}) AS __k${i}`).join(', ');
  const order = keys.map((_, i) => `__k${i}`).join(', ');
  return `SELECT ${order}, __n, count(*) OVER () AS __keys, sum(__n) OVER () AS __rows
    FROM (SELECT ${shown}, count(*) AS __n FROM ${quoteTable(table)} WHERE ${predicate} GROUP BY ${keys.map(ident).join(', ')} HAVING count(*) >= ${atLeast}) d
    ORDER BY __n DESC, ${order} LIMIT ${Math.max(1, limit)}`;
}

/** The rows of keyCountsSql as KeyCounts (counts come back as text or numbers, depending on the engine). */
export function keyCountsOf(
  rows: readonly Record<string, unknown>[],
  keys: readonly string[],
  limit: number,
): KeyCounts {
  const sample = rows.slice(0, limit).map((r) => ({
    key: Object.fromEntries(keys.map((k, i) => [k, (r[`__k${i}`] as string | null) ?? null])),
    count: Number(r.__n),
  }));
  return { keys: rows.length ? Number(rows[0]!.__keys) : 0, rows: rows.length ? Number(rows[0]!.__rows) : 0, sample };
}
