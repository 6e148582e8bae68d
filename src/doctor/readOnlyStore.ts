import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { RecountError } from '../errors.ts';
import { KyselyStateStore } from '../state/kyselyStore.ts';
import { migrations } from '../state/migrations.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import type { StateSchema } from '../state/types.ts';

/** A state store opened for reading only, and whether it exists on disk yet. */
export interface ReadOnlyStateStore {
  readonly store: StateStore;
  /** False when the SQLite file is not there: the store reads as empty and nothing was created. */
  readonly exists: boolean;
  /** How it was opened, for the user: 'snapshot', 'read-only', 'empty (no state store yet)', 'postgres'. */
  readonly mode: string;
}

const stamp = (path: string) => {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}`;
};

/** An in-memory copy of a SQLite state file (migrated in memory when it is behind); undefined if it changed while read. */
function snapshot(file: string): Database.Database | undefined {
  const before = stamp(file);
  const bytes = readFileSync(file);
  if (existsSync(`${file}-wal`) || stamp(file) !== before) return undefined;
  // Bytes 18-19 say WAL mode; an in-memory copy cannot open in WAL mode, so mark it a rollback-journal file.
  if (bytes.length >= 20) bytes[18] = bytes[19] = 1;
  return new Database(bytes);
}

function sqliteStore(database: Database.Database, url: string): KyselyStateStore {
  return new KyselyStateStore(new Kysely<StateSchema>({ dialect: new SqliteDialect({ database }) }), 'sqlite', url);
}

function pendingMigrations(database: Database.Database): string[] {
  let applied: Set<string>;
  try {
    applied = new Set(
      (database.prepare('SELECT name FROM recount_migrations').all() as { name: string }[]).map((r) => r.name),
    );
  } catch {
    applied = new Set();
  }
  return Object.keys(migrations('sqlite')).filter((m) => !applied.has(m));
}

/**
 * Open the state store so that nothing on disk changes, for commands that only look (doctor, gc --dry-run,
 * diff, shadow --list): no file, folder or migration is created. A SQLite file nobody has open is copied into
 * memory (opening it read-only in place would still leave -wal and -shm files beside it); one in use (its -wal
 * is there) is opened read-only, since a copy could miss what its -wal holds; a missing one reads as empty.
 * PostgreSQL is opened as usual: its migrations are idempotent and ran when the store was created.
 */
export async function openStateStoreReadOnly(url: string, projectDir: string): Promise<ReadOnlyStateStore> {
  if (!url.startsWith('sqlite:'))
    return { store: await openStateStore(url, projectDir), exists: true, mode: 'postgres' };
  const raw = url.slice('sqlite:'.length);
  const file = isAbsolute(raw) ? raw : resolve(projectDir, raw);
  if (!existsSync(file)) {
    const store = sqliteStore(new Database(':memory:'), `sqlite:${file}`);
    await store.migrate();
    return { store, exists: false, mode: 'empty (no state store yet)' };
  }
  let copy: Database.Database | undefined;
  try {
    copy = existsSync(`${file}-wal`) ? undefined : snapshot(file);
  } catch (err) {
    throw new RecountError('STATE_STORE', `cannot read the state store ${file}: ${(err as Error).message}`, {
      subject: file,
      hint: 'check that the file is readable',
      cause: err,
    });
  }
  if (copy) {
    const store = sqliteStore(copy, `sqlite:${file}`);
    if (pendingMigrations(copy).length) await store.migrate(); // in memory only
    return { store, exists: true, mode: 'snapshot' };
  }
  const database = new Database(file, { readonly: true, fileMustExist: true });
  database.pragma('busy_timeout = 10000');
  const pending = pendingMigrations(database);
  if (pending.length) {
    database.close();
    throw new RecountError(
      'STATE_STORE',
      `the state store ${file} is in use and older than this recount (${pending.length} migration(s) pending)`,
      {
        subject: file,
        hint: "let the process using it finish, or run 'recount recover', which migrates it",
      },
    );
  }
  return { store: sqliteStore(database, `sqlite:${file}`), exists: true, mode: 'read-only' };
}
