import type { Insertable, Updateable } from 'kysely';
import type { AttemptOutcome, NewAttempt } from './store.ts';
import { now } from './timestamp.ts';
import type { AttemptTable } from './types.ts';

/** An attempt's row as recorded when it starts: running, based on the partition's seq, nothing measured yet. */
export function startedAttemptRow(a: NewAttempt, baseSeq: number): Insertable<AttemptTable> {
  return {
    attempt_id: a.attemptId,
    run_id: a.runId,
    analyzer: a.analyzer,
    partition_id: a.partitionId,
    status: 'running',
    base_seq: baseSeq,
    version_seq: null,
    pid: a.pid,
    host: a.host,
    proc_token: a.procToken,
    threads: a.threads,
    memory_bytes: a.memoryBytes,
    staging_dir: a.stagingDir,
    spark_conf: a.sparkConf ? JSON.stringify(a.sparkConf) : null,
    started_at: now(),
    finished_at: null,
    rows: null,
    bytes: null,
    files: null,
    peak_rss_bytes: null,
    input_fingerprint: null,
    error_code: null,
    error_message: null,
    error_hint: null,
    timings_json: null,
    spill_bytes: null,
    duckdb_peak_bytes: null,
  };
}

/** The columns an attempt's outcome sets when it finishes (what it did not measure stays null). */
export function finishedAttemptColumns(o: AttemptOutcome): Updateable<AttemptTable> {
  return {
    status: o.status,
    finished_at: now(),
    rows: o.rows ?? null,
    bytes: o.bytes ?? null,
    files: o.files ?? null,
    peak_rss_bytes: o.peakRssBytes ?? null,
    input_fingerprint: o.inputFingerprint ?? null,
    version_seq: o.versionSeq ?? null,
    error_code: o.error?.code ?? null,
    error_message: o.error?.message ?? null,
    error_hint: o.error?.hint ?? null,
    timings_json: o.timings ? JSON.stringify(o.timings) : null,
    spill_bytes: o.spillBytes ?? null,
    duckdb_peak_bytes: o.duckdbPeakBytes ?? null,
  };
}
