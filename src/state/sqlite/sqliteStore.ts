import { ensureDir } from '../../fs/ensureDir.ts';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { ImmediateSqliteDialect } from './immediateDialect.ts';
import { RecountError } from '../../errors.ts';
import { KyselyStateStore } from '../kyselyStore.ts';
import type { StateSchema } from '../types.ts';

/** Open (and migrate) the embedded SQLite state store at a file path. */
export async function openSqliteStore(file: string): Promise<KyselyStateStore> {
  let database: Database.Database;
  try {
    ensureDir(dirname(file));
    database = new Database(file);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 10000');
    database.pragma('synchronous = FULL');
  } catch (err) {
    throw new RecountError('STATE_STORE', `cannot open the state store ${file}: ${(err as Error).message}`, {
      subject: file,
      hint: 'check that the folder exists and is writable, or set state in recount.config.ts / RECOUNT_STATE',
      cause: err,
    });
  }
  const store = new KyselyStateStore(
    new Kysely<StateSchema>({ dialect: new ImmediateSqliteDialect({ database }) }),
    'sqlite',
    `sqlite:${file}`,
  );
  // Migrate under the write lock: two processes opening a new state file at once would otherwise both
  // create the tables, and the second would fail with "table already exists" (Kysely takes no lock on SQLite).
  if (await store.migrationsCurrent()) return store;
  database.exec('BEGIN IMMEDIATE');
  try {
    await store.migrate();
    database.exec('COMMIT');
  } catch (err) {
    if (database.inTransaction) database.exec('ROLLBACK');
    throw err;
  }
  return store;
}
