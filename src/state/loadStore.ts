import type { Kysely } from 'kysely';
import type { LoadRow, LoadStatus, StateSchema } from './types.ts';
import { VersionChecksumStore } from './versionChecksumStore.ts';
import { partitionKey } from './partitionKey.ts';
import { now } from './timestamp.ts';

/** How one load of one version ended, as the state store records it. */
export interface LoadRecordOutcome {
  readonly status: LoadStatus;
  readonly rows?: number;
  readonly checksum?: string;
  readonly error?: { code: string; message: string; hint?: string };
}

/** A load `recount serve` owes: the published version of a partition, not yet in its table. */
export interface OwedLoad {
  readonly analyzer: string;
  readonly partitionId: string;
  readonly versionSeq: number;
  /** Loads of this version tried so far (0: never begun). */
  readonly tries: number;
  /** When the last try ended or began, else when the version was published (ISO). */
  readonly lastAt: string;
  readonly errorCode?: string;
}

/**
 * The state store's record of warehouse loads: one row per (analyzer, partition, version), written
 * `pending` before the warehouse transaction starts, so a load killed mid-way is still owed, and finished
 * as loaded, pending (a transient failure: unreachable warehouse, failed COPY), failed (needs a fix first:
 * incompatible table, reconciliation mismatch, version files gone), superseded (a newer version was
 * published meanwhile) or, later, replaced (another version was loaded over it). A load owed is one whose
 * version is the published one and not in its table.
 */
export class LoadStore {
  /** Checksums of versions' files, cached for recount monitor. */
  readonly checksums: VersionChecksumStore;

  constructor(private readonly db: Kysely<StateSchema>) {
    this.checksums = new VersionChecksumStore(db);
  }

  /** Record that a version is being loaded into a table (pending until finish); counts the try. */
  async begin(l: { analyzer: string; partitionId: string; versionSeq: number; table: string }): Promise<void> {
    await beginLoad(this.db, l);
  }

  /** Record how a load ended; the last error stays with a pending or failed load. One transaction (one commit). */
  async finish(analyzer: string, partitionId: string, versionSeq: number, o: LoadRecordOutcome): Promise<void> {
    await this.finishMany([{ analyzer, partitionId, versionSeq, outcome: o }]);
  }

