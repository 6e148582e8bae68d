import type { Column, EngineSession } from '../engine/engine.ts';
import { fileList, ident, lit } from '../engine/sql.ts';
import { RecountError } from '../errors.ts';
import { isFloatType } from '../layout/keys.ts';
import { floatDiffersSql, sideRef, type Tolerance } from './tolerance.ts';
import { detectBadRetry, type BadRetry, type SideSummary } from './badRetry.ts';

/** One side of a diff: a set of Parquet files and the schema its manifest records. */
export interface DiffInput {
  /** How the report names this side: `v3`, `production v2`, `shadow v1`. */
  readonly label: string;
  readonly files: readonly string[];
  readonly schema: readonly Column[];
}

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

/** A row-level comparison of two sides joined on the keys. */
export interface DiffReport {
  readonly keys: string[];
  readonly tolerance: Tolerance;
  readonly from: SideSummary;
  readonly to: SideSummary;
  /** Keys only in `to`. */
  readonly added: number;
  /** Keys only in `from`. */
  readonly removed: number;
  /** Keys once on each side whose row differs beyond the tolerance in some column. */
  readonly changed: number;
  /** Keys once on each side whose rows are equal within the tolerance. */
  readonly unchanged: number;
  readonly columns: ColumnChange[];
  readonly schema: {
    onlyFrom: Column[];
    onlyTo: Column[];
    typeChanged: { column: string; from: string; to: string }[];
  };
  /** The tell-tale of a bad retry: as many keys duplicated on one side as are missing from it. */
  readonly badRetry: BadRetry | undefined;
  readonly samples: {
    added: Record<string, unknown>[];
    removed: Record<string, unknown>[];
    duplicated: Record<string, unknown>[];
    changed: ChangedValue[];
  };
  /** True when anything differs beyond the tolerance: rows added, removed or changed, duplicate keys, or a schema change. */
  readonly differs: boolean;
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL\(\d+,\s*\d+\))$/i;
const FILE_COLUMN = '__recount_file';

