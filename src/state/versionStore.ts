import type { Kysely } from 'kysely';
import { lockPartition } from './partitionStore.ts';
import { partitionKey } from './partitionKey.ts';
import type { StagedVersion } from './store.ts';
import { now } from './timestamp.ts';
import type { StateSchema, VersionRow, VersionStatus } from './types.ts';

/** Record a staged version as publishing (its claim is being won in the same transaction). */
export async function insertPublishingVersion(db: Kysely<StateSchema>, v: StagedVersion): Promise<void> {
  await db
    .insertInto('versions')
    .values({
      ...partitionKey(v.analyzer, v.partitionId),
      seq: v.seq,
      attempt_id: v.attemptId,
      status: 'publishing',
      dir: v.versionDir,
      rows: v.rows,
      bytes: v.bytes,
      files: v.files,
      manifest_sha256: v.manifestSha256,
      input_fingerprint: v.inputFingerprint,
      sql_hash: v.sqlHash,
      engine_version: v.engineVersion,
      recount_version: v.recountVersion,
      created_at: now(),
      published_at: null,
    })
    .execute();
}

/** Set one version's status (and, when published, the time it was); inside a transaction or not. */
export async function setVersionStatus(
  db: Kysely<StateSchema>,
  version: { analyzer: string; partitionId: string; seq: number },
  status: VersionStatus,
  publishedAt?: string,
): Promise<void> {
  await db
    .updateTable('versions')
    .set({ status, ...(publishedAt ? { published_at: publishedAt } : {}) })
    .where((eb) => eb.and(partitionKey(version.analyzer, version.partitionId)))
    .where('seq', '=', version.seq)
    .execute();
}

/** The versions of partitions: publishing, published, retained for rollback, deleted. */
export class VersionStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  async get(analyzer: string, partitionId: string, seq: number): Promise<VersionRow | undefined> {
    return this.db
      .selectFrom('versions')
      .selectAll()
      .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
      .where('seq', '=', seq)
      .executeTakeFirst();
  }

  /** A partition's versions, newest first. */
  async list(analyzer: string, partitionId: string): Promise<VersionRow[]> {
    return this.db
      .selectFrom('versions')
      .selectAll()
      .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
      .orderBy('seq', 'desc')
      .execute();
  }

  /** The published version of a partition, if any. */
  async published(analyzer: string, partitionId: string): Promise<VersionRow | undefined> {
    return this.db
      .selectFrom('versions')
      .selectAll()
      .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
      .where('status', '=', 'published')
      .executeTakeFirst();
  }

  async markDeleted(analyzer: string, partitionId: string, seq: number): Promise<void> {
    await setVersionStatus(this.db, { analyzer, partitionId, seq }, 'deleted');
  }

  /** Record a retained version as deleted unless a pending intent targets it; false if it was kept. */
  async deleteUnlessClaimed(analyzer: string, partitionId: string, seq: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Lock the partition's row first, as the claims do, so the check and the deletion are one step for them.
      await lockPartition(trx, analyzer, partitionId);
      const claimed = await trx
        .selectFrom('publish_intents')
        .select('id')
        .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
        .where('target_seq', '=', seq)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (claimed) return false;
      const r = await trx
        .updateTable('versions')
        .set({ status: 'deleted' })
        .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
        .where('seq', '=', seq)
        .where('status', '=', 'retained')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }
}
