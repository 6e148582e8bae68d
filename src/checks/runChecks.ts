import { join } from 'node:path';
import type { EngineSession } from '../engine/engine.ts';
import { fileList, ident } from '../engine/sql.ts';
import type { CheckDefinition } from '../config/schema.ts';
import { keyHashSql } from '../layout/bucketing.ts';
import type { StagedFile } from '../layout/bucketing.ts';
import { SAMPLE_ROWS, type CheckResult } from './check.ts';

interface CheckContext {
  readonly session: EngineSession;
  readonly dir: string;
  readonly files: readonly StagedFile[];
  readonly keys: readonly string[];
  readonly checks: readonly CheckDefinition[];
}

async function countAndSample(session: EngineSession, failingSql: string): Promise<{ failing: number; sample: Record<string, unknown>[] }> {
  const [c] = await session.query<{ n: string }>(`SELECT count(*) AS n FROM (${failingSql})`);
  const failing = Number(c?.n ?? 0);
  const sample = failing > 0 ? await session.query(`SELECT * FROM (${failingSql}) LIMIT ${SAMPLE_ROWS}`) : [];
  return { failing, sample };
}

function builtin(name: string, failing: number, sample: Record<string, unknown>[], message: string): CheckResult {
  return { name, kind: 'builtin', severity: 'error', passed: failing === 0, failing, sample, message: failing === 0 ? undefined : message };
}

/**
 * Run the blocking built-in checks (row count, unique keys, not-null keys, key layout) and the analyzer's
 * custom checks over the staged files, exposed as the view `output`.
 */
export async function runChecks(ctx: CheckContext): Promise<CheckResult[]> {
  const { session, keys } = ctx;
  const paths = ctx.files.map((f) => join(ctx.dir, f.name));
  await session.exec(`CREATE OR REPLACE VIEW output AS SELECT * FROM read_parquet(${fileList(paths)})`);
  const keyList = keys.map(ident).join(', ');
  const results: CheckResult[] = [];

  const written = ctx.files.reduce((s, f) => s + f.rows, 0);
  const [meta] = await session.query<{ n: string | null }>(`SELECT sum(num_rows)::BIGINT AS n FROM parquet_file_metadata(${fileList(paths)})`);
  const [counted] = await session.query<{ n: string }>('SELECT count(*) AS n FROM output');
  const inFiles = Number(meta?.n ?? 0);
  const read = Number(counted?.n ?? 0);
  const rowDiff = Math.max(Math.abs(inFiles - written), Math.abs(read - written));
  results.push(
    builtin('row_count', rowDiff, rowDiff ? [{ written, in_file_metadata: inFiles, read_back: read }] : [], `the engine wrote ${written} rows but the files hold ${inFiles} and read back ${read}`),
  );

  const dup = await countAndSample(session, `SELECT ${keyList}, count(*) AS copies FROM output GROUP BY ALL HAVING count(*) > 1 ORDER BY copies DESC, ${keyList}`);
  results.push(builtin('unique_keys', dup.failing, dup.sample, `${dup.failing} keys appear more than once (keys: ${keys.join(', ')})`));

  const nulls = await countAndSample(session, `SELECT * FROM output WHERE ${keys.map((k) => `${ident(k)} IS NULL`).join(' OR ')}`);
  results.push(builtin('not_null_keys', nulls.failing, nulls.sample, `${nulls.failing} rows have a NULL key`));

  // I3 as a check: every row sits in the file its key hashes to, and rows ascend by key within a file.
  const n = ctx.files.length;
  const layout = await countAndSample(
    session,
    `SELECT parse_filename(filename) AS file, file_row_number AS row_number, ${keyList}, ${keyHashSql(keys)} % ${n} AS expected_file_index, misplaced, out_of_order
     FROM (SELECT *, ${keyHashSql(keys)} % ${n} <> CAST(regexp_extract(parse_filename(filename), 'part-(\\d+)', 1) AS UBIGINT) AS misplaced,
                  coalesce((${keyList}) < lag((${keyList})) OVER (PARTITION BY filename ORDER BY file_row_number), false) AS out_of_order
           FROM read_parquet(${fileList(paths)}, filename = true, file_row_number = true))
     WHERE misplaced OR out_of_order`,
  );
  results.push(builtin('key_layout', layout.failing, layout.sample, `${layout.failing} rows are in the wrong file or out of key order`));

  for (const check of ctx.checks) {
    try {
      const r = await countAndSample(session, check.sql);
      results.push({
        name: check.name,
        kind: 'custom',
        severity: check.severity,
        passed: r.failing === 0,
        failing: r.failing,
        sample: r.sample,
        message: r.failing === 0 ? undefined : `${r.failing} rows fail check '${check.name}'${check.description ? ` (${check.description})` : ''}`,
      });
    } catch (err) {
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
