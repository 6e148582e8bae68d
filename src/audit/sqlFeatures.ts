import type { EngineSession } from '../engine/engine.ts';
import { parseSql } from '../layout/keys.ts';
import { hasOrderBy, walkSqlTree } from './sqlTree.ts';

/** SQL constructs a known engine bug may need before it can bite (data/known-engine-bugs.json, relevantIf.sqlFeatures). */
export const SQL_FEATURES = ['having', 'join', 'aggregate-filter', 'grouping-sets', 'ordered-aggregate'] as const;

/** One of SQL_FEATURES. */
export type SqlFeature = (typeof SQL_FEATURES)[number];

/** Which of SQL_FEATURES a parsed statement uses (DuckDB's json_serialize_sql tree), anywhere: CTEs and subqueries included. */
export function featuresOfTree(root: unknown): Set<SqlFeature> {
  const found = new Set<SqlFeature>();
  walkSqlTree(root, (n) => {
    if (n.type === 'SELECT_NODE') {
      if (n.having) found.add('having');
      if (Array.isArray(n.group_sets) && n.group_sets.length > 1) found.add('grouping-sets');
    }
    if (n.type === 'JOIN') found.add('join');
    if (n.class === 'FUNCTION') {
      if (n.filter) found.add('aggregate-filter');
      if (hasOrderBy(n)) found.add('ordered-aggregate');
    }
  });
  return found;
}

/** Which of SQL_FEATURES an analyzer's SQL uses, read with DuckDB's own parser. */
export async function sqlFeatures(session: EngineSession, sql: string, file: string): Promise<Set<SqlFeature>> {
  return featuresOfTree(await parseSql(session, sql, file));
}
