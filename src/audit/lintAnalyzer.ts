import type { Analyzer, Project } from '../config/project.ts';
import type { Column, Engine, EngineSession } from '../engine/engine.ts';
import { ident } from '../engine/sql.ts';
import { withDiffSession } from '../diff/diffVersions.ts';
import { lintSql, type LintFinding } from './lint.ts';
import { viewSchemaInputs, type SchemaViews } from './inputViews.ts';
import { sqlFeatures, type SqlFeature } from './sqlFeatures.ts';

/** An analyzer checked without running it: does it plan over its inputs' current schema, and what does the lint say. */
export interface AnalyzerCheck {
  readonly analyzer: string;
  readonly file: string;
  /** DuckDB planned the query (EXPLAIN) over the inputs' schema. */
  readonly compiles: boolean;
  /** DuckDB's message when it did not, or why it could not be tried. */
  readonly error?: string;
  readonly columns?: Column[];
  /** Columns of each input as the check saw them. */
  readonly inputColumns: Record<string, Column[]>;
  readonly schemaFrom: SchemaViews;
  readonly lint: LintFinding[];
  /** SQL constructs the query uses that known engine bugs may need; undefined when it does not parse. */
  readonly features?: SqlFeature[];
}

/** Lint an analyzer's SQL with what recount knows of it: its file, inputs, keys and (when planned) output columns. */
export function lintAnalyzer(session: EngineSession, analyzer: Analyzer, columns?: Column[]): Promise<LintFinding[]> {
  return lintSql(session, {
    sql: analyzer.sql,
    file: analyzer.file,
    inputs: analyzer.inputs,
    keys: analyzer.keys,
    columns,
  });
}

/**
 * Plan an analyzer's SQL with EXPLAIN over views carrying its inputs' current schema, and lint it (the FLOAT
 * key rule included, from the planned output columns). Nothing is read beyond Parquet footers, nothing written
 * but DuckDB's scratch folder under `spillDir` (default: the project's spill folder), removed afterwards.
 */
export async function checkAnalyzer(
  env: { project: Project; engine: Engine; spillDir?: string },
  analyzer: Analyzer,
): Promise<AnalyzerCheck> {
  return withDiffSession(
    { engine: env.engine, spillDir: env.spillDir ?? env.project.spillDir, memoryBytes: 500_000_000 },
    async (session) => {
      const schemaFrom = await viewSchemaInputs(session, env.project, analyzer);
      let compiles = false;
      let error: string | undefined;
      let columns: Column[] | undefined;
      const inputColumns: Record<string, Column[]> = {};
      for (const input of analyzer.inputs.filter((i) => !schemaFrom.missing.includes(i))) {
        try {
          inputColumns[input] = await session.describe(`SELECT * FROM ${ident(input)}`);
        } catch {
          // an unreadable input shows up as the query failing to plan
        }
      }
      if (schemaFrom.missing.length) {
        error = `no ready partition of ${schemaFrom.missing.join(', ')} to take the schema from`;
      } else {
        try {
          await session.query(`EXPLAIN ${analyzer.sql}`);
          columns = await session.describe(analyzer.sql);
          compiles = true;
        } catch (err) {
          error = (err as Error).message.split('\n')[0];
        }
      }
      let lint: LintFinding[];
      let features: SqlFeature[] | undefined;
      try {
        lint = await lintAnalyzer(session, analyzer, columns);
        features = [...(await sqlFeatures(session, analyzer.sql, analyzer.file))].sort();
      } catch (err) {
        lint = [];
        error ??= (err as Error).message;
      }
      return {
        analyzer: analyzer.name,
        file: analyzer.file,
        compiles,
        error,
        columns,
        inputColumns,
        schemaFrom,
        lint,
        features,
      };
    },
  );
}
