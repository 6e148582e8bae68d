import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { MANIFEST_FILE, readManifest } from '../commit/manifest.ts';
import type { Column } from '../engine/engine.ts';
import type { StateStore } from '../state/store.ts';
import {
  checksumsOf,
  keysOfHashes,
  planFor,
  planSignature,
  scanRowHashes,
  type HashPlanEntry,
  type RowsChecksums,
} from './checksum.ts';
import type { DiffSide } from './monitorDiff.ts';
import { readVersion } from './scratchDuckdb.ts';

/** A retained version whose files are all still there, as the monitor reads it. */
export interface KeptVersion {
  readonly analyzer: string;
  readonly partition: string;
  readonly version: number;
  readonly files: string[];
  /** Rows its manifest records. */
  readonly rows: number;
}

/** Retained versions of a partition that still hold their files, newest first. */
export async function keptVersions(store: StateStore, analyzer: string, partition: string): Promise<KeptVersion[]> {
  const out: KeptVersion[] = [];
  for (const v of await store.listVersions(analyzer, partition)) {
    if (v.status === 'deleted' || !existsSync(join(v.dir, MANIFEST_FILE))) continue;
    const m = readManifest(v.dir)!;
    const files = m.files.map((f) => join(v.dir, f.path));
    if (files.every((f) => existsSync(f)))
      out.push({ analyzer, partition, version: Number(v.seq), files, rows: m.rows });
  }
  return out;
}

async function columnsOf(conn: DuckDBConnection, files: readonly string[]): Promise<Column[]> {
  const rows = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${readVersion(files)}`)).getRowObjectsJson() as {
    column_name: string;
    column_type: string;
  }[];
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/**
 * Rows, key checksum and value checksum of a kept version's files under the table's plans: read once and cached in
 * the state store (versions are immutable). A column the version lacks is left out of its plan: the table holds
 * NULL there for the version's rows, and NULL hashes to nothing, so both sides still agree.
 */
export async function keptVersionChecksums(
  store: StateStore,
  conn: DuckDBConnection,
  v: KeptVersion,
  key: readonly HashPlanEntry[],
  value: readonly HashPlanEntry[],
): Promise<RowsChecksums> {
  const id = {
    analyzer: v.analyzer,
    partitionId: v.partition,
    versionSeq: v.version,
    plan: planSignature([...key, ...value]),
  };
  const cached = await store.loads.checksums.get(id);
  if (cached) return cached;
  if (v.files.length === 0) return { rows: 0, checksum: '0', valueChecksum: '0' };
  const columns = await columnsOf(conn, v.files);
  const sums = await checksumsOf(conn, readVersion(v.files), planFor(key, columns), planFor(value, columns));
  await store.loads.checksums.put(id, sums);
  return sums;
}

/** A kept version as one side of the monitor's diff. */
export async function versionDiffSide(
  conn: DuckDBConnection,
  v: KeptVersion,
  key: readonly HashPlanEntry[],
  value: readonly HashPlanEntry[],
): Promise<DiffSide> {
  const columns = v.files.length ? await columnsOf(conn, v.files) : [];
  const k = planFor(key, columns);
  return {
    scan: async (sink) =>
      v.files.length ? scanRowHashes(conn, readVersion(v.files), k, planFor(value, columns), sink) : undefined,
    keysOf: async (hashes) => (v.files.length ? keysOfHashes(conn, readVersion(v.files), k, hashes) : new Map()),
  };
}
