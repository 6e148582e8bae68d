import { type Kysely, type MigrationProvider, Migrator } from 'kysely';
import { RecountError } from '../errors.ts';
import { migrations } from './migrations.ts';
import type { StateDialect } from './stateDialect.ts';
import type { StateSchema } from './types.ts';

const MIGRATION_TABLE = 'recount_migrations';
const MIGRATION_LOCK_TABLE = 'recount_migrations_lock';

/**
 * True when every migration this recount knows has been applied: one read of the migration table, so
 * opening an up-to-date store (every command, every worker) neither takes the write lock nor builds the migrator.
 */
export async function migrationsCurrent(db: Kysely<StateSchema>, dialect: StateDialect): Promise<boolean> {
  try {
    const rows = await (db as unknown as Kysely<{ [MIGRATION_TABLE]: { name: string } }>)
      .selectFrom(MIGRATION_TABLE)
      .select('name')
      .execute();
    const applied = new Set(rows.map((r) => r.name));
    return Object.keys(migrations(dialect)).every((name) => applied.has(name));
  } catch {
    return false; // a new store: no migration table yet
  }
}

/** Apply the migrations a store lacks (none when it is current); `url` names the store in an error. */
export async function migrateToLatest(db: Kysely<StateSchema>, dialect: StateDialect, url: string): Promise<void> {
  if (await migrationsCurrent(db, dialect)) return;
  const all = migrations(dialect);
  const provider: MigrationProvider = { getMigrations: async () => all };
  const { error } = await new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    allowUnorderedMigrations: true,
  }).migrateToLatest();
  if (error) {
    throw new RecountError('STATE_STORE', `state store ${url}: migration failed: ${(error as Error).message}`, {
      subject: url,
      hint: 'check that the state store is reachable and writable; migrations are safe to rerun',
      cause: error,
    });
  }
}
