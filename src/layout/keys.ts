import { KeptByKey } from '../keptByKey.ts';
import { RecountError } from '../errors.ts';
import type { Column, EngineSession } from '../engine/engine.ts';
import { lit } from '../engine/sql.ts';

/** Where an analyzer's keys came from. */
export type KeySource = 'declared' | 'group_by' | 'all_columns';

/** The columns that identify an output row, and how they were chosen. */
export interface KeyChoice {
  readonly keys: string[];
  readonly source: KeySource;
  /** Set when recount had to guess: shown to the user. */
  readonly warning?: string;
}

const FLOAT_TYPE = /\b(FLOAT|DOUBLE|REAL|FLOAT4|FLOAT8)\b/i;

/** True for FLOAT/DOUBLE (or a nested type holding one): such a column never identifies a row or chooses a file. */
export function isFloatType(type: string): boolean {
  return FLOAT_TYPE.test(type);
}

type AstNode = Record<string, unknown> & { class?: string; type?: string };

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== 'query_location' && k !== 'alias') out[k] = strip(v);
    return out;
  }
  return node;
}

function containsAggregate(node: unknown, aggregates: ReadonlySet<string>): boolean {
  if (Array.isArray(node)) return node.some((n) => containsAggregate(n, aggregates));
  if (node && typeof node === 'object') {
    const n = node as AstNode;
    if (n.class === 'FUNCTION' && aggregates.has(String(n.function_name))) return true;
    if (n.class === 'WINDOW') return true;
    return Object.values(n).some((v) => containsAggregate(v, aggregates));
  }
  return false;
}

/** Parse trees by parser and SQL text: every partition of an analyzer parses the same SQL (a statement each, else). */
const parsedSql = new KeptByKey<string>(64);

async function serializedSql(session: EngineSession, sql: string): Promise<string> {
  return parsedSql.get(`${session.engine} ${session.version}\0${sql}`, async () => {
    const [row] = await session.query<{ j: string }>(`SELECT json_serialize_sql(${lit(sql)}) AS j`);
    return row!.j;
  });
}

/** Parse SQL with DuckDB's own parser; an unparseable statement is SQL_INVALID with DuckDB's message. */
export async function parseSql(session: EngineSession, sql: string, file: string): Promise<AstNode | undefined> {
  const parsed = JSON.parse(await serializedSql(session, sql)) as {
    error?: boolean;
    error_message?: string;
    statements?: { node: AstNode }[];
  };
  if (parsed.error) {
    throw new RecountError('SQL_INVALID', `${file}: the SQL does not parse: ${parsed.error_message}`, {
      subject: file,
      hint: 'fix the sql field of the analyzer; recount runs exactly one SELECT statement',
    });
  }
  if ((parsed.statements?.length ?? 0) !== 1) {
    throw new RecountError(
      'SQL_INVALID',
      `${file}: the SQL holds ${parsed.statements?.length ?? 0} statements; recount runs exactly one SELECT`,
      {
        subject: file,
        hint: 'put one SELECT (CTEs allowed) in the sql field',
      },
    );
  }
  return parsed.statements![0]!.node;
}

/**
 * The output columns named by the query's top-level GROUP BY, read from DuckDB's parse tree, or
 * undefined when the query has none or it cannot be mapped to output columns (grouping sets, expressions
 * not selected, set operations).
 */
