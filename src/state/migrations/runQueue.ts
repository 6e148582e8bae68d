import type { Kysely } from 'kysely';
import type { StateDialect } from '../stateDialect.ts';
import { identityColumn, notNull, partitionKeyColumns } from './schemaStep.ts';

/** 0003: the daemon's run queue, and the spill and DuckDB peak an attempt measured. */
export async function createRunQueue(db: Kysely<unknown>, dialect: StateDialect): Promise<void> {
  await db.schema
    .createTable('run_queue')
    .addColumn('id', 'integer', identityColumn(dialect))
    .$call(partitionKeyColumns)
    .addColumn('reason', 'text', notNull)
    .addColumn('state', 'text', notNull)
    .addColumn('attempts', 'integer', notNull)
    .addColumn('max_attempts', 'integer', notNull)
    .addColumn('not_before', 'text', notNull)
    .addColumn('threads', 'integer')
    .addColumn('memory_bytes', 'bigint')
    .addColumn('input_fingerprint', 'text')
    .addColumn('sql_hash', 'text', notNull)
    .addColumn('last_attempt_id', 'text')
    .addColumn('last_error_code', 'text')
    .addColumn('last_error', 'text')
    .addColumn('owner_host', 'text')
    .addColumn('owner_token', 'text')
    .addColumn('created_at', 'text', notNull)
    .addColumn('updated_at', 'text', notNull)
    .execute();
  await db.schema.createIndex('run_queue_state').on('run_queue').columns(['state', 'not_before']).execute();
  await db.schema
    .createIndex('run_queue_partition')
    .on('run_queue')
    .columns(['analyzer', 'partition_id', 'state'])
    .execute();
  await db.schema.alterTable('attempts').addColumn('spill_bytes', 'bigint').execute();
  await db.schema.alterTable('attempts').addColumn('duckdb_peak_bytes', 'bigint').execute();
}
