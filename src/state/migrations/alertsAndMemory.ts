import type { Kysely } from 'kysely';
import type { StateDialect } from '../stateDialect.ts';
import { identityColumn, notNull } from './schemaStep.ts';

/** Alerts with open/resolved status, de-duplicated by key (one open alert per key). */
async function createAlertsTable(db: Kysely<unknown>, dialect: StateDialect): Promise<void> {
  await db.schema
    .createTable('alerts')
    .addColumn('id', 'integer', identityColumn(dialect))
    .addColumn('key', 'text', notNull)
    .addColumn('kind', 'text', notNull)
    .addColumn('severity', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('analyzer', 'text')
    .addColumn('partition_id', 'text')
    .addColumn('attempt_id', 'text')
    .addColumn('title', 'text', notNull)
    .addColumn('detail', 'text')
    .addColumn('count', 'integer', notNull)
    .addColumn('first_at', 'text', notNull)
    .addColumn('last_at', 'text', notNull)
    .addColumn('notified_at', 'text')
    .addColumn('resolved_at', 'text')
    .addColumn('resolution', 'text')
    .execute();
  await db.schema.createIndex('alerts_key_status').on('alerts').columns(['key', 'status']).execute();
  await db.schema.createIndex('alerts_status_last').on('alerts').columns(['status', 'last_at']).execute();
}

/** Worker memory over time, per attempt, for its memory chart. */
async function createMemorySamplesTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('memory_samples')
    .addColumn('attempt_id', 'text', notNull)
    .addColumn('at_ms', 'bigint', notNull)
    .addColumn('rss_bytes', 'bigint', notNull)
    .addColumn('heap_bytes', 'bigint', notNull)
    .addColumn('external_bytes', 'bigint', notNull)
    .addColumn('duckdb_bytes', 'bigint')
    .addColumn('spill_bytes', 'bigint')
    .addColumn('budget_bytes', 'bigint')
    .addPrimaryKeyConstraint('memory_samples_pk', ['attempt_id', 'at_ms'])
    .execute();
}

/** 0004: alerts and memory samples. */
export async function createAlertsAndMemorySamples(db: Kysely<unknown>, dialect: StateDialect): Promise<void> {
  await createAlertsTable(db, dialect);
  await createMemorySamplesTable(db);
}