  /** Record how several loads ended, in one transaction: the loads a warehouse committed together. */
  async finishMany(
    loads: readonly { analyzer: string; partitionId: string; versionSeq: number; outcome: LoadRecordOutcome }[],
  ): Promise<void> {
    if (loads.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const l of loads) await finishLoad(trx, l.analyzer, l.partitionId, l.versionSeq, l.outcome);
    });
  }

  /** Loads owed: pending (with `includeFailed`, failed too) loads of versions that are still the published ones. */
  async pending(filter: { analyzer?: string; includeFailed?: boolean } = {}): Promise<LoadRow[]> {
    let q = this.db
      .selectFrom('loads')
      .innerJoin('partitions', (j) =>
        j
          .onRef('partitions.analyzer', '=', 'loads.analyzer')
          .onRef('partitions.partition_id', '=', 'loads.partition_id')
          .onRef('partitions.published_seq', '=', 'loads.version_seq'),
      )
      .selectAll('loads')
      .where('loads.status', 'in', filter.includeFailed ? ['pending', 'failed'] : ['pending']);
    if (filter.analyzer) q = q.where('loads.analyzer', '=', filter.analyzer);
    return q.orderBy('loads.analyzer').orderBy('loads.partition_id').execute();
  }

  /**
   * Published versions of these analyzers that their table does not hold and nothing stops from loading:
   * never begun (a worker killed between publish and load), pending (a transient failure, or a load killed
   * mid-way), or superseded/replaced and then published again by a rollback. `failed` ones wait for a fix and `recount load --pending`. What `recount serve` retries.
   */
  async owed(analyzers: readonly string[]): Promise<OwedLoad[]> {
    if (analyzers.length === 0) return [];
    const rows = await this.db
      .selectFrom('partitions')
      .innerJoin('versions', (j) =>
        j
          .onRef('versions.analyzer', '=', 'partitions.analyzer')
          .onRef('versions.partition_id', '=', 'partitions.partition_id')
          .onRef('versions.seq', '=', 'partitions.published_seq'),
      )
      .leftJoin('loads', (j) =>
        j
          .onRef('loads.analyzer', '=', 'partitions.analyzer')
          .onRef('loads.partition_id', '=', 'partitions.partition_id')
          .onRef('loads.version_seq', '=', 'partitions.published_seq'),
      )
      .select([
        'partitions.analyzer',
        'partitions.partition_id',
        'partitions.published_seq',
        'versions.published_at',
        'versions.created_at',
        'loads.status',
        'loads.tries',
        'loads.started_at',
        'loads.finished_at',
        'loads.error_code',
      ])
      .where('partitions.analyzer', 'in', analyzers)
      .where('partitions.published_seq', 'is not', null)
      // superseded or replaced: the table holds another version, yet this one is published again (a rollback).
      .where((eb) =>
        eb.or([eb('loads.status', 'is', null), eb('loads.status', 'in', ['pending', 'superseded', 'replaced'])]),
      )
      .orderBy('partitions.analyzer')
      .orderBy('partitions.partition_id')
      .execute();
    return rows.map((r) => ({
      analyzer: r.analyzer,
      partitionId: r.partition_id,
      versionSeq: Number(r.published_seq),
      tries: Number(r.tries ?? 0),
      lastAt: r.finished_at ?? r.started_at ?? r.published_at ?? r.created_at,
      errorCode: r.error_code ?? undefined,
    }));
  }

  /** Load records, newest version first per partition; all of them unless `limit`. */
  async list(filter: { analyzer?: string; partitionId?: string; limit?: number } = {}): Promise<LoadRow[]> {
    let q = this.db.selectFrom('loads').selectAll();
    if (filter.analyzer) q = q.where('analyzer', '=', filter.analyzer);
    if (filter.partitionId) q = q.where('partition_id', '=', filter.partitionId);
    q = q.orderBy('analyzer').orderBy('partition_id').orderBy('version_seq', 'desc');
    return (filter.limit === undefined ? q : q.limit(filter.limit)).execute();
  }

  /** The record of one version's load, if it was ever tried. */
  async get(analyzer: string, partitionId: string, versionSeq: number): Promise<LoadRow | undefined> {
    return this.db
      .selectFrom('loads')
      .selectAll()
      .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
      .where('version_seq', '=', versionSeq)
      .executeTakeFirst();
  }
}

/** Record a load as pending (until finished) and count the try; inside a transaction or not. */
/** How one load ended, in the caller's transaction. */
async function finishLoad(
  db: Kysely<StateSchema>,
  analyzer: string,
  partitionId: string,
  versionSeq: number,
  o: LoadRecordOutcome,
): Promise<void> {
  await db
    .updateTable('loads')
    .set({
      status: o.status,
      rows: o.rows ?? null,
      checksum: o.checksum ?? null,
      error_code: o.error?.code ?? null,
      error_message: o.error?.message ?? null,
      error_hint: o.error?.hint ?? null,
      finished_at: now(),
    })
    .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
    .where('version_seq', '=', versionSeq)
    .execute();
  // One version's rows at a time in a partition: the one loaded before is no longer in the table, so a
  // rollback to it later is owed a load again (owed() below), not taken for loaded.
  if (o.status === 'loaded') {
    await db
      .updateTable('loads')
      .set({ status: 'replaced' })
      .where((eb) => eb.and(partitionKey(analyzer, partitionId)))
      .where('version_seq', '!=', versionSeq)
      .where('status', '=', 'loaded')
      .execute();
  }
}

export async function beginLoad(
  db: Kysely<StateSchema>,
  l: { analyzer: string; partitionId: string; versionSeq: number; table: string },
): Promise<void> {
  const ts = now();
  await db
    .insertInto('loads')
    .values({
      ...partitionKey(l.analyzer, l.partitionId),
      version_seq: l.versionSeq,
      table_name: l.table,
      status: 'pending',
      rows: null,
      checksum: null,
      tries: 1,
      error_code: null,
      error_message: null,
      error_hint: null,
      requested_at: ts,
      started_at: ts,
      finished_at: null,
    })
    .onConflict((oc) =>
      oc.columns(['analyzer', 'partition_id', 'version_seq']).doUpdateSet((eb) => ({
        status: 'pending',
        table_name: l.table,
        tries: eb(eb.ref('loads.tries'), '+', 1),
        started_at: ts,
        finished_at: null,
      })),
    )
    .execute();
}
