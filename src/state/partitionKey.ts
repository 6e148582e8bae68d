/**
 * The columns that name one partition of one analyzer, as a Kysely equality filter: `.where((eb) => eb.and(k))`.
 * Every table keyed by partition (partitions, versions, loads, intents) spells these two columns the same way.
 */
export function partitionKey(analyzer: string, partitionId: string): { analyzer: string; partition_id: string } {
  return { analyzer, partition_id: partitionId };
}
