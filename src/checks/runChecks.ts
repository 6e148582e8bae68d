import { join } from 'node:path';
import { subquery } from '../engine/queryText.ts';
import type { Column, EngineSession } from '../engine/engine.ts';
import type { CheckDefinition } from '../config/schema.ts';
import type { StagedFile } from '../layout/bucketing.ts';
import { SAMPLE_ROWS, type CheckResult } from './check.ts';
import { engineResourceError } from '../engine/resourceError.ts';
import { builtinCheckSql, type BuiltinCheckSql } from './checkSql.ts';
import { countChecks, type CheckCounts } from './checkCounts.ts';

interface CheckContext {
  readonly session: EngineSession;
  readonly dir: string;
  readonly files: readonly StagedFile[];
  readonly keys: readonly string[];
  readonly checks: readonly CheckDefinition[];
  /** The staged files' columns (the query's), when known: an engine that would infer them then need not. */
  readonly columns?: readonly Column[];
  /** The files' rows were read from their own metadata (WrittenLayout.rowsFromFileMetadata): not counted again. */
  readonly rowsFromFileMetadata?: boolean;
}

type Sample = Record<string, unknown>[];

/** The rows a query returns, counted by the engine. */
async function countRows(session: EngineSession, query: string): Promise<number> {
  const [row] = await session.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${subquery(query)} q`);
  return Number(row?.n ?? 0);
}

/** Up to SAMPLE_ROWS failing rows, read only when something failed (a passing check costs no statement). */
async function sample(session: EngineSession, failingSql: string, failing: number): Promise<Sample> {
  return failing > 0 ? session.query(`SELECT * FROM ${subquery(failingSql)} LIMIT ${SAMPLE_ROWS}`) : [];
}

function builtin(name: string, failing: number, sample: Sample, message: string): CheckResult {
  const passed = failing === 0;
  return { name, kind: 'builtin', severity: 'error', passed, failing, sample, message: passed ? undefined : message };
}

/** The blocking built-in checks (row count, unique keys, not-null keys, key layout) from their counts. */
async function builtinResults(ctx: CheckContext, sql: BuiltinCheckSql, c: CheckCounts): Promise<CheckResult[]> {
  const { session, keys } = ctx;
  const written = ctx.files.reduce((s, f) => s + f.rows, 0);
  // Keys all non-NULL, each in the file its hash names and strictly ascending within it: no key can appear twice
  // (equal keys hash alike, so they would share a file and sit side by side). Otherwise count duplicates by GROUP BY.
  const dupKeys =
    c.nullKeys === 0 && c.misplaced === 0 && c.repeated === 0 ? 0 : await countRows(session, sql.duplicates);
  const rowDiff = Math.max(Math.abs(c.inFiles - written), Math.abs(c.readBack - written));
  const keyList = keys.map(session.dialect.ident).join(', ');
  return [
    builtin(
      'row_count',
      rowDiff,
      rowDiff ? [{ written, in_file_metadata: c.inFiles, read_back: c.readBack }] : [],
      `the engine wrote ${written} rows but the files hold ${c.inFiles} and read back ${c.readBack}`,
    ),
    builtin(
      'unique_keys',
      dupKeys,
      await sample(session, `${sql.duplicates} ORDER BY copies DESC, ${keyList}`, dupKeys),
      `${dupKeys} keys appear more than once (keys: ${keys.join(', ')})`,
    ),
    builtin(
      'not_null_keys',
      c.nullKeys,
      await sample(session, sql.nullKeys, c.nullKeys),
      `${c.nullKeys} rows have a NULL key`,
    ),
    builtin(
      'key_layout',
      c.misplaced,
      await sample(session, sql.layout, c.misplaced),
      `${c.misplaced} rows are in the wrong file or out of key order`,
    ),
  ];
}

/** One custom check's result; `counted` is its failing rows when the combined statement counted them. */
async function customResult(
  session: EngineSession,
  check: CheckDefinition,
  counted: number | undefined,
): Promise<CheckResult> {
  try {
    const failing = counted ?? (await countRows(session, check.sql));
    const about = check.description ? ` (${check.description})` : '';
    return {
      name: check.name,
      kind: 'custom',
      severity: check.severity,
      passed: failing === 0,
      failing,
      sample: await sample(session, check.sql, failing),
      message: failing === 0 ? undefined : `${failing} rows fail check '${check.name}'${about}`,
    };
  } catch (err) {
    // Out of memory or disk is not the check failing: the attempt fails (and is retried) instead.
    const resource = engineResourceError(err, `checks.${check.name}`, `check '${check.name}'`);
    if (resource) throw resource;
    const message = `check '${check.name}' could not run: ${(err as Error).message.split('\n')[0]}`;
    return { name: check.name, kind: 'custom', severity: 'error', passed: false, failing: 0, sample: [], message };
  }
}

/**
 * Run the blocking built-in checks (row count, unique keys, not-null keys, key layout) and the analyzer's
 * custom checks over the staged files, exposed as the view `output`. Every count comes from one statement (one
 * Spark job); samples are read only for what failed.
 */
export async function runChecks(ctx: CheckContext): Promise<CheckResult[]> {
  const paths = ctx.files.map((f) => join(ctx.dir, f.name));
  await ctx.session.createParquetView('output', paths, ctx.columns);
  const sql = builtinCheckSql(ctx.session.dialect, paths, ctx.keys);
  const fromMetadata = ctx.rowsFromFileMetadata ? ctx.files.reduce((s, f) => s + f.rows, 0) : undefined;
  const counts = await countChecks(ctx.session, sql, ctx.checks, fromMetadata);
  const results = await builtinResults(ctx, sql, counts);
  for (const [i, check] of ctx.checks.entries())
    results.push(await customResult(ctx.session, check, counts.custom?.[i]));
  return results;
}