export async function groupByKeys(
  session: EngineSession,
  node: AstNode | undefined,
  columns: readonly Column[],
): Promise<string[] | undefined> {
  if (!node || node.type !== 'SELECT_NODE') return undefined;
  const select = (node.select_list as AstNode[]) ?? [];
  const hasStar = select.some((s) => s.class === 'STAR');
  if (hasStar || select.length !== columns.length) return undefined;
  const sets = (node.group_sets as number[][]) ?? [];
  if (sets.length > 1) return undefined;
  const groups = (node.group_expressions as AstNode[]) ?? [];

  if (node.aggregate_handling === 'FORCE_AGGREGATES') {
    const rows = await session.query<{ name: string }>(
      "SELECT DISTINCT function_name AS name FROM duckdb_functions() WHERE function_type = 'aggregate'",
    );
    const aggregates = new Set(rows.map((r) => r.name));
    const keys = select.flatMap((s, i) => (containsAggregate(s, aggregates) ? [] : [columns[i]!.name]));
    return keys.length ? keys : undefined;
  }
  if (groups.length === 0) return undefined;

  const keys: string[] = [];
  for (const g of groups) {
    let index = -1;
    if (g.class === 'CONSTANT') {
      const v = Number((g.value as { value?: unknown })?.value);
      if (Number.isInteger(v) && v >= 1 && v <= select.length) index = v - 1;
    } else if (g.class === 'COLUMN_REF') {
      const name = (g.column_names as string[]).at(-1);
      index = select.findIndex((s) => s.alias === name);
      if (index < 0)
        index = select.findIndex(
          (s) => s.alias === '' && s.class === 'COLUMN_REF' && (s.column_names as string[]).at(-1) === name,
        );
    }
    if (index < 0) {
      const want = JSON.stringify(strip(g));
      index = select.findIndex((s) => JSON.stringify(strip(s)) === want);
    }
    if (index < 0) return undefined;
    keys.push(columns[index]!.name);
  }
  return [...new Set(keys)];
}

/**
 * Choose the keys of an analyzer's output: declared, else the top-level GROUP BY, else every non-float
 * column (with a warning). A FLOAT/DOUBLE key is KEY_FLOAT; a declared key the query does not return is KEY_UNKNOWN.
 */
export async function chooseKeys(
  session: EngineSession,
  opts: { sql: string; declared?: string[]; columns: readonly Column[]; file: string },
): Promise<KeyChoice> {
  const { columns, file } = opts;
  const byName = new Map(columns.map((c) => [c.name, c]));
  let choice: KeyChoice;
  if (opts.declared) {
    for (const k of opts.declared) {
      if (!byName.has(k)) {
        throw new RecountError('KEY_UNKNOWN', `${file}: key '${k}' is not a column of the query's output`, {
          subject: `${file}: keys`,
          hint: `keys must be output columns; the query returns ${columns.map((c) => c.name).join(', ')}`,
        });
      }
    }
    choice = { keys: opts.declared, source: 'declared' };
  } else {
    const parser = await session.sqlParser();
    const node = await parseSql(parser, opts.sql, file);
    const inferred = await groupByKeys(parser, node, columns);
    if (inferred) {
      choice = { keys: inferred, source: 'group_by' };
    } else {
      const safe = columns.filter((c) => !isFloatType(c.type)).map((c) => c.name);
      if (safe.length === 0) {
        throw new RecountError(
          'KEY_UNKNOWN',
          `${file}: no keys declared, no GROUP BY to infer them from, and every output column is FLOAT/DOUBLE`,
          {
            subject: `${file}: keys`,
            hint: 'declare keys: [...] with columns that identify a row',
          },
        );
      }
      choice = {
        keys: safe,
        source: 'all_columns',
        warning: `${file}: no keys declared and none can be read from a top-level GROUP BY of the selected columns; using every non-float column as the key (${safe.join(', ')}). Declare keys to silence this.`,
      };
    }
  }
  const floats = choice.keys.filter((k) => isFloatType(byName.get(k)!.type));
  if (floats.length > 0) {
    const f = floats[0]!;
    throw new RecountError(
      'KEY_FLOAT',
      `${file}: key column '${f}' is ${byName.get(f)!.type}; a float key is not stable across reruns`,
      {
        subject: `${file}: ${f}`,
        hint: `a recomputed float sum can change in its last bits and move rows (the SPARK-23207 failure). Cast '${f}' to DECIMAL or BIGINT in the SQL, or declare keys without it`,
        details: { keys: choice.keys, floatKeys: floats, source: choice.source },
      },
    );
  }
  return choice;
}
