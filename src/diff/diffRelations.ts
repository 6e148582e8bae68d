import type { Column, EngineSession } from '../engine/engine.ts';
import { fileList, ident, lit } from '../engine/sql.ts';
import { RecountError } from '../errors.ts';
import type { Tolerance } from './tolerance.ts';
import { detectBadRetry, type BadRetry, type SideSummary } from './badRetry.ts';
import { type ChangedValue, type ColumnChange, compareColumns } from './columnChanges.ts';

export type { ChangedValue, ColumnChange } from './columnChanges.ts';

/** One side of a diff: a set of Parquet files and the schema its manifest records. */
export interface DiffInput {
  /** How the report names this side: `v3`, `production v2`, `shadow v1`. */
  readonly label: string;
  readonly files: readonly string[];
  readonly schema: readonly Column[];
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

const FROM_VIEW = '__diff_from';
const TO_VIEW = '__diff_to';

/** Options of a diff: the key columns, the float tolerance, and sample rows per kind of difference (5). */
export interface DiffOptions {
  readonly keys: readonly string[];
  readonly tolerance: Tolerance;
  readonly samples?: number;
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
  opts: DiffOptions,
): Promise<DiffReport> {
  const keys = [...opts.keys];
  const sampleRows = opts.samples ?? 5;
  assertKeyColumns(from, keys);
  assertKeyColumns(to, keys);
  const keyList = keys.map(ident).join(', ');
  await session.exec(`CREATE OR REPLACE TEMP VIEW ${FROM_VIEW} AS ${relationSql(from)}`);
  await session.exec(`CREATE OR REPLACE TEMP VIEW ${TO_VIEW} AS ${relationSql(to)}`);
  const fromSummary = await summarize(session, FROM_VIEW, from.label, keyList);
  const toSummary = await summarize(session, TO_VIEW, to.label, keyList);
  const onlyIn = (a: string, b: string) => `SELECT ${keyList} FROM ${a} EXCEPT SELECT ${keyList} FROM ${b}`;
  const [sets] = await session.query<{ added: string; removed: string }>(
    `SELECT (SELECT count(*) FROM (${onlyIn(TO_VIEW, FROM_VIEW)})) AS added, (SELECT count(*) FROM (${onlyIn(FROM_VIEW, TO_VIEW)})) AS removed`,
  );
  const added = Number(sets!.added);
  const removed = Number(sets!.removed);
  const schema = schemaDiff(from.schema, to.schema);
  const comparison = await compareColumns(session, {
    views: { from: FROM_VIEW, to: TO_VIEW },
    from: from.schema,
    to: to.schema,
    keys,
    tolerance: opts.tolerance,
    sampleRows,
  });
  const samples = new SideSamples(session, keys, sampleRows);
  return {
    keys,
    tolerance: opts.tolerance,
    from: fromSummary,
    to: toSummary,
    added,
    removed,
    changed: comparison.changed,
    unchanged: comparison.pairs - comparison.changed,
    columns: comparison.columns,
    schema,
    badRetry: detectBadRetry(fromSummary, toSummary, added, removed),
    samples: {
      added: added ? await samples.rows(TO_VIEW, onlyIn(TO_VIEW, FROM_VIEW)) : [],
      removed: removed ? await samples.rows(FROM_VIEW, onlyIn(FROM_VIEW, TO_VIEW)) : [],
      duplicated: [
        ...(fromSummary.extraRows ? await samples.duplicated(FROM_VIEW, from.label) : []),
        ...(toSummary.extraRows ? await samples.duplicated(TO_VIEW, to.label) : []),
      ],
      changed: comparison.samples,
    },
    differs:
      added > 0 ||
      removed > 0 ||
      comparison.changed > 0 ||
      fromSummary.extraRows > 0 ||
      toSummary.extraRows > 0 ||
      schema.onlyFrom.length + schema.onlyTo.length + schema.typeChanged.length > 0,
  };
}

function assertKeyColumns(side: DiffInput, keys: readonly string[]): void {
  for (const k of keys) {
    if (!side.schema.some((c) => c.name === k)) {
      throw new RecountError('KEY_UNKNOWN', `key '${k}' is not a column of ${side.label}`, {
        subject: `${side.label}: ${k}`,
        hint: `both sides must hold the key columns (${keys.join(', ')}); ${side.label} has ${side.schema.map((c) => c.name).join(', ')}`,
      });
    }
  }
}

/** Sample rows of one side, by key order: the rows of some keys, or keys held more than once with their files. */
class SideSamples {
  private readonly keyList: string;

  constructor(
    private readonly session: EngineSession,
    private readonly keys: readonly string[],
    private readonly sampleRows: number,
  ) {
    this.keyList = keys.map(ident).join(', ');
  }

  /** The rows of `view` whose keys are the first `sampleRows` of `keysSql`. */
  rows(view: string, keysSql: string): Promise<Record<string, unknown>[]> {
    const on = this.keys.map((k) => `r.${ident(k)} IS NOT DISTINCT FROM x.${ident(k)}`).join(' AND ');
    return this.session.query(
      `SELECT r.* EXCLUDE (${ident(FILE_COLUMN)}) FROM ${view} r JOIN (${keysSql} ORDER BY ALL LIMIT ${this.sampleRows}) x ON ${on} ORDER BY ${this.keys.map((k) => `r.${ident(k)}`).join(', ')}`,
    );
  }

  /** Keys of `view` held more than once: how many copies, in which files. */
  async duplicated(view: string, label: string): Promise<Record<string, unknown>[]> {
    const rows = await this.session.query(
      `SELECT ${this.keyList}, count(*) AS copies, list(DISTINCT ${ident(FILE_COLUMN)} ORDER BY ${ident(FILE_COLUMN)}) AS files FROM ${view} GROUP BY ALL HAVING count(*) > 1 ORDER BY ${this.keyList} LIMIT ${this.sampleRows}`,
    );
    return rows.map((r) => ({ side: label, ...r }));
  }
}
