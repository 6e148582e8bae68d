import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDB } from '../engine/duckdb/settings.ts';
import { fileList } from '../engine/sql.ts';
import { checksumOf, type HashPlanEntry, type RowsChecksum } from './checksum.ts';

/** An in-memory DuckDB for one load: reads the version's Parquet (checksum, CSV for PostgreSQL). */
export interface ScratchDuckDB {
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

/** A private temporary folder of this process for one load: `recount-<kind>-<pid>-<random>`. */
export function loadTempDir(kind: 'load' | 'copy'): string {
  const dir = join(tmpdir(), `recount-${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// A load killed mid-way (the crash tests do it on purpose) leaves its temporary folders: remove those of dead processes.
function sweepTempDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^recount-(?:load|copy)-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** Open an in-memory DuckDB with its own spill folder; close() removes it. */
export async function openScratchDuckDB(): Promise<ScratchDuckDB> {
  sweepTempDirs();
  const spill = loadTempDir('load');
  const instance = await openDuckDB({ kind: 'reader', spillDir: spill });
  const conns: DuckDBConnection[] = [];
  return {
    async connect() {
      const c = await instance.connect();
      conns.push(c);
      // Timestamps with time zone become CSV text in UTC, whatever the machine's zone.
      await c.run(`SET TimeZone = 'UTC'`);
      return c;
    },
    close() {
      for (const c of conns) c.closeSync();
      instance.closeSync();
      rmSync(spill, { recursive: true, force: true });
    },
  };
}

/** `read_parquet([...])` over a version's files. */
export function readVersion(files: readonly string[]): string {
  return `read_parquet(${fileList(files)}, hive_partitioning = false)`;
}

/** Rows and key checksum of a version, computed from its Parquet files. */
export async function versionChecksum(
  conn: DuckDBConnection,
  files: readonly string[],
  plan: readonly HashPlanEntry[],
  signal?: AbortSignal,
): Promise<RowsChecksum> {
  if (files.length === 0) return { rows: 0, checksum: '0' };
  return checksumOf(conn, readVersion(files), plan, signal);
}
