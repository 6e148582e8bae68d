import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { RecountError } from '../errors.ts';
import { fileList, ident } from '../engine/sql.ts';
import { MANIFEST_FILE, readManifest } from './manifest.ts';
import type { OutputLayout } from './paths.ts';

/** The published version of one partition, resolved once: its real folder and exactly its files (I1). */
export interface PublishedFiles {
  readonly analyzer: string;
  readonly partition: string;
  readonly version: number;
  readonly attemptId: string;
  /** The version folder the published link pointed at when resolved (a real path). */
  readonly dir: string;
  readonly rows: number;
  /** Real paths inside the version folder, in the manifest's order, with what the manifest records of each. */
  readonly files: { path: string; rows: number; bytes: number; sha256: string }[];
}

/**
 * Resolve a partition's published link once to its version folder and read that folder's manifest: the files
 * returned all belong to that one version, whatever is published after, and stay readable until the version is
 * pruned (keepVersions). VERSION_NOT_FOUND when nothing is published there, VERSION_FILES_MISSING when files of it were deleted.
 */
export function publishedFiles(layout: OutputLayout, analyzer: string, partitionId: string): PublishedFiles {
  const link = layout.publishedPath(analyzer, partitionId);
  let dir: string;
  try {
    lstatSync(link);
    dir = realpathSync(link);
  } catch {
    throw new RecountError('VERSION_NOT_FOUND', `${analyzer} ${partitionId}: nothing is published`, {
      subject: link,
      hint: `run it first: recount run ${analyzer} --partition ${partitionId}`,
    });
  }
  const versions = realpathSync(existsSync(layout.versionsRoot) ? layout.versionsRoot : layout.root);
  const manifest = dir.startsWith(join(versions, analyzer, partitionId) + sep) ? readManifest(dir) : undefined;
  if (!manifest || manifest.analyzer !== analyzer || manifest.partition !== partitionId) {
    throw new RecountError(
      'VERSION_NOT_FOUND',
      `${link} does not lead to a recount version of ${analyzer} ${partitionId} (no ${MANIFEST_FILE} in ${dir})`,
      {
        subject: link,
        hint: `'recount doctor' explains what is there; 'recount run ${analyzer} --partition ${partitionId}' publishes a new version`,
      },
    );
  }
  const gone = manifest.files.map((f) => join(dir, f.path)).filter((f) => !existsSync(f));
  if (gone.length > 0) {
    throw new RecountError(
      'VERSION_FILES_MISSING',
      `${analyzer} ${partitionId} v${manifest.version}: ${gone.length} file(s) its manifest lists are gone (${gone.slice(0, 3).join(', ')})`,
      {
        subject: gone[0],
        hint: `something outside recount deleted them; 'recount doctor' explains and repairs, or 'recount run ${analyzer} --partition ${partitionId}' publishes a new version`,
      },
    );
  }
  return {
    analyzer,
    partition: partitionId,
    version: manifest.version,
    attemptId: manifest.attemptId,
    dir,
    rows: manifest.rows,
    files: manifest.files.map((f) => ({ path: join(dir, f.path), rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
  };
}

/** A DuckDB view over exactly one version's files: `CREATE OR REPLACE VIEW "<name>" AS SELECT * FROM read_parquet([...])`. */
export function duckdbViewSql(name: string, files: readonly string[]): string {
  return `CREATE OR REPLACE VIEW ${ident(name)} AS SELECT * FROM read_parquet(${fileList(files)}, hive_partitioning = false);`;
}
