import type { Kysely } from 'kysely';
import type { StateDialect } from '../stateDialect.ts';
import { identityColumn, notNull, partitionKeyColumns } from './schemaStep.ts';

async function createAnalyzersTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('analyzers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('file', 'text', notNull)
    .addColumn('sql_hash', 'text', notNull)
    .addColumn('grain', 'text', notNull)
    .addColumn('updated_at', 'text', notNull)
    .execute();
}

async function createPartitionsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('partitions')
    .$call(partitionKeyColumns)
    .addColumn('seq', 'integer', notNull)
    .addColumn('published_seq', 'integer')
    .addColumn('pending_intent', 'integer')
    .addColumn('updated_at', 'text', notNull)
    .addPrimaryKeyConstraint('partitions_pk', ['analyzer', 'partition_id'])
    .execute();
}

async function createRunsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('runs')
    .addColumn('run_id', 'text', (c) => c.primaryKey())
    .$call(partitionKeyColumns)
    .addColumn('trigger', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('created_at', 'text', notNull)
    .addColumn('finished_at', 'text')
    .execute();
}

async function createAttemptsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('attempts')
    .addColumn('attempt_id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', notNull)
    .$call(partitionKeyColumns)
    .addColumn('status', 'text', notNull)
    .addColumn('base_seq', 'integer', notNull)
    .addColumn('version_seq', 'integer')
    .addColumn('pid', 'integer', notNull)
    .addColumn('host', 'text', notNull)
    .addColumn('proc_token', 'text', notNull)
    .addColumn('threads', 'integer', notNull)
    .addColumn('memory_bytes', 'bigint', notNull)
    .addColumn('staging_dir', 'text', notNull)
    .addColumn('started_at', 'text', notNull)
    .addColumn('finished_at', 'text')
    .addColumn('rows', 'bigint')
    .addColumn('bytes', 'bigint')
    .addColumn('files', 'integer')
    .addColumn('peak_rss_bytes', 'bigint')
    .addColumn('input_fingerprint', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('error_hint', 'text')
    .addColumn('timings_json', 'text')
    .execute();
  await db.schema
    .createIndex('attempts_partition')
    .on('attempts')
    .columns(['analyzer', 'partition_id', 'started_at'])
    .execute();
  await db.schema.createIndex('attempts_status').on('attempts').column('status').execute();
}

async function createVersionsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('versions')
    .$call(partitionKeyColumns)
    .addColumn('seq', 'integer', notNull)
    .addColumn('attempt_id', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('dir', 'text', notNull)
    .addColumn('rows', 'bigint', notNull)
    .addColumn('bytes', 'bigint', notNull)
    .addColumn('files', 'integer', notNull)
    .addColumn('manifest_sha256', 'text', notNull)
    .addColumn('input_fingerprint', 'text', notNull)
    .addColumn('sql_hash', 'text', notNull)
    .addColumn('engine_version', 'text', notNull)
    .addColumn('recount_version', 'text', notNull)
    .addColumn('created_at', 'text', notNull)
    .addColumn('published_at', 'text')
    .addPrimaryKeyConstraint('versions_pk', ['analyzer', 'partition_id', 'seq'])
    .execute();
}

async function createCheckResultsTable(db: Kysely<unknown>, dialect: StateDialect): Promise<void> {
  await db.schema
    .createTable('check_results')
    .addColumn('id', 'integer', identityColumn(dialect))
    .addColumn('attempt_id', 'text', notNull)
    .addColumn('name', 'text', notNull)
    .addColumn('kind', 'text', notNull)
    .addColumn('severity', 'text', notNull)
    .addColumn('passed', 'integer', notNull)
    .addColumn('failing', 'bigint', notNull)
    .addColumn('sample_json', 'text', notNull)
    .addColumn('message', 'text')
    .execute();
  await db.schema.createIndex('check_results_attempt').on('check_results').column('attempt_id').execute();
}

async function createPublishIntentsTable(db: Kysely<unknown>, dialect: StateDialect): Promise<void> {
  await db.schema
    .createTable('publish_intents')
    .addColumn('id', 'integer', identityColumn(dialect))
    .$call(partitionKeyColumns)
    .addColumn('kind', 'text', notNull)
    .addColumn('target_seq', 'integer', notNull)
    .addColumn('from_seq', 'integer')
    .addColumn('attempt_id', 'text')
    .addColumn('staging_dir', 'text')
    .addColumn('version_dir', 'text', notNull)
    .addColumn('state', 'text', notNull)
    .addColumn('created_at', 'text', notNull)
    .addColumn('done_at', 'text')
    .execute();
  await db.schema.createIndex('publish_intents_state').on('publish_intents').column('state').execute();
}

/** 0001: analyzers, partitions, runs, attempts, versions, check results and publish intents. */
export async function createCoreTables(db: Kysely<unknown>, dialect: StateDialect): Promise<void> {
  await createAnalyzersTable(db);
  await createPartitionsTable(db);
  await createRunsTable(db);
  await createAttemptsTable(db);
  await createVersionsTable(db);
  await createCheckResultsTable(db, dialect);
  await createPublishIntentsTable(db, dialect);
}
