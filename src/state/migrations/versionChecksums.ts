import type { Kysely } from 'kysely';
import { notNull, partitionKeyColumns } from './schemaStep.ts';

/**
 * 0005: recount monitor's checksums of a version's Parquet files, per checksum plan: versions are immutable, so
 * each is read once, not on every sweep.
 */
export async function createVersionChecksumsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('version_checksums')
    .$call(partitionKeyColumns)
    .addColumn('version_seq', 'integer', notNull)
    .addColumn('plan', 'text', notNull)
    .addColumn('rows', 'bigint', notNull)
    .addColumn('key_checksum', 'text', notNull)
    .addColumn('value_checksum', 'text', notNull)
    .addColumn('computed_at', 'text', notNull)
    .addPrimaryKeyConstraint('version_checksums_pk', ['analyzer', 'partition_id', 'version_seq', 'plan'])
    .execute();
}
