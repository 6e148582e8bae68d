import type { Column, EngineSession } from '../engine/engine.ts';
import { fileList } from '../engine/sql.ts';
import type { DiffInput } from '../diff/diffRelations.ts';
import type { VersionFiles } from '../diff/versionFiles.ts';

/**
 * The columns of a version as the diff's DuckDB session reads its files. A manifest names types in its engine's
 * words (Spark `int`, `string`; DuckDB `INTEGER`, `VARCHAR`): compared as written, every column of a Spark version
 * would count as a type change against a DuckDB one. A DuckDB version's manifest already says what DuckDB reads.
 */
async function schemaAsRead(session: EngineSession, v: VersionFiles): Promise<readonly Column[]> {
  if (v.manifest.provenance.engine === 'duckdb' || v.files.length === 0) return v.manifest.schema;
  return session.describe(`SELECT * FROM read_parquet(${fileList(v.files)}, hive_partitioning = false)`);
}

/** One side of a diff of a version, labelled with its engine: `shadow v1 (spark)`. */
export async function diffSide(session: EngineSession, label: string, v: VersionFiles): Promise<DiffInput> {
  return {
    label: `${label}v${v.seq} (${v.manifest.provenance.engine})`,
    files: v.files,
    schema: await schemaAsRead(session, v),
  };
}
