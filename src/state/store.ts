import type {
  AttemptStatus,
  AttemptRow as AttemptTable,
  CheckResultRow as CheckResultTable,
  PartitionRow as PartitionTable,
  PublishIntent as PublishIntentTable,
  VersionRow as VersionTable,
} from './types.ts';
import type { CheckResult } from '../checks/check.ts';
import type { QueueStore } from './queueStore.ts';
import type { ObserveStore } from './observeStore.ts';
import type { LoadStore } from './loadStore.ts';
import type { LeaseStore } from './leaseStore.ts';

/** A new attempt as recorded when it starts. */
export interface NewAttempt {
  readonly runId: string;
  readonly attemptId: string;
  readonly analyzer: string;
  readonly partitionId: string;
  readonly trigger: string;
  readonly pid: number;
  readonly host: string;
  readonly procToken: string;
  readonly threads: number;
  readonly memoryBytes: number;
  readonly stagingDir: string;
  /** Spark settings it runs with after out-of-memory attempts of its partition. */
  readonly sparkConf?: Readonly<Record<string, string>>;
}

/** How an attempt ended. */
export interface AttemptOutcome {
  readonly status: AttemptStatus;
  readonly rows?: number;
  readonly bytes?: number;
  readonly files?: number;
  readonly peakRssBytes?: number;
  readonly spillBytes?: number;
  readonly duckdbPeakBytes?: number;
  readonly inputFingerprint?: string;
  readonly versionSeq?: number;
  readonly error?: { code: string; message: string; hint?: string };
  readonly timings?: Record<string, number>;
  /** The attempt's check results, recorded in the same transaction (one commit, not two). */
  readonly checks?: readonly CheckResult[];
  /**
   * A load of the published version that follows at once, recorded as pending in the same transaction: the load
   * is owed from the instant the attempt is recorded as succeeded, and the load needs no commit of its own first.
   */
  readonly owedLoad?: { readonly table: string };
}

/** A version staged and ready to publish. */
export interface StagedVersion {
  readonly analyzer: string;
  readonly partitionId: string;
  readonly seq: number;
  readonly attemptId: string;
  readonly stagingDir: string;
  readonly versionDir: string;
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly manifestSha256: string;
  readonly inputFingerprint: string;
  readonly sqlHash: string;
  readonly engineVersion: string;
  readonly recountVersion: string;
  /** Lose the claim if a rollback holds the partition (runs recount serve or a backfill without --force started). */
  readonly respectHold?: boolean;
}

/** Who owns a rollback's intent and what input its hold was placed on. */
export interface RollbackClaimOptions {
  /** Default: this process (its lease is taken first). */
  readonly owner?: { readonly host: string; readonly token: string };
  /** The partition's input fingerprint now; a different one later releases the hold. */
  readonly holdInput?: string | null;
}

/** The outcome of a publish claim: won (intent recorded) or lost to another attempt. */
export type ClaimResult = { won: true; intent: PublishIntentTable } | { won: false; reason: string };

/**
 * recount's source of truth: analyzers, partitions, runs, attempts, versions, check results and
 * publish intents. Implementations: SQLite (embedded) and, later, PostgreSQL; both through Kysely.
 */
export interface StateStore {
  readonly url: string;
  /** The daemon's run queue (recount serve). */
  readonly queue: QueueStore;
  /** Alerts, memory samples and summaries for metrics and the dashboard. */
  readonly observe: ObserveStore;
  /** Warehouse loads: pending, loaded, failed (recount load, recount monitor). */
  readonly loads: LoadStore;
  /** Leases of the processes that own attempts and claims, for liveness across hosts. */
  readonly leases: LeaseStore;
  /** Take and keep beating this process's lease until close() (done by beginAttempt and queue claims). */
  holdLease(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;

  upsertAnalyzer(a: { name: string; file: string; sqlHash: string; grain: string }): Promise<void>;

  /** Record a new run and its first attempt; returns the partition's seq the attempt is based on. */
  beginAttempt(a: NewAttempt): Promise<{ baseSeq: number }>;
  finishAttempt(attemptId: string, outcome: AttemptOutcome): Promise<void>;
  recordChecks(attemptId: string, results: readonly CheckResult[]): Promise<void>;

  /**
   * Compare-and-set: if the partition's seq still equals `baseSeq` and no publish is pending, take seq+1,
   * record the version as publishing and a pending intent, all in one transaction.
   */
  claimPublish(v: StagedVersion, baseSeq: number): Promise<ClaimResult>;
  /**
   * Record a pending rollback intent to a kept version, owned by a process (recovery leaves it alone while that
   * process lives), and hold the partition at that version until released.
   */
  claimRollback(
    analyzer: string,
    partitionId: string,
    targetSeq: number,
    versionDir: string,
    opts?: RollbackClaimOptions,
  ): Promise<ClaimResult>;
  /** Release a partition's hold; returns the version it held, or null if it held none. */
  releaseHold(analyzer: string, partitionId: string): Promise<number | null>;
  /** Record a retained version as deleted unless a pending intent targets it; false if it was kept. */
  deleteVersionUnlessClaimed(analyzer: string, partitionId: string, seq: number): Promise<boolean>;
  /** Mark an intent done: its version becomes the published one, the previous one retained. */
  completeIntent(intentId: number): Promise<void>;
  /** Abandon a pending intent whose files are gone: the previous version stays published. */
  abandonIntent(intentId: number, reason: string): Promise<void>;
  pendingIntents(): Promise<PublishIntentTable[]>;
  getIntent(intentId: number): Promise<PublishIntentTable | undefined>;

  getPartition(analyzer: string, partitionId: string): Promise<PartitionTable | undefined>;
  listPartitions(analyzer?: string): Promise<PartitionTable[]>;
  getVersion(analyzer: string, partitionId: string, seq: number): Promise<VersionTable | undefined>;
  listVersions(analyzer: string, partitionId: string): Promise<VersionTable[]>;
  /** The published version of a partition, if any. */
  publishedVersion(analyzer: string, partitionId: string): Promise<VersionTable | undefined>;
  markVersionDeleted(analyzer: string, partitionId: string, seq: number): Promise<void>;

  getAttempt(attemptId: string): Promise<AttemptTable | undefined>;
  listAttempts(filter: {
    analyzer?: string;
    partitionId?: string;
    status?: AttemptStatus;
    limit?: number;
  }): Promise<AttemptTable[]>;
  checkResults(attemptId: string): Promise<CheckResultTable[]>;
}
