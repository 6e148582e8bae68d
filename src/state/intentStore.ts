import type { Insertable, Kysely } from 'kysely';
import { partitionKey } from './partitionKey.ts';
import { now } from './timestamp.ts';
import type { PublishIntent, PublishIntentTable, StateSchema } from './types.ts';
import { setVersionStatus } from './versionStore.ts';

/** What a claim decides about its intent; the rest (state, times) every new intent starts with. */
export type NewIntent = Omit<Insertable<PublishIntentTable>, 'id' | 'state' | 'created_at' | 'done_at'>;

/** Record a pending intent and return it; inside the claim's transaction. */
export async function insertPendingIntent(db: Kysely<StateSchema>, intent: NewIntent): Promise<PublishIntent> {
  return db
    .insertInto('publish_intents')
    .values({ ...intent, state: 'pending', created_at: now(), done_at: null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

async function readIntent(db: Kysely<StateSchema>, intentId: number): Promise<PublishIntent | undefined> {
  return db.selectFrom('publish_intents').selectAll().where('id', '=', intentId).executeTakeFirst();
}

async function markIntentDone(db: Kysely<StateSchema>, intentId: number, ts: string): Promise<void> {
  await db.updateTable('publish_intents').set({ state: 'done', done_at: ts }).where('id', '=', intentId).execute();
}

/**
 * Publish intents: written when a publish or rollback is claimed, before any file moves, and completed or
 * abandoned once the move is done or known never to happen (recovery rolls pending ones forward).
 */
export class IntentStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /** Mark an intent done: its version becomes the published one, the previous one retained. */
  async complete(intentId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const intent = await readIntent(trx, intentId);
      if (!intent || intent.state === 'done') return;
      const ts = now();
      const partition = partitionKey(intent.analyzer, intent.partition_id);
      await trx
        .updateTable('versions')
        .set({ status: 'retained' })
        .where((eb) => eb.and(partition))
        .where('status', '=', 'published')
        .execute();
      const target = { analyzer: intent.analyzer, partitionId: intent.partition_id, seq: intent.target_seq };
      await setVersionStatus(trx, target, 'published', ts);
      // A publish replaces whatever a rollback held (only runs that ignore holds get this far on a held partition).
      await trx
        .updateTable('partitions')
        .set({
          published_seq: intent.target_seq,
          pending_intent: null,
          updated_at: ts,
          ...(intent.kind === 'publish' ? { held_seq: null, held_input: null, held_at: null } : {}),
        })
        .where((eb) => eb.and(partition))
        .execute();
      await markIntentDone(trx, intentId, ts);
    });
  }

  /** Abandon a pending intent whose files are gone: the previous version stays published. */
  async abandon(intentId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const intent = await readIntent(trx, intentId);
      if (!intent || intent.state === 'done') return;
      const partition = partitionKey(intent.analyzer, intent.partition_id);
      if (intent.kind === 'publish') {
        const target = { analyzer: intent.analyzer, partitionId: intent.partition_id, seq: intent.target_seq };
        await setVersionStatus(trx, target, 'deleted');
      }
      await trx
        .updateTable('partitions')
        .set({ pending_intent: null, updated_at: now() })
        .where((eb) => eb.and(partition))
        .execute();
      if (intent.kind === 'rollback') {
        // The rollback never happened: neither does its hold.
        await trx
          .updateTable('partitions')
          .set({ held_seq: null, held_input: null, held_at: null })
          .where((eb) => eb.and(partition))
          .where('held_seq', '=', intent.target_seq)
          .execute();
      }
      await markIntentDone(trx, intentId, now());
    });
  }

  async get(intentId: number): Promise<PublishIntent | undefined> {
    return readIntent(this.db, intentId);
  }

  async pending(): Promise<PublishIntent[]> {
    return this.db.selectFrom('publish_intents').selectAll().where('state', '=', 'pending').orderBy('id').execute();
  }
}
