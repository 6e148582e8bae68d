import type { Kysely } from 'kysely';
import type { CheckResult } from '../checks/check.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import { AttemptStore, type AttemptFilter } from './attemptStore.ts';
import { IntentStore } from './intentStore.ts';
import { LEASE_BEAT_MS, LeaseStore } from './leaseStore.ts';
import { LoadStore } from './loadStore.ts';
import type { StateDialect } from './stateDialect.ts';
import { migrateToLatest, migrationsCurrent } from './migrator.ts';
import { ObserveStore } from './observeStore.ts';
import { PartitionStore } from './partitionStore.ts';
import { PublishClaims } from './publishClaims.ts';
import { QueueStore } from './queueStore.ts';
import type {
  AttemptOutcome,
  ClaimResult,
  NewAttempt,
  RollbackClaimOptions,
  StagedVersion,
  StateStore,
} from './store.ts';
import { now } from './timestamp.ts';
import type { StateSchema } from './types.ts';
import { VersionStore } from './versionStore.ts';

/**
 * The StateStore over any Kysely dialect; the SQLite and PostgreSQL stores differ only in their connection.
 * It composes one sub-store per table family (attempts, partitions, versions, intents and claims, queue, loads,
 * leases, observe) and holds this process's lease.
 */
export class KyselyStateStore implements StateStore {
  readonly queue: QueueStore;
  readonly observe: ObserveStore;
  readonly loads: LoadStore;
  readonly leases: LeaseStore;
  private readonly attempts: AttemptStore;
  private readonly partitions: PartitionStore;
  private readonly versions: VersionStore;
  private readonly intents: IntentStore;
  private readonly claims: PublishClaims;
  private lease: { timer: NodeJS.Timeout; token: string } | undefined;
  private leasing: Promise<void> | undefined;

  constructor(
    readonly db: Kysely<StateSchema>,
    readonly dialect: StateDialect,
    readonly url: string,
  ) {
    this.leases = new LeaseStore(db, dialect);
    this.queue = new QueueStore(db, () => this.holdLease());
    this.observe = new ObserveStore(db);
    this.loads = new LoadStore(db);
    this.attempts = new AttemptStore(db);
    this.partitions = new PartitionStore(db);
    this.versions = new VersionStore(db);
    this.intents = new IntentStore(db);
    this.claims = new PublishClaims(db);
  }

  /**
   * Hold this process's lease from now until close(): taken before the first attempt or queue claim it records,
   * so no row names a live owner without a lease, and beaten every LEASE_BEAT_MS (a missed beat is retried at the next).
   */
  holdLease(): Promise<void> {
    this.leasing ??= (async () => {
      const token = currentProcToken();
      await this.leases.beat(HOST, token, process.pid);
      const timer = setInterval(
        () => void this.leases.beat(HOST, token, process.pid).catch(() => undefined),
        LEASE_BEAT_MS,
      );
      timer.unref();
      this.lease = { timer, token };
    })().catch((err) => {
      this.leasing = undefined;
      throw err;
    });
    return this.leasing;
  }

  /** True when every migration this recount knows has been applied (one read, no lock). */
  migrationsCurrent(): Promise<boolean> {
    return migrationsCurrent(this.db, this.dialect);
  }

  migrate(): Promise<void> {
    return migrateToLatest(this.db, this.dialect, this.url);
  }

  async close(): Promise<void> {
    if (this.lease) {
      clearInterval(this.lease.timer);
      await this.leases.release(HOST, this.lease.token).catch(() => undefined);
      this.lease = undefined;
    }
    await this.db.destroy();
  }

  async upsertAnalyzer(a: { name: string; file: string; sqlHash: string; grain: string }): Promise<void> {
    const columns = { file: a.file, sql_hash: a.sqlHash, grain: a.grain, updated_at: now() };
    await this.db
      .insertInto('analyzers')
      .values({ name: a.name, ...columns })
      .onConflict((oc) => oc.column('name').doUpdateSet(columns))
      .execute();
  }

  async beginAttempt(a: NewAttempt): Promise<{ baseSeq: number }> {
    // The attempt row names this process as its owner: its lease comes first.
    if (a.host === HOST && a.procToken === currentProcToken()) await this.holdLease();
    return this.attempts.begin(a);
  }

  finishAttempt(attemptId: string, o: AttemptOutcome): Promise<void> {
    return this.attempts.finish(attemptId, o);
  }

  recordChecks(attemptId: string, results: readonly CheckResult[]): Promise<void> {
    return this.attempts.recordChecks(attemptId, results);
  }

  claimPublish(v: StagedVersion, baseSeq: number): Promise<ClaimResult> {
    return this.claims.publish(v, baseSeq);
  }

  async claimRollback(
    analyzer: string,
    partitionId: string,
    targetSeq: number,
    versionDir: string,
    opts: RollbackClaimOptions = {},
  ): Promise<ClaimResult> {
    const owner = opts.owner ?? { host: HOST, token: currentProcToken() };
    // The intent names this process as its owner: its lease comes first (as for an attempt).
    if (owner.host === HOST && owner.token === currentProcToken()) await this.holdLease();
    const holdInput = opts.holdInput ?? null;
    return this.claims.rollback({ analyzer, partitionId, targetSeq, versionDir, owner, holdInput });
  }

  releaseHold(analyzer: string, partitionId: string): Promise<number | null> {
    return this.partitions.releaseHold(analyzer, partitionId);
  }

  deleteVersionUnlessClaimed(analyzer: string, partitionId: string, seq: number): Promise<boolean> {
    return this.versions.deleteUnlessClaimed(analyzer, partitionId, seq);
  }

  completeIntent(intentId: number): Promise<void> {
    return this.intents.complete(intentId);
  }

  abandonIntent(intentId: number, _reason: string): Promise<void> {
    return this.intents.abandon(intentId);
  }

  getIntent(intentId: number) {
    return this.intents.get(intentId);
  }

  pendingIntents() {
    return this.intents.pending();
  }

  getPartition(analyzer: string, partitionId: string) {
    return this.partitions.get(analyzer, partitionId);
  }

  listPartitions(analyzer?: string) {
    return this.partitions.list(analyzer);
  }

  getVersion(analyzer: string, partitionId: string, seq: number) {
    return this.versions.get(analyzer, partitionId, seq);
  }

  listVersions(analyzer: string, partitionId: string) {
    return this.versions.list(analyzer, partitionId);
  }

  publishedVersion(analyzer: string, partitionId: string) {
    return this.versions.published(analyzer, partitionId);
  }

  markVersionDeleted(analyzer: string, partitionId: string, seq: number): Promise<void> {
    return this.versions.markDeleted(analyzer, partitionId, seq);
  }

  getAttempt(attemptId: string) {
    return this.attempts.get(attemptId);
  }

  listAttempts(f: AttemptFilter) {
    return this.attempts.list(f);
  }

  checkResults(attemptId: string) {
    return this.attempts.checkResults(attemptId);
  }
}
