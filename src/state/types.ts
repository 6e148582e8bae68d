import type { Generated, Selectable } from 'kysely';

/** Status of one attempt. */
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'crashed' | 'superseded' | 'oom';
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
}

/** Rows as read back from the store. */
export type PublishIntent = Selectable<PublishIntentTable>;
export type CheckResultRow = Selectable<CheckResultTable>;
export type AttemptRow = Selectable<AttemptTable>;
export type VersionRow = Selectable<VersionTable>;
export type PartitionRow = Selectable<PartitionTable>;
