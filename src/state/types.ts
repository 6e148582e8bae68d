import type { Generated, Selectable } from 'kysely';

/** Status of one attempt. */
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'crashed' | 'superseded' | 'oom';
/** The statuses of an attempt that ended without publishing because something went wrong. */
export const FAILED_ATTEMPT_STATUSES: ReadonlySet<string> = new Set<AttemptStatus>(['failed', 'oom', 'crashed']);

/** Whether an attempt's status means it failed (failed, out of memory or crashed). */
export function isFailedStatus(status: string | null | undefined): boolean {
  return status != null && FAILED_ATTEMPT_STATUSES.has(status);
}

/** Status of one version of a partition. */
export type VersionStatus = 'publishing' | 'published' | 'retained' | 'deleted';

/** Row types of the state store's tables (SQL-dialect neutral: text, integer, bigint-as-number). */
export interface AnalyzerTable {
  name: string;
  file: string;
  sql_hash: string;
  grain: string;
  updated_at: string;
}

export interface PartitionTable {
  analyzer: string;
  partition_id: string;
  /** Last version number handed out; the compare-and-set guard of a publish. */
  seq: number;
  published_seq: number | null;
  pending_intent: number | null;
  updated_at: string;
  /** The version an operator rolled back to, held there until released or its input changes (src/run/hold.ts). */
  held_seq: number | null;
  /** The input fingerprint when the hold was placed (null: not known then; the held version's own is used). */
  held_input: string | null;
  held_at: string | null;
}

export interface RunTable {
  run_id: string;
  analyzer: string;
  partition_id: string;
  trigger: string;
  status: string;
  created_at: string;
  finished_at: string | null;
}

export interface AttemptTable {
  attempt_id: string;
  run_id: string;
  analyzer: string;
  partition_id: string;
  status: AttemptStatus;
  base_seq: number;
  version_seq: number | null;
  pid: number;
  host: string;
  /** Identifies the process beyond its pid (its start time), so a reused pid is not mistaken for it. */
  proc_token: string;
  threads: number;
  memory_bytes: number;
  staging_dir: string;
  started_at: string;
  finished_at: string | null;
  rows: number | null;
  bytes: number | null;
  files: number | null;
  peak_rss_bytes: number | null;
  input_fingerprint: string | null;
  error_code: string | null;
  error_message: string | null;
  error_hint: string | null;
  timings_json: string | null;
  /** Peak bytes spilled to disk and peak DuckDB memory by its own accounting. */
  spill_bytes: number | null;
  duckdb_peak_bytes: number | null;
  /** The Spark settings it ran with after out-of-memory attempts of its partition (JSON), else null. */
  spark_conf: string | null;
}

export interface VersionTable {
  analyzer: string;
  partition_id: string;
  seq: number;
  attempt_id: string;
  status: VersionStatus;
  dir: string;
  rows: number;
  bytes: number;
  files: number;
  manifest_sha256: string;
  input_fingerprint: string;
  sql_hash: string;
  engine_version: string;
  recount_version: string;
  created_at: string;
  published_at: string | null;
}

export interface CheckResultTable {
  id: Generated<number>;
  attempt_id: string;
  name: string;
  kind: string;
  severity: string;
  passed: number;
  failing: number;
  sample_json: string;
  message: string | null;
}

export interface PublishIntentTable {
  id: Generated<number>;
  analyzer: string;
  partition_id: string;
  kind: 'publish' | 'rollback';
  target_seq: number;
  from_seq: number | null;
  attempt_id: string | null;
  staging_dir: string | null;
  version_dir: string;
  state: 'pending' | 'done';
  created_at: string;
  done_at: string | null;
  /** The process that owns an intent without an attempt (a rollback), judged like an attempt's owner. */
  owner_host: string | null;
  owner_token: string | null;
}

/** The state store's schema as Kysely sees it. */
export interface StateSchema {
  analyzers: AnalyzerTable;
  partitions: PartitionTable;
  runs: RunTable;
  attempts: AttemptTable;
  versions: VersionTable;
  check_results: CheckResultTable;
  publish_intents: PublishIntentTable;
  run_queue: QueueTable;
  loads: LoadTable;
  alerts: AlertTable;
  memory_samples: MemorySampleTable;
  process_leases: ProcessLeaseTable;
}

/**
 * A recount process that owns attempts or queue claims, beating its lease while it lives: how a process on
 * another host (sharing a PostgreSQL state store) tells a live owner from a dead one it cannot signal.
 */
