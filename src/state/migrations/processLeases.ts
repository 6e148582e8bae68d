import type { Kysely } from 'kysely';
import { notNull } from './schemaStep.ts';

/** 0006: leases of the processes that own attempts and queue claims, beaten while they live (../leaseStore.ts). */
export async function createProcessLeasesTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('process_leases')
    .addColumn('host', 'text', notNull)
    .addColumn('proc_token', 'text', notNull)
    .addColumn('pid', 'integer', notNull)
    .addColumn('started_at', 'text', notNull)
    .addColumn('beat_at', 'text', notNull)
    .addPrimaryKeyConstraint('process_leases_pk', ['host', 'proc_token'])
    .execute();
}
