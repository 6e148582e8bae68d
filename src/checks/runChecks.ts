import { join } from 'node:path';
import { subquery } from '../engine/queryText.ts';
import type { EngineSession } from '../engine/engine.ts';
import type { CheckDefinition } from '../config/schema.ts';
import type { StagedFile } from '../layout/bucketing.ts';
import { SAMPLE_ROWS, type CheckResult } from './check.ts';
import { engineResourceError } from '../engine/resourceError.ts';

interface CheckContext {
  readonly session: EngineSession;
  readonly dir: string;
  readonly files: readonly StagedFile[];
  readonly keys: readonly string[];
  readonly checks: readonly CheckDefinition[];
}

async function sample(session: EngineSession, failingSql: string, failing: number): Promise<Record<string, unknown>[]> {
  return failing > 0 ? session.query(`SELECT * FROM ${subquery(failingSql)} LIMIT ${SAMPLE_ROWS}`) : [];
}

async function countAndSample(
  session: EngineSession,
  failingSql: string,
): Promise<{ failing: number; sample: Record<string, unknown>[] }> {
  const [failing] = await countAll(session, [`SELECT count(*) FROM ${subquery(failingSql)}`]);
  return { failing: failing!, sample: await sample(session, failingSql, failing!) };
}

/**
 * Evaluate several scalar count queries in one statement: each statement costs a round trip and a plan,
 * which on a small partition is most of a check's time, so the checks ask DuckDB once, not once each.
 */
async function countAll(session: EngineSession, scalarSqls: readonly string[]): Promise<number[]> {
  if (scalarSqls.length === 0) return [];
  const [row] = await session.query<Record<string, string | number | null>>(
    `SELECT ${scalarSqls.map((q, i) => `(${q}) AS c${i}`).join(', ')}`,
  );
  return scalarSqls.map((_, i) => Number(row?.[`c${i}`] ?? 0));
}

function builtin(name: string, failing: number, sample: Record<string, unknown>[], message: string): CheckResult {
  return {
    name,
    kind: 'builtin',
    severity: 'error',
    passed: failing === 0,
    failing,
    sample,
    message: failing === 0 ? undefined : message,
  };
}

/**
 * Run the blocking built-in checks (row count, unique keys, not-null keys, key layout) and the analyzer's
 * custom checks over the staged files, exposed as the view `output`.
 */
