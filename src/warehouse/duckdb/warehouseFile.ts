import { dirname } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { openDuckDB } from '../../engine/duckdb/settings.ts';
import { RecountError } from '../../errors.ts';
import { ensureDir } from '../../fs/ensureDir.ts';
import { SerialQueue } from '../../serialQueue.ts';
import type { TableRecord, WarehouseColumn } from '../warehouse.ts';

/*
 * The embedded warehouse is one DuckDB file, and DuckDB lets one process at a time open a file for writing.
 * So loads are serialised twice: across processes by DuckDB's file lock (a second process waits and retries
 * until lockTimeoutMs), and inside a process by a queue per file, since all connections of one process share
 * one instance. recount opens the file only for a load, a monitor sweep or a query, and closes it after (a
 * backfill, and `serve`'s daemon during a burst of loads, keep it open until they are done), so people can read
 * it between loads (`duckdb -readonly .recount/warehouse.duckdb`); a reader that keeps it open makes loads wait,
 * then fail as pending. For concurrent readers and writers, use PostgreSQL.
 */

/** What a load of this process last knew of a table's schema. */
export interface KnownSchema {
  columns?: WarehouseColumn[];
  record?: TableRecord;
}

/** One warehouse file as this process has it open: one instance, shared by every warehouse opened on it. */
export interface SharedFile {
  instance: DuckDBInstance;
  refs: number;
  readonly queue: SerialQueue;
  /**
   * Tables' columns and recount_tables rows as last committed, read or written by a load of this process. While the
   * file is open here no other process can write it (DuckDB's file lock), so a backfill that keeps it open plans
   * each load's schema without asking again. Dropped for a table whose schema a load changes and for every table on
   * a rollback or on any other statement (query()).
   */
  schemas: Map<string, KnownSchema>;
}

// Open files of this process by path; a promise, so two opens at once share one instance.
const open = new Map<string, Promise<SharedFile>>();

function fileError(path: string, err: unknown, locked: boolean): RecountError {
  const message = (err as Error).message;
  if (locked) {
    return new RecountError('WAREHOUSE_BUSY', `the warehouse file ${path} is held by another process: ${message}`, {
      subject: path,
      hint: 'a DuckDB warehouse takes one writer at a time: close other programs that have it open (or open it with -readonly)',
      cause: err,
    });
  }
  return new RecountError('WAREHOUSE_UNREACHABLE', `cannot open the warehouse file ${path}: ${message}`, {
    subject: path,
    hint: 'check that the folder is writable and the file is a DuckDB database (warehouse in recount.config.ts or RECOUNT_WAREHOUSE)',
    cause: err,
  });
}

// The file is opened for one load and closed after: a checkpoint at every close (the default) cost more than
// the load of a small partition. Committed loads are durable in the WAL either way; it is checkpointed into
// the file once it passes 1 MB (and replayed by whoever opens the file next), so it stays small to replay.
async function openWithoutCloseCheckpoint(path: string): Promise<DuckDBInstance> {
  const instance = await openDuckDB({ kind: 'warehouse' }, path);
  const conn = await instance.connect();
  try {
    await conn.run('PRAGMA disable_checkpoint_on_shutdown');
  } finally {
    conn.closeSync();
  }
  return instance;
}

async function createInstance(path: string, lockTimeoutMs: number): Promise<DuckDBInstance> {
  ensureDir(dirname(path));
  const deadline = Date.now() + lockTimeoutMs;
  // Another process holds the file for one load at a time (a worker of serve, ~0.1 s): poll often, so the file does
  // not sit unused while this one sleeps (a backoff up to 0.5 s made two workers' loads wait on each other's naps).
  let wait = 10;
  for (;;) {
    try {
      return await openWithoutCloseCheckpoint(path);
    } catch (err) {
      const locked = /lock/i.test((err as Error).message);
      if (!locked || Date.now() >= deadline) throw fileError(path, err, locked);
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      wait = Math.min(40, wait * 2);
    }
  }
}

/** Take a reference to the file at `path`, opening it (waiting up to lockTimeoutMs for another process) if new. */
export async function acquireFile(path: string, lockTimeoutMs: number): Promise<SharedFile> {
  let pending = open.get(path);
  if (!pending) {
    pending = createInstance(path, lockTimeoutMs).then((instance) => ({
      instance,
      refs: 0,
      queue: new SerialQueue(),
      schemas: new Map(),
    }));
    open.set(path, pending);
    pending.catch(() => open.delete(path));
  }
  const file = await pending;
  file.refs++;
  return file;
}

/** Give a reference back; the last one closes the instance. */
export function releaseFile(path: string, file: SharedFile): void {
  if (--file.refs === 0) {
    open.delete(path);
    file.instance.closeSync();
  }
}