function relationSql(input: DiffInput): string {
  if (input.files.length > 0) {
    return `SELECT * EXCLUDE (${ident(FILE_COLUMN)}), parse_filename(${ident(FILE_COLUMN)}) AS ${ident(FILE_COLUMN)} FROM read_parquet(${fileList(input.files)}, filename = ${lit(FILE_COLUMN)}, hive_partitioning = false)`;
  }
  // A side with no files (nothing published yet) is an empty relation with the other side's columns.
  const cols = input.schema.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`);
  return `SELECT ${[...cols, `CAST(NULL AS VARCHAR) AS ${ident(FILE_COLUMN)}`].join(', ')} WHERE false`;
}

function schemaDiff(from: readonly Column[], to: readonly Column[]): DiffReport['schema'] {
  const f = new Map(from.map((c) => [c.name, c.type]));
  const t = new Map(to.map((c) => [c.name, c.type]));
  return {
    onlyFrom: from.filter((c) => !t.has(c.name)),
    onlyTo: to.filter((c) => !f.has(c.name)),
    typeChanged: from
      .filter((c) => t.has(c.name) && t.get(c.name) !== c.type)
      .map((c) => ({ column: c.name, from: c.type, to: t.get(c.name)! })),
  };
}

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

async function summarize(session: EngineSession, view: string, label: string, keyList: string): Promise<SideSummary> {
  const [r] = await session.query<{ rows: string; keys: string; dup_keys: string }>(
    `SELECT (SELECT count(*) FROM ${view}) AS rows,
            (SELECT count(*) FROM (SELECT DISTINCT ${keyList} FROM ${view})) AS keys,
            (SELECT count(*) FROM (SELECT ${keyList} FROM ${view} GROUP BY ALL HAVING count(*) > 1)) AS dup_keys`,
  );
  const rows = Number(r!.rows);
  const distinctKeys = Number(r!.keys);
  return { label, rows, distinctKeys, duplicatedKeys: Number(r!.dup_keys), extraRows: rows - distinctKeys };
}

/**
 * Compare two sets of Parquet files row by row, joined on `keys`: keys only in one side, keys whose values
 * changed (per column, floats within a tolerance), duplicate keys on either side and the bad-retry pattern,
 * with samples. Runs inside the given DuckDB session; leaves temporary views and a table behind in it.
 */
export async function diffRelations(
  session: EngineSession,
  from: DiffInput,
  to: DiffInput,
  opts: { keys: readonly string[]; tolerance: Tolerance; samples?: number },
): Promise<DiffReport> {
  const keys = [...opts.keys];
  const sampleRows = opts.samples ?? 5;
  for (const side of [from, to]) {
    for (const k of keys) {
      if (!side.schema.some((c) => c.name === k)) {
        throw new RecountError('KEY_UNKNOWN', `key '${k}' is not a column of ${side.label}`, {
          subject: `${side.label}: ${k}`,
          hint: `both sides must hold the key columns (${keys.join(', ')}); ${side.label} has ${side.schema.map((c) => c.name).join(', ')}`,
        });
      }
    }
  }
  const keyList = keys.map(ident).join(', ');
  const on = keys.map((k) => `${sideRef('a', k)} IS NOT DISTINCT FROM ${sideRef('b', k)}`).join(' AND ');
  await session.exec(`CREATE OR REPLACE TEMP VIEW __diff_from AS ${relationSql(from)}`);
  await session.exec(`CREATE OR REPLACE TEMP VIEW __diff_to AS ${relationSql(to)}`);
  const fromSummary = await summarize(session, '__diff_from', from.label, keyList);
  const toSummary = await summarize(session, '__diff_to', to.label, keyList);

  const onlyIn = (a: string, b: string) => `SELECT ${keyList} FROM ${a} EXCEPT SELECT ${keyList} FROM ${b}`;
  const [sets] = await session.query<{ added: string; removed: string }>(
    `SELECT (SELECT count(*) FROM (${onlyIn('__diff_to', '__diff_from')})) AS added, (SELECT count(*) FROM (${onlyIn('__diff_from', '__diff_to')})) AS removed`,
  );
  const added = Number(sets!.added);
  const removed = Number(sets!.removed);
  const rowsOf = async (view: string, keysSql: string) =>
    session.query(
      `SELECT r.* EXCLUDE (${ident(FILE_COLUMN)}) FROM ${view} r JOIN (${keysSql} ORDER BY ALL LIMIT ${sampleRows}) x ON ${keys.map((k) => `r.${ident(k)} IS NOT DISTINCT FROM x.${ident(k)}`).join(' AND ')} ORDER BY ${keys.map((k) => `r.${ident(k)}`).join(', ')}`,
    );

  const schema = schemaDiff(from.schema, to.schema);
  const toTypes = new Map(to.schema.map((c) => [c.name, c.type]));
  const compared = from.schema.filter((c) => !keys.includes(c.name) && toTypes.has(c.name));
  const unique = (view: string) => `SELECT * FROM ${view} QUALIFY count(*) OVER (PARTITION BY ${keyList}) = 1`;
  const pairCols = compared.flatMap((c, i) => {
    const toType = toTypes.get(c.name)!;
    return [
      `${sideRef('a', c.name)} AS f${i}`,
      `${sideRef('b', c.name)} AS t${i}`,
      `${differsSql(c.name, c.type, toType, opts.tolerance)} AS d${i}`,
      `(CAST(${sideRef('a', c.name)} AS VARCHAR) IS DISTINCT FROM CAST(${sideRef('b', c.name)} AS VARCHAR)) AS e${i}`,
    ];
  });
  await session.exec(
    `CREATE OR REPLACE TEMP TABLE __diff_pairs AS SELECT ${[...keys.map((k) => sideRef('a', k)), ...pairCols].join(', ')} FROM (${unique('__diff_from')}) a JOIN (${unique('__diff_to')}) b ON ${on}`,
  );
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
    `SELECT ${aggregates.join(', ')} FROM __diff_pairs`,
  );
  const pairs = Number(agg!.pairs);
  const changed = Number(agg!.changed);
  const columns: ColumnChange[] = compared.map((c, i) => ({
    column: c.name,
    type: c.type === toTypes.get(c.name) ? c.type : `${c.type} -> ${toTypes.get(c.name)}`,
    float: isFloatType(c.type) || isFloatType(toTypes.get(c.name)!),
    changed: Number(agg![`c${i}`]),
    differentBits: Number(agg![`b${i}`]),
    maxAbsDiff: agg![`m${i}`] === null || agg![`m${i}`] === undefined ? null : Number(agg![`m${i}`]),
  }));

  const changedSamples: ChangedValue[] = [];
  for (const [i, c] of compared.entries()) {
    if (columns[i]!.changed === 0) continue;
    const rows = await session.query<Record<string, unknown>>(
      `SELECT ${keyList}, f${i} AS __from, t${i} AS __to FROM __diff_pairs WHERE d${i} ORDER BY ${keyList} LIMIT ${sampleRows}`,
    );
    for (const r of rows) {
      const { __from, __to, ...key } = r;
      changedSamples.push({ key, column: c.name, from: __from, to: __to });
    }
  }
  const duplicatedSample = async (view: string, label: string) =>
    (
      await session.query(
        `SELECT ${keyList}, count(*) AS copies, list(DISTINCT ${ident(FILE_COLUMN)} ORDER BY ${ident(FILE_COLUMN)}) AS files FROM ${view} GROUP BY ALL HAVING count(*) > 1 ORDER BY ${keyList} LIMIT ${sampleRows}`,
      )
    ).map((r) => ({ side: label, ...r }));

  const badRetry = detectBadRetry(fromSummary, toSummary, added, removed);
  const differs =
    added > 0 ||
    removed > 0 ||
    changed > 0 ||
    fromSummary.extraRows > 0 ||
    toSummary.extraRows > 0 ||
    schema.onlyFrom.length + schema.onlyTo.length + schema.typeChanged.length > 0;
  return {
    keys,
    tolerance: opts.tolerance,
    from: fromSummary,
    to: toSummary,
    added,
    removed,
    changed,
    unchanged: pairs - changed,
    columns,
    schema,
    badRetry,
    samples: {
      added: added ? await rowsOf('__diff_to', onlyIn('__diff_to', '__diff_from')) : [],
      removed: removed ? await rowsOf('__diff_from', onlyIn('__diff_from', '__diff_to')) : [],
      duplicated: [
        ...(fromSummary.extraRows ? await duplicatedSample('__diff_from', from.label) : []),
        ...(toSummary.extraRows ? await duplicatedSample('__diff_to', to.label) : []),
      ],
      changed: changedSamples,
    },
    differs,
  };
}