export interface ProcessLeaseTable {
  host: string;
  proc_token: string;
  pid: number;
  started_at: string;
  beat_at: string;
}

/** State of a queued run. */
export type QueueState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One run waiting for (or holding) a worker: the daemon's queue, kept in the state store so a restart loses nothing. */
export interface QueueTable {
  id: Generated<number>;
  analyzer: string;
  partition_id: string;
  /** Why it was queued: new-data, changed-input, downstream, schedule, manual, backfill. */
  reason: string;
  state: QueueState;
  /** Attempts made so far. */
  attempts: number;
  max_attempts: number;
  /** Not to be started before this instant (backoff). */
  not_before: string;
  /** Threads and DuckDB memory for the next attempt, lowered after an out-of-memory kill. */
  threads: number | null;
  memory_bytes: number | null;
  /** Input fingerprint and SQL hash when queued: a final failure blocks re-queueing until one of them changes. */
  input_fingerprint: string | null;
  sql_hash: string;
  last_attempt_id: string | null;
  last_error_code: string | null;
  last_error: string | null;
  /** The daemon holding it while running: host and process token. */
  owner_host: string | null;
  owner_token: string | null;
  created_at: string;
  updated_at: string;
}

/** Status of one warehouse load of one version: see src/warehouse/loadStore.ts. */
/** superseded: skipped, a newer version was published; replaced: was loaded, another version has replaced it in the table since. */
export type LoadStatus = 'pending' | 'loaded' | 'failed' | 'superseded' | 'replaced';

/** One load of one version of a partition into its warehouse table. */
export interface LoadTable {
  analyzer: string;
  partition_id: string;
  version_seq: number;
  table_name: string;
  status: LoadStatus;
  rows: number | null;
  /** Key checksum the load was reconciled against (src/warehouse/checksum.ts). */
  checksum: string | null;
  tries: number;
  error_code: string | null;
  error_message: string | null;
  error_hint: string | null;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A load record as read back. */
export type LoadRow = Selectable<LoadTable>;

/** Whether an alert still holds. */
export type AlertStatus = 'open' | 'resolved';

/** One alert: raised by recount's observers, de-duplicated by key (at most one open alert per key). */
export interface AlertTable {
  id: Generated<number>;
  /** What makes two raises the same alert, e.g. `check:ad_hourly/2023-10-12T09/unique_keys`. */
  key: string;
  kind: string;
  severity: string;
  status: AlertStatus;
  analyzer: string | null;
  partition_id: string | null;
  attempt_id: string | null;
  title: string;
  detail: string | null;
  /** How many times it was raised while open. */
  count: number;
  first_at: string;
  last_at: string;
  /** Last time the sinks were told (re-notifying is rate-limited). */
  notified_at: string | null;
  resolved_at: string | null;
  resolution: string | null;
}

/** One memory sample of the worker running an attempt (for the attempt's memory chart). */
export interface MemorySampleTable {
  attempt_id: string;
  at_ms: number;
  rss_bytes: number;
  heap_bytes: number;
  external_bytes: number;
  duckdb_bytes: number | null;
  spill_bytes: number | null;
  budget_bytes: number | null;
  /** A Spark attempt's executors, summed: storage in use on and off heap, peak execution memory, unified max. */
  spark_on_heap_bytes: number | null;
  spark_off_heap_bytes: number | null;
  spark_execution_bytes: number | null;
  spark_max_bytes: number | null;
}

/** An alert as read back. */
export type AlertRow = Selectable<AlertTable>;
/** A memory sample as read back. */
export type MemorySampleRow = Selectable<MemorySampleTable>;

/** A queue row as read back. */
export type QueueRow = Selectable<QueueTable>;

/** Rows as read back from the store. */
export type PublishIntent = Selectable<PublishIntentTable>;
export type CheckResultRow = Selectable<CheckResultTable>;
export type AttemptRow = Selectable<AttemptTable>;
export type VersionRow = Selectable<VersionTable>;
export type PartitionRow = Selectable<PartitionTable>;

/** Rows and key checksum of a set of rows. */
export interface RowsChecksum {
  readonly rows: number;
  readonly checksum: string;
}

/** Rows, key checksum and value checksum of a set of rows. */
export interface RowsChecksums extends RowsChecksum {
  readonly valueChecksum: string;
}
