import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Every DuckDB recount opens, by what it is for. Settings live here only, so the engine, the warehouse and the
 * readers cannot drift apart on what matters to all of them: no extension downloads (none can be fetched here, and
 * nothing may depend on them), and insertion order dropped wherever rows are ordered explicitly by key.
 * - attempt: one analyzer attempt, within its memory budget, threads and spill folder.
 * - reader: reading a published version's Parquet during a load or a check (streams only: small limit).
 * - describe: one thread to read a Parquet schema.
 * - warehouse: the embedded DuckDB-file warehouse.
 */
export type DuckDBProfile =
  | { readonly kind: 'attempt'; readonly memoryBytes: number; readonly threads: number; readonly spillDir: string }
  | { readonly kind: 'reader'; readonly spillDir: string }
  | { readonly kind: 'describe' }
  | { readonly kind: 'warehouse' };

const NO_EXTENSION_DOWNLOADS = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' } as const;

/** DuckDB's own settings for a profile, as `DuckDBInstance.create` takes them. */
export function duckdbSettings(profile: DuckDBProfile): Record<string, string> {
  switch (profile.kind) {
    case 'attempt':
      return {
        ...attemptLimits(profile),
        // Rows are ordered explicitly by key wherever order matters; dropping insertion order lets big results stream.
        preserve_insertion_order: 'false',
        ...NO_EXTENSION_DOWNLOADS,
      };
    case 'reader':
      // A load only streams (CSV out, key hashes): a small limit keeps it inside the budget of the worker that ran the attempt.
      return {
        threads: '2',
        memory_limit: '256MB',
        temp_directory: profile.spillDir,
        preserve_insertion_order: 'false',
        ...NO_EXTENSION_DOWNLOADS,
      };
    case 'describe':
      return { threads: '1', memory_limit: '64MB', ...NO_EXTENSION_DOWNLOADS };
    case 'warehouse':
      // The WAL is checkpointed into the file once it passes 1 MB rather than at every close (see duckdbWarehouse.ts).
      return { threads: '2', memory_limit: '512MB', checkpoint_threshold: '1MB', ...NO_EXTENSION_DOWNLOADS };
  }
}

/** The settings one attempt changes on an instance it shares with the attempts before it: memory limit, threads, spill folder. */
export function attemptLimits(limits: {
  memoryBytes: number;
  threads: number;
  spillDir: string;
}): Record<string, string> {
  return {
    memory_limit: `${Math.max(1, Math.floor(limits.memoryBytes / 1_000_000))}MB`,
    threads: String(limits.threads),
    temp_directory: limits.spillDir,
  };
}

/** Open a DuckDB for a profile: in memory, or the file at `path` (the warehouse). */
export function openDuckDB(profile: DuckDBProfile, path = ':memory:'): Promise<DuckDBInstance> {
  return DuckDBInstance.create(path, duckdbSettings(profile));
}
