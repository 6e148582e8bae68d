import type { Kysely } from 'kysely';

/**
 * 0007: a rollback holds its partition at the version rolled back to (see src/run/hold.ts): the version and the
 * input fingerprint the hold was placed on (new input releases it); and the process that owns an intent without
 * an attempt (a rollback), which recovery leaves alone while that process lives.
 */
export async function addRollbackHold(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('partitions').addColumn('held_seq', 'integer').execute();
  await db.schema.alterTable('partitions').addColumn('held_input', 'text').execute();
  await db.schema.alterTable('partitions').addColumn('held_at', 'text').execute();
  await db.schema.alterTable('publish_intents').addColumn('owner_host', 'text').execute();
  await db.schema.alterTable('publish_intents').addColumn('owner_token', 'text').execute();
}
