import type { Column, EngineSession } from '../engine/engine.ts';
import { groupByKeys, isFloatType, parseSql } from '../layout/keys.ts';
import type { LintFinding } from './lintFinding.ts';
import { type LintContext, lintNode } from './lintRules.ts';
import { type SqlNode, walkSqlTree } from './sqlTree.ts';

export type { LintFinding, LintRule } from './lintFinding.ts';

/**
 * Lint an analyzer's SQL with DuckDB's own parser (json_serialize_sql) for what makes a rerun disagree with
 * the published rows: nondeterministic functions (setseed() does not rescue random() beyond one thread), LIMIT
 * or DISTINCT ON without ORDER BY, an ORDER BY before LIMIT that may tie, row-numbering and row-picking window
 * functions without ORDER BY, sampling without a seed, order-dependent and approximate aggregates, FLOAT/DOUBLE
 * keys (given the query's output columns), and SELECT * over input datasets whose schema may drift.
 */
export async function lintSql(
  session: EngineSession,
  opts: { sql: string; file: string; inputs: readonly string[]; keys?: readonly string[]; columns?: readonly Column[] },
): Promise<LintFinding[]> {
  const { sql } = opts;
  const root = (await parseSql(session, sql, opts.file)) as SqlNode | undefined;
  const findings: LintFinding[] = [];
  const ctx: LintContext = {
    sql,
    inputs: new Set(opts.inputs),
    keys: opts.keys,
    cteNames: new Set<string>(),
    seeded: JSON.stringify(root ?? null).includes('"function_name":"setseed"'),
    add: (f) => {
      if (!findings.some((x) => x.rule === f.rule && x.line === f.line && x.message === f.message)) findings.push(f);
    },
  };
  walkSqlTree(root, (n) => lintNode(n, ctx));
  if (opts.columns) {
    const keys = opts.keys ?? (await groupByKeys(session, root as never, opts.columns));
    const types = new Map(opts.columns.map((c) => [c.name, c.type]));
    for (const k of keys ?? []) {
      const type = types.get(k);
      if (type && isFloatType(type)) {
        ctx.add({
          rule: 'float-key',
          severity: 'error',
          message: `key column '${k}' is ${type}: a float recomputed in another order changes in its last bits, so the key is not stable across reruns (SPARK-23207); cast it to DECIMAL or BIGINT, or leave it out of the keys`,
        });
      }
    }
  }
  return findings;
}
