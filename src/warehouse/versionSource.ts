import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { openDuckDB } from '../engine/duckdb/settings.ts';
import type { Grain } from '../catalog/partition.ts';
import { parsePartition } from '../catalog/partition.ts';
import { type Manifest, MANIFEST_FILE, readManifest, sha256File } from '../commit/manifest.ts';
import { KeptByKey } from '../keptByKey.ts';
import type { Column } from '../engine/engine.ts';
import { RecountError } from '../errors.ts';
import type { VersionRow } from '../state/types.ts';
import { readVersion } from './scratchDuckdb.ts';
import type { VersionSource } from './warehouse.ts';

/** sha256 of the files of one version (by file name) that the caller computed from the bytes it wrote. */
export interface KnownFiles {
  readonly version: number;
  readonly sha256: ReadonlyMap<string, string>;
}

function missing(analyzer: string, partition: string, seq: number, what: string, subject: string): RecountError {
  return new RecountError('VERSION_FILES_MISSING', `${analyzer} ${partition} v${seq}: ${what}`, {
    subject,
    hint: `the version's files were deleted or changed after it was published; rerun the partition (recount run ${analyzer} --partition ${partition}) to publish a new version, which is then loaded. Nothing was loaded; the warehouse keeps its rows`,
  });
}

// One small in-memory DuckDB per process, only for DESCRIBE of a version's files (footers, never rows): a new instance
// per load cost more than the DESCRIBE itself on small partitions. A connection per call; nothing is cached in it.
let describer: Promise<DuckDBInstance> | undefined;

// The schema of the Parquet files themselves: a load copies what the files hold, which is not always what the
// query described (DuckDB writes HUGEINT to Parquet as DOUBLE and ENUM as VARCHAR).
async function describeFiles(files: readonly string[]): Promise<Column[]> {
  describer ??= openDuckDB({ kind: 'describe' });
  describer.catch(() => (describer = undefined));
  const conn = await (await describer).connect();
  try {
    const rows = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${readVersion(files)}`)).getRowObjectsJson() as {
      column_name: string;
      column_type: string;
    }[];
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  } finally {
    conn.closeSync();
  }
}

/**
 * The files' schema follows from what the query produced and which engine wrote it: versions alike in both have
 * files alike, so a burst of loads of one analyzer reads one footer, not one per load. Files changed since they
 * were published are the sha256 check's to find, as for any load.
 */
const fileColumns = new KeptByKey<Column[]>(64);

function fileSchemaKey(m: Manifest): string {
  return JSON.stringify([m.provenance.engine, m.provenance.engineVersion, m.schema]);
}

/**
 * A published version as a load reads it: its manifest, and its files checked against the manifest (present and
 * of the same size now; the same sha256 before the load commits), so a load copies exactly what was published
 * or refuses with VERSION_FILES_MISSING. `known` vouches for the files of one version the caller hashed itself.
 */
export async function readVersionSource(
  analyzer: string,
  grain: Grain,
  v: VersionRow,
  opts: { known?: KnownFiles } = {},
): Promise<VersionSource> {
  const seq = Number(v.seq);
  const manifest = readManifest(v.dir);
  if (!manifest)
    throw missing(analyzer, v.partition_id, seq, `its folder has no ${MANIFEST_FILE}`, join(v.dir, MANIFEST_FILE));
  const files = manifest.files.map((f) => ({ ...f, abs: join(v.dir, f.path) }));
  for (const f of files) {
    if (!existsSync(f.abs))
      throw missing(analyzer, v.partition_id, seq, `file ${f.path} listed in its manifest is gone`, f.abs);
    if (statSync(f.abs).size !== f.bytes)
      throw missing(
        analyzer,
        v.partition_id,
        seq,
        `file ${f.path} has ${statSync(f.abs).size} bytes, its manifest records ${f.bytes}`,
        f.abs,
      );
  }
  // The sha256 comparison runs while the rows are copied; the load awaits it before it commits. A file whose sha256
  // the caller computed from the bytes it just wrote and published (the attempt that loads right after its publish)
  // is not read again when the manifest records that same sha256; its size was checked above.
  const verified = Promise.all(
    files.map(async (f) => {
      if (opts.known?.version === seq && opts.known.sha256.get(f.path) === f.sha256) return;
      if ((await sha256File(f.abs)) !== f.sha256)
        throw missing(
          analyzer,
          v.partition_id,
          seq,
          `file ${f.path} changed since it was published (sha256 differs from the manifest)`,
          f.abs,
        );
    }),
  ).then(() => undefined);
  verified.catch(() => undefined);
  const abs = files.map((f) => f.abs);
  let columns: Column[];
  try {
    columns = abs.length ? await fileColumns.get(fileSchemaKey(manifest), () => describeFiles(abs)) : manifest.schema;
  } catch (err) {
    // A footer DuckDB cannot read is a file that changed since it was published, when its sha256 says so: that is
    // VERSION_FILES_MISSING, which waits for a rerun, not a load error retried for ever.
    await verified;
    throw err;
  }
  return {
    analyzer,
    partition: parsePartition(v.partition_id, grain),
    version: seq,
    dir: v.dir,
    files: abs,
    rows: manifest.rows,
    columns,
    keys: manifest.keys,
    verified,
  };
}
