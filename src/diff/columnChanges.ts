import type { Column, EngineSession } from '../engine/engine.ts';
import { ident } from '../engine/sql.ts';
import { isFloatType } from '../layout/keys.ts';
import { floatDiffersSql, sideRef, type Tolerance } from './tolerance.ts';

/** How one column's values changed between the sides, over keys present once on each side. */
export interface ColumnChange {
  readonly column: string;
  readonly type: string;
  readonly float: boolean;
  /** Keys whose value differs beyond the tolerance (floats) or at all (everything else). */
  readonly changed: number;
  /** Keys whose value differs in any bit, within tolerance or not. */
  readonly differentBits: number;
  /** Largest absolute difference among differing numeric values, if the column is numeric. */
  readonly maxAbsDiff: number | null;
}

/** One changed value, for the sample. */
export interface ChangedValue {
  readonly key: Record<string, unknown>;
  readonly column: string;
  readonly from: unknown;
  readonly to: unknown;
}

/** The column-by-column comparison of the keys present once on each side. */
export interface ColumnComparison {
  /** Keys present once on each side. */
  readonly pairs: number;
  /** Pairs whose row differs beyond the tolerance in some column. */
  readonly changed: number;
  readonly columns: ColumnChange[];
  readonly samples: ChangedValue[];
}

/** What to compare: the two sides' views and schemas, the key columns, the tolerance, samples per column. */
export interface ColumnComparisonRequest {
  readonly views: { readonly from: string; readonly to: string };
  readonly from: readonly Column[];
  readonly to: readonly Column[];
  readonly keys: readonly string[];
  readonly tolerance: Tolerance;
  readonly sampleRows: number;
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL\(\d+,\s*\d+\))$/i;
const PAIRS_TABLE = '__diff_pairs';

/** SQL true when column `c` differs between sides `a` and `b` beyond the tolerance, given each side's type. */
function differsSql(c: string, fromType: string, toType: string, tol: Tolerance): string {
  const a = sideRef('a', c);
  const b = sideRef('b', c);
  if (isFloatType(fromType) || isFloatType(toType)) {
    if (NUMERIC.test(fromType) && NUMERIC.test(toType))
      return floatDiffersSql(`CAST(${a} AS DOUBLE)`, `CAST(${b} AS DOUBLE)`, tol);
  }
  if (fromType === toType || (NUMERIC.test(fromType) && NUMERIC.test(toType))) return `(${a} IS DISTINCT FROM ${b})`;
  return `(CAST(${a} AS VARCHAR) IS DISTINCT FROM CAST(${b} AS VARCHAR))`;
}

/**
 * Compare the non-key columns both sides have, over keys present once on each side: per column how many values
 * changed (beyond the tolerance) or differ in any bit and by how much at most, with samples. Leaves a table behind.
 */
export async function compareColumns(session: EngineSession, req: ColumnComparisonRequest): Promise<ColumnComparison> {
  const toTypes = new Map(req.to.map((c) => [c.name, c.type]));
  const compared = req.from.filter((c) => !req.keys.includes(c.name) && toTypes.has(c.name));
  await createPairsTable(session, req, compared, toTypes);
  const anyChanged = compared.length ? compared.map((_, i) => `d${i}`).join(' OR ') : 'false';
  const numeric = (c: Column) => NUMERIC.test(c.type) && NUMERIC.test(toTypes.get(c.name)!);
  const aggregates = [
    'count(*) AS pairs',
    `count(*) FILTER (WHERE ${anyChanged}) AS changed`,
    ...compared.flatMap((c, i) => [
      `count(*) FILTER (WHERE d${i}) AS c${i}`,
      `count(*) FILTER (WHERE e${i}) AS b${i}`,
      numeric(c)
        ? `max(abs(CAST(f${i} AS DOUBLE) - CAST(t${i} AS DOUBLE))) FILTER (WHERE e${i}) AS m${i}`
        : `NULL AS m${i}`,
    ]),
  ];
  const [agg] = await session.query<Record<string, string | number | null>>(
    `SELECT ${aggregates.join(', ')} FROM ${PAIRS_TABLE}`,
  );
  const columns: ColumnChange[] = compared.map((c, i) => ({
    column: c.name,
    type: c.type === toTypes.get(c.name) ? c.type : `${c.type} -> ${toTypes.get(c.name)}`,
    float: isFloatType(c.type) || isFloatType(toTypes.get(c.name)!),
    changed: Number(agg![`c${i}`]),
    differentBits: Number(agg![`b${i}`]),
    maxAbsDiff: agg![`m${i}`] === null || agg![`m${i}`] === undefined ? null : Number(agg![`m${i}`]),
  }));
  const samples = await changedSamples(session, req, compared, columns);
  return { pairs: Number(agg!.pairs), changed: Number(agg!.changed), columns, samples };
}

/** One row per key present once on each side: the key, and per compared column both values and two flags. */
async function createPairsTable(
  session: EngineSession,
  req: ColumnComparisonRequest,
  compared: readonly Column[],
  toTypes: ReadonlyMap<string, string>,
): Promise<void> {
  const keyList = req.keys.map(ident).join(', ');
  const on = req.keys.map((k) => `${sideRef('a', k)} IS NOT DISTINCT FROM ${sideRef('b', k)}`).join(' AND ');
  const unique = (view: string) => `SELECT * FROM ${view} QUALIFY count(*) OVER (PARTITION BY ${keyList}) = 1`;
  const pairCols = compared.flatMap((c, i) => {
    const toType = toTypes.get(c.name)!;
    return [
      `${sideRef('a', c.name)} AS f${i}`,
      `${sideRef('b', c.name)} AS t${i}`,
      `${differsSql(c.name, c.type, toType, req.tolerance)} AS d${i}`,
      `(CAST(${sideRef('a', c.name)} AS VARCHAR) IS DISTINCT FROM CAST(${sideRef('b', c.name)} AS VARCHAR)) AS e${i}`,
    ];
  });
  await session.exec(
    `CREATE OR REPLACE TEMP TABLE ${PAIRS_TABLE} AS SELECT ${[...req.keys.map((k) => sideRef('a', k)), ...pairCols].join(', ')} FROM (${unique(req.views.from)}) a JOIN (${unique(req.views.to)}) b ON ${on}`,
  );
}

/** Up to `sampleRows` changed values of each column that changed, by key order. */
async function changedSamples(
  session: EngineSession,
  req: ColumnComparisonRequest,
  compared: readonly Column[],
  columns: readonly ColumnChange[],
): Promise<ChangedValue[]> {
  const keyList = req.keys.map(ident).join(', ');
  const samples: ChangedValue[] = [];
  for (const [i, c] of compared.entries()) {
    if (columns[i]!.changed === 0) continue;
    const rows = await session.query<Record<string, unknown>>(
      `SELECT ${keyList}, f${i} AS __from, t${i} AS __to FROM ${PAIRS_TABLE} WHERE d${i} ORDER BY ${keyList} LIMIT ${req.sampleRows}`,
    );
    for (const r of rows) {
      const { __from, __to, ...key } = r;
      samples.push({ key, column: c.name, from: __from, to: __to });
    }
  }
  return samples;
}
