import type { Partition } from '../../../catalog/partition.ts';
import type { Analyzer } from '../../../config/project.ts';
import { formatBytes } from '../../../config/size.ts';
import { status } from '../../format.ts';
import type { Output } from '../../output.ts';
import type { CliSession } from '../../session.ts';
import { tableOf } from '../../tableOf.ts';
import { type PartitionDetail, partitionDetail } from './partitionDetail.ts';

const ATTEMPT_HEAD = [
  'attempt',
  'status',
  'started',
  'rows',
  'threads',
  'DuckDB limit',
  'DuckDB peak',
  'spilled',
  'peak RSS',
  'error',
];

const size = (b: number | null) => (b === null ? '-' : formatBytes(b));

/** `recount status <analyzer> --partition ID`: its versions, hold, queue item, attempts, loads and latest checks. */
export async function showPartition(out: Output, s: CliSession, analyzer: Analyzer, p: Partition): Promise<number> {
  const detail = await partitionDetail(s, analyzer, p);
  out.result(detail, () => {
    for (const line of partitionDetailText(detail)) out.info(line);
  });
  return 0;
}

/** The text of `recount status <analyzer> --partition ID`, line by line. */
function partitionDetailText(d: PartitionDetail): string[] {
  const lines = [
    `${d.analyzer} ${d.partition}: published ${d.publishedVersion === null ? 'nothing yet' : `v${d.publishedVersion}`} at ${d.publishedPath}`,
  ];
  if (d.held)
    lines.push(
      `held at v${d.held.version} by a rollback since ${d.held.since}: recount serve and backfill leave it there until its input changes or: recount release ${d.analyzer} --partition ${d.partition}`,
    );
  lines.push(
    tableOf(['version', 'status', 'rows', 'files', 'size', 'created'], d.versions, (v) => [
      `v${v.version}`,
      status(v.status),
      v.rows,
      v.files,
      formatBytes(v.bytes),
      v.createdAt,
    ]),
  );
  const read = d.versions.find((v) => v.version === d.publishedVersion)?.inputVersions ?? [];
  if (read.length)
    lines.push(
      `v${d.publishedVersion} was computed from ${read.map((r) => `${r.analyzer} ${r.partition} v${r.version}`).join(', ')}`,
    );
  lines.push(
    `memory budget ${formatBytes(d.budgetBytes)} per attempt (the worker's RSS may not pass it; DuckDB gets its own limit inside it)`,
  );
  lines.push(...d.queue.map(queueLine));
  lines.push(attemptsTable(d), ...d.loads.map(loadLine));
  lines.push(...latestErrorAndChecks(d));
  return lines;
}

function queueLine(q: PartitionDetail['queue'][number]): string {
  const next = q.nextThreads
    ? `, next with ${q.nextThreads} thread(s)${q.nextDuckdbBytes ? ` and DuckDB limit ${formatBytes(q.nextDuckdbBytes)}` : ''}`
    : '';
  return `queue: ${q.state} (${q.reason}), try ${q.attempts} of ${q.maxAttempts}${q.state === 'queued' ? `, not before ${q.notBefore}` : ''}${next}${q.lastError ? `; last error [${q.lastError.code}]` : ''}`;
}

function attemptsTable(d: PartitionDetail): string {
  return tableOf(ATTEMPT_HEAD, d.attempts, (a) => [
    a.attemptId,
    status(a.status),
    a.startedAt,
    a.rows ?? '-',
    a.threads,
    size(a.duckdbLimitBytes),
    size(a.duckdbPeakBytes),
    size(a.spillBytes),
    size(a.peakRssBytes),
    a.error ? `[${a.error.code}]` : '',
  ]);
}

function loadLine(l: PartitionDetail['loads'][number]): string {
  return `warehouse: v${l.version} ${l.status} → ${l.table}${l.rows !== null ? ` (${l.rows} rows)` : ''}${l.error ? ` [${l.error.code}] ${l.error.message}` : ''}`;
}

/** The latest attempt's error, if it failed, and the checks of the newest attempt that ran them. */
function latestErrorAndChecks(d: PartitionDetail): string[] {
  const lines: string[] = [];
  const last = d.attempts[0];
  if (last?.error)
    lines.push(
      `latest attempt ${status(last.status)}: [${last.error.code}] ${last.error.message}${last.error.hint ? `\n  → ${last.error.hint}` : ''}`,
    );
  if (d.lastChecks.length) {
    lines.push(`checks of attempt ${d.lastChecksAttempt}:`);
    lines.push(
      tableOf(['check', 'result', 'failing', 'sample'], d.lastChecks, (c) => [
        c.name,
        c.passed ? status('succeeded') : status('failed'),
        c.failing,
        c.sample.length ? JSON.stringify(c.sample.slice(0, 3)).slice(0, 80) : '',
      ]),
    );
  }
  return lines;
}
