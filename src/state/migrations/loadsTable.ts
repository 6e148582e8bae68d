import type { Kysely } from 'kysely';
import { notNull, partitionKeyColumns } from './schemaStep.ts';

/** 0002: warehouse loads, one row per (analyzer, partition, version). */
export async function createLoadsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('loads')
    .$call(partitionKeyColumns)
    .addColumn('version_seq', 'integer', notNull)
    .addColumn('table_name', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('rows', 'bigint')
    .addColumn('checksum', 'text')
    .addColumn('tries', 'integer', notNull)
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('error_hint', 'text')
    .addColumn('requested_at', 'text', notNull)
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addPrimaryKeyConstraint('loads_pk', ['analyzer', 'partition_id', 'version_seq'])
    .execute();
  await db.schema.createIndex('loads_status').on('loads').columns(['status', 'analyzer']).execute();
}