export async function runChecks(ctx: CheckContext): Promise<CheckResult[]> {
  const { session, keys } = ctx;
  const sql = session.dialect;
  const paths = ctx.files.map((f) => join(ctx.dir, f.name));
  await session.createParquetView('output', paths);
  const keyList = keys.map(sql.ident).join(', ');
  const tuple = sql.keyTuple(keys);
  const results: CheckResult[] = [];

  const written = ctx.files.reduce((s, f) => s + f.rows, 0);
  const anyNullKey = keys.map((k) => `${sql.ident(k)} IS NULL`).join(' OR ');
  const dupSql = `SELECT ${keyList}, count(*) AS copies FROM output GROUP BY ${keyList} HAVING count(*) > 1`;
  const nullSql = `SELECT * FROM output WHERE ${anyNullKey}`;
  // I3 as a check: every row sits in the file its key hashes to (the engine's own hash), and rows ascend by key within a file.
  const n = ctx.files.length;
  const flagged = `SELECT *, ${sql.bucketOf(keys, n)} <> __file_index AS misplaced,
                  coalesce(${tuple} < lag(${tuple}) OVER w, false) AS out_of_order,
                  coalesce(${tuple} = lag(${tuple}) OVER w, false) AS repeated
           FROM (${sql.stagedRows(paths)}) staged
           WINDOW w AS (PARTITION BY __file ORDER BY __row)`;
  const layoutSql = `SELECT __file AS file, __row AS row_number, ${keyList}, ${sql.bucketOf(keys, n)} AS expected_file_index, misplaced, out_of_order
     FROM (${flagged}) flagged WHERE misplaced OR out_of_order`;
  // One statement, one pass over the files: row count, NULL keys, layout, and keys equal to the row before them,
  // with every custom check's count beside them (a statement is most of a check's cost on a small partition).
  const builtinSql = `SELECT
      (${sql.fileRowsSql(paths)}) AS in_files,
      s.* FROM (SELECT count(*) AS read_back, count(*) FILTER (WHERE ${anyNullKey}) AS nulls,
                       count(*) FILTER (WHERE misplaced OR out_of_order) AS layout, count(*) FILTER (WHERE repeated) AS repeated FROM (${flagged}) flagged) s`;
  const customCols = ctx.checks.map((c, i) => `, (SELECT count(*) FROM ${subquery(c.sql)}) AS custom${i}`).join('');
  type Counts = Record<string, string | number | null>;
  let counts: Counts | undefined;
  // undefined: the combined statement failed, so one custom check is broken; each is then counted alone to name it.
  let customCounts: number[] | undefined;
  try {
    [counts] = await session.query<Counts>(
      `SELECT * FROM (${builtinSql}) b${customCols ? `, (SELECT 1 AS one${customCols}) c` : ''}`,
    );
    customCounts = ctx.checks.map((_, i) => Number(counts?.[`custom${i}`] ?? 0));
  } catch (err) {
    if (!ctx.checks.length) throw err;
    const names = ctx.checks.map((c) => `'${c.name}'`).join(', ');
    const resource = engineResourceError(err, 'checks', `${ctx.checks.length === 1 ? 'check' : 'checks'} ${names}`);
    if (resource) throw resource;
    [counts] = await session.query<Counts>(builtinSql);
  }
  const [inFiles, read, nullRows, misplaced, repeated] = [
    counts?.in_files,
    counts?.read_back,
    counts?.nulls,
    counts?.layout,
    counts?.repeated,
  ].map((v) => Number(v ?? 0)) as [number, number, number, number, number];
  // Keys all non-NULL, each in the file its hash names and strictly ascending within it: no key can appear twice
  // (equal keys hash alike, so they would share a file and sit side by side). Otherwise count duplicates by GROUP BY.
  const dupKeys =
    nullRows === 0 && misplaced === 0 && repeated === 0
      ? 0
      : (await countAll(session, [`SELECT count(*) FROM (${dupSql})`]))[0]!;

  const rowDiff = Math.max(Math.abs(inFiles - written), Math.abs(read - written));
  results.push(
    builtin(
      'row_count',
      rowDiff,
      rowDiff ? [{ written, in_file_metadata: inFiles, read_back: read }] : [],
      `the engine wrote ${written} rows but the files hold ${inFiles} and read back ${read}`,
    ),
  );
  results.push(
    builtin(
      'unique_keys',
      dupKeys,
      await sample(session, `${dupSql} ORDER BY copies DESC, ${keyList}`, dupKeys),
      `${dupKeys} keys appear more than once (keys: ${keys.join(', ')})`,
    ),
  );
  results.push(
    builtin('not_null_keys', nullRows, await sample(session, nullSql, nullRows), `${nullRows} rows have a NULL key`),
  );
  results.push(
    builtin(
      'key_layout',
      misplaced,
      await sample(session, layoutSql, misplaced),
      `${misplaced} rows are in the wrong file or out of key order`,
    ),
  );

  for (const [i, check] of ctx.checks.entries()) {
    try {
      const counted = customCounts?.[i];
      const r =
        counted === undefined
          ? await countAndSample(session, check.sql)
          : { failing: counted, sample: await sample(session, check.sql, counted) };
      results.push({
        name: check.name,
        kind: 'custom',
        severity: check.severity,
        passed: r.failing === 0,
        failing: r.failing,
        sample: r.sample,
        message:
          r.failing === 0
            ? undefined
            : `${r.failing} rows fail check '${check.name}'${check.description ? ` (${check.description})` : ''}`,
      });
    } catch (err) {
      // Out of memory or disk is not the check failing: the attempt fails (and is retried) instead.
      const resource = engineResourceError(err, `checks.${check.name}`, `check '${check.name}'`);
      if (resource) throw resource;
      results.push({
        name: check.name,
        kind: 'custom',
        severity: 'error',
        passed: false,
        failing: 0,
        sample: [],
        message: `check '${check.name}' could not run: ${(err as Error).message.split('\n')[0]}`,
      });
    }
  }
  return results;
}
