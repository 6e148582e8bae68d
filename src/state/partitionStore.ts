import type { Kysely } from 'kysely';
import { partitionKey } from './partitionKey.ts';
import { now } from './timestamp.ts';
import type { PartitionRow, StateSchema } from './types.ts';

/** Create a partition's row (seq 0, nothing published) unless it exists; inside a transaction or not. */
export async function ensurePartitionRow(
  db: Kysely<StateSchema>,
  analyzer: string,
  partitionId: string,
): Promise<void> {
  await db
    .insertInto('partitions')
    .values({
      ...partitionKey(analyzer, partitionId),
      seq: 0,
      published_seq: null,
      pending_intent: null,
      updated_at: now(),
      held_seq: null,
      held_input: null,
      held_at: null,
    })
    .onConflict((oc) => oc.columns(['analyzer', 'partition_id']).doNothing())
    .execute();
}

/** One partition's row, if any; inside a transaction or not. */
export async function readPartition(
  db: Kysely<StateSchema>,
  analyzer: string,
  partitionId: string,
): Promise<PartitionRow | undefined> {
  return db
    .selectFrom('partitions')
    .selectAll()
    .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
    .executeTakeFirst();
}

/**
 * Take the partition row's write lock (a no-op update) before reading under it: claims, prunes and holds of one
 * partition then happen one after another, never interleaved.
 */
export async function lockPartition(db: Kysely<StateSchema>, analyzer: string, partitionId: string): Promise<void> {
  await db
    .updateTable('partitions')
    .set({ updated_at: now() })
    .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
    .execute();
}

/** Point a partition at its pending intent (and whatever else the claim sets, such as a hold). */
export async function setPendingIntent(
  db: Kysely<StateSchema>,
  analyzer: string,
  partitionId: string,
  intentId: number,
  hold?: { seq: number; input: string | null },
): Promise<void> {
  await db
    .updateTable('partitions')
    .set({
      pending_intent: intentId,
      ...(hold ? { held_seq: hold.seq, held_input: hold.input, held_at: now() } : {}),
    })
    .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
    .execute();
}

/** The partitions' rows: the seq each attempt is based on, the published version, a pending intent, a hold. */
export class PartitionStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  async get(analyzer: string, partitionId: string): Promise<PartitionRow | undefined> {
    return readPartition(this.db, analyzer, partitionId);
  }

  async list(analyzer?: string): Promise<PartitionRow[]> {
    let q = this.db.selectFrom('partitions').selectAll();
    if (analyzer) q = q.where('analyzer', '=', analyzer);
    return q.orderBy('analyzer').orderBy('partition_id').execute();
  }

  /** Release a partition's hold; returns the version it held, or null if it held none. */
  async releaseHold(analyzer: string, partitionId: string): Promise<number | null> {
    return this.db.transaction().execute(async (trx) => {
      const p = await readPartition(trx, analyzer, partitionId);
      if (p?.held_seq == null) return null;
      await trx
        .updateTable('partitions')
        .set({ held_seq: null, held_input: null, held_at: null, updated_at: now() })
        .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
        .execute();
      return Number(p.held_seq);
    });
  }
}
