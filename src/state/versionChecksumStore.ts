import type { Kysely } from 'kysely';
import type { RowsChecksums, StateSchema } from './types.ts';

/** A row of `version_checksums` (migration 0005). */
interface VersionChecksumTable {
  analyzer: string;
  partition_id: string;
  version_seq: number;
  plan: string;
  rows: number | string;
  key_checksum: string;
  value_checksum: string;
  computed_at: string;
}

/** Which version, checksummed under which plan (planSignature). */
export interface VersionChecksumKey {
  readonly analyzer: string;
  readonly partitionId: string;
  readonly versionSeq: number;
  readonly plan: string;
}

/**
 * The state store's cache of a version's checksums, computed from its Parquet files by `recount monitor`. A
 * version never changes once published, so an entry never goes stale; a new plan (a column added to the table)
 * is a new entry.
 */
export class VersionChecksumStore {
  private readonly db: Kysely<StateSchema & { version_checksums: VersionChecksumTable }>;

  constructor(db: Kysely<StateSchema>) {
    this.db = db.withTables<{ version_checksums: VersionChecksumTable }>();
  }

  /** The cached checksums, if this version was checksummed under this plan before. */
  async get(k: VersionChecksumKey): Promise<RowsChecksums | undefined> {
    const r = await this.db
      .selectFrom('version_checksums')
      .select(['rows', 'key_checksum', 'value_checksum'])
      .where('analyzer', '=', k.analyzer)
      .where('partition_id', '=', k.partitionId)
      .where('version_seq', '=', k.versionSeq)
      .where('plan', '=', k.plan)
      .executeTakeFirst();
    return r && { rows: Number(r.rows), checksum: r.key_checksum, valueChecksum: r.value_checksum };
  }

  /** Remember a version's checksums; a second sweep that computed the same ones meanwhile changes nothing. */
  async put(k: VersionChecksumKey, c: RowsChecksums): Promise<void> {
    await this.db
      .insertInto('version_checksums')
      .values({
        analyzer: k.analyzer,
        partition_id: k.partitionId,
        version_seq: k.versionSeq,
        plan: k.plan,
        rows: c.rows,
        key_checksum: c.checksum,
        value_checksum: c.valueChecksum,
        computed_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.columns(['analyzer', 'partition_id', 'version_seq', 'plan']).doNothing())
      .execute();
  }
}
