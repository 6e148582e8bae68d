import type { LintFinding } from './lintFinding.ts';
import { describeOrders, orderIsUnique } from './orderUniqueness.ts';
import { hasOrderBy, type SqlNode } from './sqlTree.ts';

/** Functions whose value changes from run to run (or within a run), whatever the input. */
export const NONDETERMINISTIC_FUNCTIONS: ReadonlySet<string> = new Set([
  'random',
  'rand',
  'uuid',
  'uuidv4',
  'uuidv7',
  'gen_random_uuid',
  'now',
  'today',
  'current_date',
  'current_time',
  'current_timestamp',
  'current_localtime',
  'current_localtimestamp',
  'localtime',
  'localtimestamp',
  'get_current_time',
  'get_current_timestamp',
  'transaction_timestamp',
  'statement_timestamp',
  'epoch_ms_now',
  'nextval',
  'currval',
]);

/** Special forms that parse as column references (`SELECT current_timestamp`) but read the clock. */
const CLOCK_KEYWORDS: ReadonlySet<string> = new Set([
  'current_date',
  'current_time',
  'current_timestamp',
  'localtime',
  'localtimestamp',
]);

/**
 * Window functions whose value for a row depends on the order of rows in its window: without an ORDER BY in
 * OVER (...), that order is whatever the scan produced. (rank, dense_rank, percent_rank and cume_dist without
 * one treat every row as a peer and are stable.)
 */
const ORDER_SENSITIVE_WINDOWS: ReadonlySet<string> = new Set([
  'row_number',
  'ntile',
  'lag',
  'lead',
  'first_value',
  'last_value',
  'nth_value',
  'fill',
]);

/**
 * Approximate aggregates whose sketch depends on the order rows are added in (t-digest, reservoir sampling,
 * space-saving): measured here, their result changes with the thread count. approx_count_distinct's HyperLogLog
 * merges in any order to the same answer and is not listed.
 */
const APPROXIMATE_AGGREGATES: ReadonlySet<string> = new Set(['approx_quantile', 'reservoir_quantile', 'approx_top_k']);

/** Aggregates whose result depends on the order rows arrive in, which differs between runs and thread counts. */
const ORDER_DEPENDENT_AGGREGATES: ReadonlySet<string> = new Set([
  'first',
  'last',
  'any_value',
  'arbitrary',
  'list',
  'array_agg',
  'string_agg',
  'group_concat',
  'listagg',
]);

/** What the rules know while they walk one statement, and where they report. */
export interface LintContext {
  readonly sql: string;
  readonly inputs: ReadonlySet<string>;
  readonly keys?: readonly string[];
  /** Names of the CTEs seen so far: a CTE named like an input is not that input. */
  readonly cteNames: Set<string>;
  /** True when the statement calls setseed() anywhere. */
  readonly seeded: boolean;
  readonly add: (f: LintFinding) => void;
}

/** 1-based line of the SQL at a parser location, when the parser gave one. */
export function lineOf(sql: string, location: unknown): number | undefined {
  if (typeof location !== 'number' || location < 0 || location > sql.length) return undefined;
  return sql.slice(0, location).split('\n').length;
}

/** Base tables a FROM clause reads directly (through joins, not through subqueries): name and alias. */
function baseTables(from: unknown): { name: string; alias: string }[] {
  if (!from || typeof from !== 'object') return [];
  const f = from as SqlNode;
  if (f.type === 'BASE_TABLE') return [{ name: String(f.table_name), alias: String(f.alias ?? '') }];
  if (f.type === 'JOIN') return [...baseTables(f.left), ...baseTables(f.right)];
  return [];
}

function ctesOf(node: SqlNode): Set<string> {
  const map = (node.cte_map as { map?: { key: string }[] } | undefined)?.map ?? [];
  return new Set(map.map((m) => m.key));
}

/** Apply every rule to one node of the tree (its children are visited after it). */
export function lintNode(n: SqlNode, ctx: LintContext): void {
  const line = lineOf(ctx.sql, n.query_location);
  if (n.cte_map) for (const name of ctesOf(n)) ctx.cteNames.add(name);
  if (Array.isArray(n.modifiers)) lintModifiers(n, n.modifiers as SqlNode[], ctx);
  if (n.sample && typeof n.sample === 'object') {
    const seed = Number((n.sample as SqlNode).seed ?? -1);
    if (!(seed >= 0))
      ctx.add({
        rule: 'sample-without-seed',
        severity: 'error',
        line,
        message: 'USING SAMPLE / TABLESAMPLE without REPEATABLE (seed) picks different rows on every run',
      });
  }
  if (n.class === 'FUNCTION' || n.class === 'WINDOW') lintFunction(n, line, ctx);
  if (n.class === 'COLUMN_REF') {
    const names = n.column_names as string[] | undefined;
    if (names?.length === 1 && CLOCK_KEYWORDS.has(names[0]!.toLowerCase())) {
      ctx.add({
        rule: 'nondeterministic-function',
        severity: 'error',
        line,
        message: `${names[0]} reads the clock: a rerun would not reproduce the published rows`,
      });
    }
  }
  if (n.type === 'SELECT_NODE') lintSelectStar(n, ctx);
}

