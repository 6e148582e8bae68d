import type { Partition } from '../../../catalog/partition.ts';
import { inputVersionsOf } from '../../../commit/manifest.ts';
import type { Analyzer } from '../../../config/project.ts';
import type { AttemptRow, CheckResultRow, LoadRow, QueueRow, VersionRow } from '../../../state/types.ts';
import type { CliSession } from '../../session.ts';

function versionJson(v: VersionRow) {
  return {
    version: v.seq,
    status: v.status,
    rows: Number(v.rows),
    files: Number(v.files),
    bytes: Number(v.bytes),
    attemptId: v.attempt_id,
    engineVersion: v.engine_version,
    inputFingerprint: v.input_fingerprint,
    inputVersions: inputVersionsOf(v.dir),
    createdAt: v.created_at,
    dir: v.dir,
  };
}

/** A count or size from the store as a number (a driver may hand back a string or a bigint), null kept. */
const numberOrNull = (n: number | null) => (n === null ? null : Number(n));

function queueItemJson(q: QueueRow) {
  return {
    state: q.state,
    reason: q.reason,
    attempts: q.attempts,
    maxAttempts: q.max_attempts,
    notBefore: q.not_before,
    nextThreads: q.threads,
    nextDuckdbBytes: numberOrNull(q.memory_bytes),
    lastError: q.last_error_code ? { code: q.last_error_code, message: q.last_error } : null,
  };
}

function attemptJson(a: AttemptRow) {
  return {
    attemptId: a.attempt_id,
    status: a.status,
    startedAt: a.started_at,
    finishedAt: a.finished_at,
    rows: numberOrNull(a.rows),
    peakRssBytes: numberOrNull(a.peak_rss_bytes),
    threads: a.threads,
    duckdbLimitBytes: Number(a.memory_bytes),
    duckdbPeakBytes: numberOrNull(a.duckdb_peak_bytes),
    spillBytes: numberOrNull(a.spill_bytes),
    sparkConf: a.spark_conf ? (JSON.parse(a.spark_conf) as Record<string, string>) : null,
    error: a.error_code ? { code: a.error_code, message: a.error_message, hint: a.error_hint } : null,
  };
}

function loadJson(l: LoadRow) {
  return {
    version: Number(l.version_seq),
    table: l.table_name,
    status: l.status,
    rows: numberOrNull(l.rows),
    tries: Number(l.tries),
    error: l.error_code ? { code: l.error_code, message: l.error_message, hint: l.error_hint } : null,
  };
}

function checkJson(c: CheckResultRow) {
  return {
    name: c.name,
    kind: c.kind,
    severity: c.severity,
    passed: c.passed === 1,
    failing: Number(c.failing),
    sample: JSON.parse(c.sample_json) as unknown[],
    message: c.message,
  };
}

/** The checks of the newest attempt that got as far as its checks (one that failed before them, e.g. input not ready, has none). */
async function latestChecks(s: CliSession, attempts: AttemptRow[]) {
  for (const a of attempts) {
    const checks = await s.store.checkResults(a.attempt_id);
    if (checks.length) return { attemptId: a.attempt_id, checks };
  }
  return { attemptId: null, checks: [] };
}

/** Everything `recount status <analyzer> --partition ID` shows: versions, hold, queue, attempts, loads and checks. */
export async function partitionDetail(s: CliSession, analyzer: Analyzer, p: Partition) {
  const partition = await s.store.getPartition(analyzer.name, p.id);
  const versions = await s.store.listVersions(analyzer.name, p.id);
  const attempts = await s.store.listAttempts({ analyzer: analyzer.name, partitionId: p.id, limit: 20 });
  const checks = await latestChecks(s, attempts);
  const queued = (await s.store.queue.list(['queued', 'running'], analyzer.name)).filter(
    (q) => q.partition_id === p.id,
  );
  const loads = analyzer.load
    ? await s.store.loads.list({ analyzer: analyzer.name, partitionId: p.id, limit: 10 })
    : [];
  return {
    ok: true,
    analyzer: analyzer.name,
    partition: p.id,
    publishedVersion: partition?.published_seq ?? null,
    held: partition?.held_seq != null ? { version: partition.held_seq, since: partition.held_at } : null,
    publishedPath: s.layout.publishedPath(analyzer.name, p),
    versions: versions.map(versionJson),
    budgetBytes: analyzer.memoryBytes,
    queue: queued.map(queueItemJson),
    attempts: attempts.map(attemptJson),
    loads: loads.map(loadJson),
    lastChecksAttempt: checks.attemptId,
    lastChecks: checks.checks.map(checkJson),
  };
}

/** The document `recount status <analyzer> --partition ID --json` prints. */
export type PartitionDetail = Awaited<ReturnType<typeof partitionDetail>>;
