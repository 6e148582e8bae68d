import type { Kysely } from 'kysely';
import { insertPendingIntent } from './intentStore.ts';
import { partitionKey } from './partitionKey.ts';
import { readPartition, setPendingIntent } from './partitionStore.ts';
import type { ClaimResult, StagedVersion } from './store.ts';
import { now } from './timestamp.ts';
import type { PartitionRow, StateSchema } from './types.ts';
import { insertPublishingVersion } from './versionStore.ts';

/** What a rollback claims: the kept version to return to, its folder, who owns the claim, the input held on. */
export interface RollbackClaim {
  readonly analyzer: string;
  readonly partitionId: string;
  readonly targetSeq: number;
  readonly versionDir: string;
  readonly owner: { readonly host: string; readonly token: string };
  readonly holdInput: string | null;
}

/** Why a publish lost its claim, from the partition's row as the winner left it. */
function publishLostReason(v: StagedVersion, baseSeq: number, p: PartitionRow | undefined): string {
  if (p?.pending_intent != null) return 'another publish of this partition is in progress';
  if (v.respectHold && p?.held_seq != null && Number(p.seq) === baseSeq) {
    return `the partition is held at v${p.held_seq} by a rollback (recount release ${v.analyzer} --partition ${v.partitionId} releases it)`;
  }
  return `another attempt published version ${p?.seq} first`;
}

/**
 * Compare-and-set of a partition's seq: the guarded UPDATE comes first so the transaction takes the write lock
 * before it reads; true when this claim took seq+1.
 */
async function takeNextSeq(db: Kysely<StateSchema>, v: StagedVersion, baseSeq: number): Promise<boolean> {
  const updated = await db
    .updateTable('partitions')
    .set({ seq: baseSeq + 1, updated_at: now() })
    .where((eb) => eb.and(partitionKey(v.analyzer, v.partitionId)))
    .where('seq', '=', baseSeq)
    .where('pending_intent', 'is', null)
    .$if(v.respectHold === true, (q) => q.where('held_seq', 'is', null))
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Whether a version is still kept (retained or published), read under the partition's lock. */
async function versionKept(db: Kysely<StateSchema>, c: RollbackClaim): Promise<boolean> {
  const target = await db
    .selectFrom('versions')
    .select('status')
    .where((eb) => eb.and(partitionKey(c.analyzer, c.partitionId)))
    .where('seq', '=', c.targetSeq)
    .executeTakeFirst();
  return target?.status === 'retained' || target?.status === 'published';
}

/** The claims that start a publish or a rollback: one winner per partition, recorded with its pending intent. */
export class PublishClaims {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /**
   * If the partition's seq still equals `baseSeq` and no publish is pending, take seq+1, record the version as
   * publishing and a pending intent, all in one transaction.
   */
  async publish(v: StagedVersion, baseSeq: number): Promise<ClaimResult> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await takeNextSeq(trx, v, baseSeq))) {
        const reason = publishLostReason(v, baseSeq, await readPartition(trx, v.analyzer, v.partitionId));
        return { won: false as const, reason };
      }
      const p = await readPartition(trx, v.analyzer, v.partitionId);
      await insertPublishingVersion(trx, v);
      const intent = await insertPendingIntent(trx, {
        ...partitionKey(v.analyzer, v.partitionId),
        kind: 'publish',
        target_seq: v.seq,
        from_seq: p!.published_seq,
        attempt_id: v.attemptId,
        staging_dir: v.stagingDir,
        version_dir: v.versionDir,
        owner_host: null,
        owner_token: null,
      });
      await setPendingIntent(trx, v.analyzer, v.partitionId, intent.id);
      return { won: true as const, intent };
    });
  }

  /** Record a pending rollback intent to a kept version and hold the partition at it until released. */
  async rollback(c: RollbackClaim): Promise<ClaimResult> {
    return this.db.transaction().execute(async (trx) => {
      const p = await readPartition(trx, c.analyzer, c.partitionId);
      if (!p) return { won: false as const, reason: 'the partition has no versions' };
      const locked = await trx
        .updateTable('partitions')
        .set({ updated_at: now() })
        .where((eb) => eb.and(partitionKey(c.analyzer, c.partitionId)))
        .where('pending_intent', 'is', null)
        .where('seq', '=', p.seq)
        .executeTakeFirst();
      if (Number(locked.numUpdatedRows) !== 1)
        return { won: false as const, reason: 'another publish of this partition is in progress' };
      // Read under the partition's lock, which a prune's deletion takes too: a version pruned a moment ago is no target.
      if (!(await versionKept(trx, c)))
        return { won: false as const, reason: `version ${c.targetSeq} is no longer kept` };
      const intent = await insertPendingIntent(trx, {
        ...partitionKey(c.analyzer, c.partitionId),
        kind: 'rollback',
        target_seq: c.targetSeq,
        from_seq: p.published_seq,
        attempt_id: null,
        staging_dir: null,
        version_dir: c.versionDir,
        owner_host: c.owner.host,
        owner_token: c.owner.token,
      });
      // The rollback holds the partition from its claim on (cleared again if the intent is abandoned).
      await setPendingIntent(trx, c.analyzer, c.partitionId, intent.id, { seq: c.targetSeq, input: c.holdInput });
      return { won: true as const, intent };
    });
  }
}