/** LIMIT without ORDER BY or with one that may tie, DISTINCT ON without ORDER BY. */
function lintModifiers(n: SqlNode, mods: SqlNode[], ctx: LintContext): void {
  const orders = (mods.find((m) => m.type === 'ORDER_MODIFIER')?.orders as SqlNode[] | undefined) ?? [];
  const ordered = orders.length > 0;
  const limit = mods.find((m) => m.type === 'LIMIT_MODIFIER' || m.type === 'LIMIT_PERCENT_MODIFIER');
  const limitLine = lineOf(ctx.sql, (limit?.limit as SqlNode | undefined)?.query_location);
  if (!ordered && limit) {
    ctx.add({
      rule: 'limit-without-order',
      severity: 'error',
      line: limitLine,
      message:
        'LIMIT without ORDER BY keeps an arbitrary subset of rows, which can differ between runs and thread counts; add an ORDER BY over a unique set of columns',
    });
  } else if (limit && !orderIsUnique(n, orders, ctx.keys)) {
    const by = describeOrders(orders);
    ctx.add({
      rule: 'limit-order-not-unique',
      severity: 'warning',
      line: limitLine,
      message: `ORDER BY ${by} with LIMIT: rows that tie on ${by} may be kept or cut differently between runs and thread counts; order by a set of columns that is unique (every GROUP BY column, or the keys)`,
    });
  }
  const distinctOn = mods.find(
    (m) => m.type === 'DISTINCT_MODIFIER' && Array.isArray(m.distinct_on_targets) && m.distinct_on_targets.length > 0,
  );
  if (!ordered && distinctOn) {
    ctx.add({
      rule: 'distinct-on-without-order',
      severity: 'error',
      message:
        'DISTINCT ON without ORDER BY keeps an arbitrary row of each group, which can differ between runs; add an ORDER BY that decides which row wins',
    });
  }
}

/** Nondeterministic functions, unordered row-numbering windows, approximate and order-dependent aggregates. */
function lintFunction(n: SqlNode, line: number | undefined, ctx: LintContext): void {
  const fn = String(n.function_name ?? '').toLowerCase();
  const windowOrders =
    n.class === 'WINDOW'
      ? [...((n.orders as unknown[] | undefined) ?? []), ...((n.arg_orders as unknown[] | undefined) ?? [])]
      : [];
  if (NONDETERMINISTIC_FUNCTIONS.has(fn)) {
    const seedNote =
      (fn === 'random' || fn === 'rand') && ctx.seeded
        ? ' (setseed() does not fix that: it makes random() repeat its sequence only when one thread runs the query; with more threads the rows draw their values in another order)'
        : '';
    ctx.add({
      rule: 'nondeterministic-function',
      severity: 'error',
      line,
      message: `${fn}() returns a different value on every run: a rerun would not reproduce the published rows${seedNote}`,
    });
  } else if (n.class === 'WINDOW' && ORDER_SENSITIVE_WINDOWS.has(fn) && !windowOrders.length) {
    ctx.add({
      rule: 'window-without-order',
      severity: 'error',
      line,
      message: `${fn}() OVER (...) without ORDER BY numbers or picks rows in whatever order the scan produced, which differs between runs and thread counts; add an ORDER BY over a unique set of columns inside OVER (...)`,
    });
  } else if (APPROXIMATE_AGGREGATES.has(fn)) {
    ctx.add({
      rule: 'approximate-aggregate',
      severity: 'warning',
      line,
      message: `${fn}() is approximate and its answer depends on the order rows are added in, which differs between thread counts: a rerun may publish another value; use an exact aggregate (quantile_cont, quantile_disc, a count with ORDER BY … LIMIT) if the value must be stable`,
    });
  } else if (ORDER_DEPENDENT_AGGREGATES.has(fn) && (n.class === 'FUNCTION' ? !hasOrderBy(n) : !windowOrders.length)) {
    ctx.add({
      rule: 'order-dependent-aggregate',
      severity: 'warning',
      line,
      message: `${fn}() without ORDER BY depends on the order rows arrive in, which differs between runs and thread counts; write ${fn}(... ORDER BY ...)`,
    });
  }
}

/** SELECT * (or COLUMNS(*)) straight over an input dataset, whose schema may drift upstream. */
function lintSelectStar(n: SqlNode, ctx: LintContext): void {
  const stars = ((n.select_list as SqlNode[] | undefined) ?? []).filter((s) => s.class === 'STAR');
  const tables = baseTables(n.from_table).filter((t) => ctx.inputs.has(t.name) && !ctx.cteNames.has(t.name));
  for (const star of stars) {
    const rel = String(star.relation_name ?? '');
    const over = rel ? tables.filter((t) => t.alias === rel || (!t.alias && t.name === rel)) : tables;
    for (const t of over) {
      ctx.add({
        rule: 'select-star',
        severity: 'warning',
        line: lineOf(ctx.sql, star.query_location),
        message: `SELECT ${star.columns ? 'COLUMNS(*)' : '*'} over input '${t.name}': a column added or retyped upstream changes this analyzer's output without a change to its SQL; name the columns`,
      });
    }
  }
}
