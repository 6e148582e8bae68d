import type { EngineSession } from '../engine/engine.ts';
import { subquery } from '../engine/queryText.ts';
import type { CheckDefinition } from '../config/schema.ts';
import { engineResourceError } from '../engine/resourceError.ts';
import type { BuiltinCheckSql } from './checkSql.ts';

/** What every check counted over the staged files. */
export interface CheckCounts {
  readonly inFiles: number;
  readonly readBack: number;
  readonly nullKeys: number;
  readonly misplaced: number;
  readonly repeated: number;
  /** The failing rows of each custom check; undefined when the checks together failed to run, to be counted one by one. */
  readonly custom: readonly number[] | undefined;
}

type Row = { what: string; n0: unknown; n1: unknown; n2: unknown; n3: unknown };

/** One UNION ALL branch: a tag and up to four counts, the rest NULL, so every branch has the same columns. */
function branch(what: string, from: string, counts: readonly string[]): string {
  const cols = [0, 1, 2, 3].map((i) => `${counts[i] ?? 'CAST(NULL AS BIGINT)'} AS n${i}`);
  return `SELECT '${what}' AS what, ${cols.join(', ')} FROM ${from}`;
}

/**
 * Every count as rows of one UNION ALL statement, never scalar subqueries: one statement is one plan and one
 * round trip on DuckDB, and on Spark one job (a scalar subquery is a Spark job of its own, each a second or more).
 */
function countsSql(sql: BuiltinCheckSql, checks: readonly CheckDefinition[], inFiles: boolean): string {
  return [
    branch('builtin', `(${sql.counts}) b`, ['read_back', 'nulls', 'layout', 'repeated']),
    ...(inFiles ? [branch('in_files', `(${sql.inFiles}) f`, ['in_files'])] : []),
    ...checks.map((c, i) => branch(`custom${i}`, `(SELECT count(*) AS c FROM ${subquery(c.sql)} q) c`, ['c'])),
  ].join('\nUNION ALL\n');
}

function toCounts(rows: readonly Row[], checks: number | undefined, inFiles: number | undefined): CheckCounts {
  const byTag = new Map(rows.map((r) => [r.what, r]));
  const n = (what: string, col: 'n0' | 'n1' | 'n2' | 'n3') => Number(byTag.get(what)?.[col] ?? 0);
  return {
    inFiles: inFiles ?? n('in_files', 'n0'),
    readBack: n('builtin', 'n0'),
    nullKeys: n('builtin', 'n1'),
    misplaced: n('builtin', 'n2'),
    repeated: n('builtin', 'n3'),
    custom: checks === undefined ? undefined : Array.from({ length: checks }, (_, i) => n(`custom${i}`, 'n0')),
  };
}

/**
 * Count the built-in checks and every custom check in one statement. When that fails with custom checks in it, one
 * of them is broken: the built-in counts are taken alone and the custom checks are left to be run one by one, so
 * the broken one is named. Out of memory or disk fails the attempt (it is retried), never a check. `inFiles`, the
 * rows the files' metadata records when already read from it, is not counted again.
 */
export async function countChecks(
  session: EngineSession,
  sql: BuiltinCheckSql,
  checks: readonly CheckDefinition[],
  inFiles?: number,
): Promise<CheckCounts> {
  const counted = inFiles === undefined;
  try {
    return toCounts(await session.query<Row>(countsSql(sql, checks, counted)), checks.length, inFiles);
  } catch (err) {
    if (!checks.length) throw err;
    const names = checks.map((c) => `'${c.name}'`).join(', ');
    const resource = engineResourceError(err, 'checks', `${checks.length === 1 ? 'check' : 'checks'} ${names}`);
    if (resource) throw resource;
    return toCounts(await session.query<Row>(countsSql(sql, [], counted)), undefined, inFiles);
  }
}
