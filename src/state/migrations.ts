import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';

/** SQL dialects the state store runs on. */
export type StateDialect = 'sqlite' | 'postgres';

function identity(dialect: StateDialect): (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return dialect === 'sqlite'
    ? (c) => c.primaryKey().autoIncrement()
    : (c) => c.primaryKey().generatedByDefaultAsIdentity();
}

/** Schema migrations of the state store, in order; written with Kysely's builder so they run on SQLite and PostgreSQL. */
export function migrations(dialect: StateDialect): Record<string, Migration> {
  const id = identity(dialect);
  return {
    '0001_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('analyzers')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('file', 'text', (c) => c.notNull())
          .addColumn('sql_hash', 'text', (c) => c.notNull())
          .addColumn('grain', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('partitions')
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('published_seq', 'integer')
          .addColumn('pending_intent', 'integer')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('partitions_pk', ['analyzer', 'partition_id'])
          .execute();
        await db.schema
          .createTable('runs')
          .addColumn('run_id', 'text', (c) => c.primaryKey())
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .execute();
        await db.schema
          .createTable('attempts')
          .addColumn('attempt_id', 'text', (c) => c.primaryKey())
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('base_seq', 'integer', (c) => c.notNull())
          .addColumn('version_seq', 'integer')
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('proc_token', 'text', (c) => c.notNull())
          .addColumn('threads', 'integer', (c) => c.notNull())
          .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
          .addColumn('staging_dir', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
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
        await db.schema
          .createTable('versions')
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('attempt_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('dir', 'text', (c) => c.notNull())
          .addColumn('rows', 'bigint', (c) => c.notNull())
          .addColumn('bytes', 'bigint', (c) => c.notNull())
          .addColumn('files', 'integer', (c) => c.notNull())
          .addColumn('manifest_sha256', 'text', (c) => c.notNull())
          .addColumn('input_fingerprint', 'text', (c) => c.notNull())
          .addColumn('sql_hash', 'text', (c) => c.notNull())
          .addColumn('engine_version', 'text', (c) => c.notNull())
          .addColumn('recount_version', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('published_at', 'text')
          .addPrimaryKeyConstraint('versions_pk', ['analyzer', 'partition_id', 'seq'])
          .execute();
        await db.schema
          .createTable('check_results')
          .addColumn('id', 'integer', id)
          .addColumn('attempt_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('passed', 'integer', (c) => c.notNull())
          .addColumn('failing', 'bigint', (c) => c.notNull())
          .addColumn('sample_json', 'text', (c) => c.notNull())
          .addColumn('message', 'text')
          .execute();
        await db.schema.createIndex('check_results_attempt').on('check_results').column('attempt_id').execute();
        await db.schema
          .createTable('publish_intents')
          .addColumn('id', 'integer', id)
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('target_seq', 'integer', (c) => c.notNull())
          .addColumn('from_seq', 'integer')
          .addColumn('attempt_id', 'text')
          .addColumn('staging_dir', 'text')
          .addColumn('version_dir', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('done_at', 'text')
          .execute();
        await db.schema.createIndex('publish_intents_state').on('publish_intents').column('state').execute();
      },
    },
    '0002_loads': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('loads')
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('version_seq', 'integer', (c) => c.notNull())
          .addColumn('table_name', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('rows', 'bigint')
          .addColumn('checksum', 'text')
          .addColumn('tries', 'integer', (c) => c.notNull())
          .addColumn('error_code', 'text')
          .addColumn('error_message', 'text')
          .addColumn('error_hint', 'text')
          .addColumn('requested_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .addPrimaryKeyConstraint('loads_pk', ['analyzer', 'partition_id', 'version_seq'])
          .execute();
        await db.schema.createIndex('loads_status').on('loads').columns(['status', 'analyzer']).execute();
      },
    },
    '0003_queue': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('run_queue')
          .addColumn('id', 'integer', id)
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('not_before', 'text', (c) => c.notNull())
          .addColumn('threads', 'integer')
          .addColumn('memory_bytes', 'bigint')
          .addColumn('input_fingerprint', 'text')
          .addColumn('sql_hash', 'text', (c) => c.notNull())
          .addColumn('last_attempt_id', 'text')
          .addColumn('last_error_code', 'text')
          .addColumn('last_error', 'text')
          .addColumn('owner_host', 'text')
          .addColumn('owner_token', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('run_queue_state').on('run_queue').columns(['state', 'not_before']).execute();
        await db.schema
          .createIndex('run_queue_partition')
          .on('run_queue')
          .columns(['analyzer', 'partition_id', 'state'])
          .execute();
        await db.schema.alterTable('attempts').addColumn('spill_bytes', 'bigint').execute();
        await db.schema.alterTable('attempts').addColumn('duckdb_peak_bytes', 'bigint').execute();
      },
    },
    '0004_alerts': {
      async up(db: Kysely<any>) {
        // Alerts with open/resolved status, de-duplicated by key (one open alert per key).
        await db.schema
          .createTable('alerts')
          .addColumn('id', 'integer', id)
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('analyzer', 'text')
          .addColumn('partition_id', 'text')
          .addColumn('attempt_id', 'text')
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .addColumn('count', 'integer', (c) => c.notNull())
          .addColumn('first_at', 'text', (c) => c.notNull())
          .addColumn('last_at', 'text', (c) => c.notNull())
          .addColumn('notified_at', 'text')
          .addColumn('resolved_at', 'text')
          .addColumn('resolution', 'text')
          .execute();
        await db.schema.createIndex('alerts_key_status').on('alerts').columns(['key', 'status']).execute();
        await db.schema.createIndex('alerts_status_last').on('alerts').columns(['status', 'last_at']).execute();
        // Worker memory over time, per attempt, for its memory chart.
        await db.schema
          .createTable('memory_samples')
          .addColumn('attempt_id', 'text', (c) => c.notNull())
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .addColumn('rss_bytes', 'bigint', (c) => c.notNull())
          .addColumn('heap_bytes', 'bigint', (c) => c.notNull())
          .addColumn('external_bytes', 'bigint', (c) => c.notNull())
          .addColumn('duckdb_bytes', 'bigint')
          .addColumn('spill_bytes', 'bigint')
          .addColumn('budget_bytes', 'bigint')
          .addPrimaryKeyConstraint('memory_samples_pk', ['attempt_id', 'at_ms'])
          .execute();
      },
    },
    '0005_version_checksums': {
      async up(db: Kysely<any>) {
        // recount monitor's checksums of a version's Parquet files, per checksum plan: versions are immutable, so
        // each is read once, not on every sweep.
        await db.schema
          .createTable('version_checksums')
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('partition_id', 'text', (c) => c.notNull())
          .addColumn('version_seq', 'integer', (c) => c.notNull())
          .addColumn('plan', 'text', (c) => c.notNull())
          .addColumn('rows', 'bigint', (c) => c.notNull())
          .addColumn('key_checksum', 'text', (c) => c.notNull())
          .addColumn('value_checksum', 'text', (c) => c.notNull())
          .addColumn('computed_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('version_checksums_pk', ['analyzer', 'partition_id', 'version_seq', 'plan'])
          .execute();
      },
    },
    '0006_process_leases': {
      async up(db: Kysely<any>) {
        // Leases of the processes that own attempts and queue claims, beaten while they live (src/state/leaseStore.ts).
        await db.schema
          .createTable('process_leases')
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('proc_token', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('beat_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('process_leases_pk', ['host', 'proc_token'])
          .execute();
      },
    },
    '0007_rollback_hold': {
      async up(db: Kysely<any>) {
        // A rollback holds its partition at the version rolled back to (see src/run/hold.ts): the version and the
        // input fingerprint the hold was placed on (new input releases it).
        await db.schema.alterTable('partitions').addColumn('held_seq', 'integer').execute();
        await db.schema.alterTable('partitions').addColumn('held_input', 'text').execute();
        await db.schema.alterTable('partitions').addColumn('held_at', 'text').execute();
        // The process that owns an intent without an attempt (a rollback): recovery leaves it alone while that process lives.
        await db.schema.alterTable('publish_intents').addColumn('owner_host', 'text').execute();
        await db.schema.alterTable('publish_intents').addColumn('owner_token', 'text').execute();
      },
    },
    '0008_spark_memory': {
      async up(db: Kysely<any>) {
        // A Spark attempt's executors in its memory samples, summed over executors (src/engine/spark/executorMemory.ts):
        // storage in use on and off heap, peak execution memory, and their unified max.
        for (const column of [
          'spark_on_heap_bytes',
          'spark_off_heap_bytes',
          'spark_execution_bytes',
          'spark_max_bytes',
        ])
          await db.schema.alterTable('memory_samples').addColumn(column, 'bigint').execute();
        // The Spark settings an attempt ran with after out-of-memory attempts of its partition (JSON; src/engine/spark/oomRetry.ts).
        await db.schema.alterTable('attempts').addColumn('spark_conf', 'text').execute();
      },
    },
  };
}
