import type { Kysely } from 'kysely';

/**
 * 0008: a Spark attempt's executors in its memory samples, summed over executors (src/engine/spark/executorMemory.ts):
 * storage in use on and off heap, peak execution memory, and their unified max.
 */
export async function addSparkMemoryColumns(db: Kysely<unknown>): Promise<void> {
  for (const column of ['spark_on_heap_bytes', 'spark_off_heap_bytes', 'spark_execution_bytes', 'spark_max_bytes'])
    await db.schema.alterTable('memory_samples').addColumn(column, 'bigint').execute();
  // The Spark settings an attempt ran with after out-of-memory attempts of its partition (JSON; src/engine/spark/oomRetry.ts).
  await db.schema.alterTable('attempts').addColumn('spark_conf', 'text').execute();
}
