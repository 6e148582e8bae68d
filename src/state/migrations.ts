import type { Migration } from 'kysely';
import { createAlertsAndMemorySamples } from './migrations/alertsAndMemory.ts';
import { createCoreTables } from './migrations/coreTables.ts';
import { createLoadsTable } from './migrations/loadsTable.ts';
import { createProcessLeasesTable } from './migrations/processLeases.ts';
import { addRollbackHold } from './migrations/rollbackHold.ts';
import { addSparkMemoryColumns } from './migrations/sparkMemory.ts';
import { createRunQueue } from './migrations/runQueue.ts';
import type { SchemaStep } from './migrations/schemaStep.ts';
import { createVersionChecksumsTable } from './migrations/versionChecksums.ts';
import type { StateDialect } from './stateDialect.ts';

export type { StateDialect } from './stateDialect.ts';

/**
 * The state store's schema, one named step per version, in the order they run. A new version is one entry
 * appended at the end (a step in migrations/); a released step is never renamed, renumbered or edited.
 */
const SCHEMA_STEPS: readonly (readonly [name: string, step: SchemaStep])[] = [
  ['0001_core', createCoreTables],
  ['0002_loads', createLoadsTable],
  ['0003_queue', createRunQueue],
  ['0004_alerts', createAlertsAndMemorySamples],
  ['0005_version_checksums', createVersionChecksumsTable],
  ['0006_process_leases', createProcessLeasesTable],
  ['0007_rollback_hold', addRollbackHold],
  ['0008_spark_memory', addSparkMemoryColumns],
];

/** Schema migrations of the state store, by name, for Kysely's Migrator (and for a check of which are applied). */
export function migrations(dialect: StateDialect): Record<string, Migration> {
  return Object.fromEntries(SCHEMA_STEPS.map(([name, step]) => [name, { up: (db) => step(db, dialect) }]));
}
