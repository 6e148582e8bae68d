import { lagWords } from '../../../scheduler/lag.ts';
import { type AttemptRow, isFailedStatus, type QueueRow } from '../../../state/types.ts';
import { status } from '../../format.ts';
import type { Output } from '../../output.ts';
import type { CliSession } from '../../session.ts';
import { tableOf } from '../../tableOf.ts';
import { type AnalyzerSummary, type QueueView, readQueue, summarizeAnalyzer } from './analyzerSummary.ts';

/** Failures a later success has not fixed: the latest attempt of each partition, when it failed (at most five). */
async function recentFailures(s: CliSession): Promise<AttemptRow[]> {
  const latestByPartition = new Map<string, AttemptRow>();
  for (const x of await s.store.listAttempts({ limit: 500 }))
    if (!latestByPartition.has(`${x.analyzer}/${x.partition_id}`))
      latestByPartition.set(`${x.analyzer}/${x.partition_id}`, x);
  return [...latestByPartition.values()].filter((x) => isFailedStatus(x.status)).slice(0, 5);
}

function queueItemJson(q: QueueRow, queue: QueueView) {
  return {
    analyzer: q.analyzer,
    partition: q.partition_id,
    state: q.state,
    heldByLiveDaemon: queue.heldByLiveDaemon(q),
    reason: q.reason,
    attempts: q.attempts,
    notBefore: q.not_before,
    lastError: q.last_error,
  };
}

function failureJson(x: AttemptRow) {
  return {
    analyzer: x.analyzer,
    partition: x.partition_id,
    attemptId: x.attempt_id,
    status: x.status,
    at: x.finished_at,
    code: x.error_code,
    message: x.error_message,
    hint: x.error_hint,
  };
}

/**
 * `recount status`: every analyzer in one table, then what runs, what a dead daemon holds, loads owed, partitions
 * before the scheduling window, runs failed for good and the last failures. Exit 1 when anything is failing.
 */
export async function showAnalyzers(out: Output, s: CliSession): Promise<number> {
  const queue = await readQueue(s);
  const summary: AnalyzerSummary[] = [];
  for (const a of s.project.analyzers.values()) summary.push(await summarizeAnalyzer(s, a, queue));
  const failures = await recentFailures(s);
  const healthy = summary.every((r) => r.failing.length === 0 && r.failedForGood.length === 0);
  out.result(
    {
      ok: healthy,
      analyzers: summary,
      queue: queue.active.map((q) => queueItemJson(q, queue)),
      recentFailures: failures.map(failureJson),
    },
    () => {
      for (const line of analyzersText(summary, queue, failures)) out.info(line);
    },
  );
  return healthy ? 0 : 1;
}

const HEAD = [
  'analyzer',
  'grain',
  'published',
  'failing',
  'queued',
  'running',
  'newest ready',
  'newest published',
  'lag',
];

function analyzersText(summary: AnalyzerSummary[], queue: QueueView, failures: AttemptRow[]): string[] {
  const lines = [
    tableOf(HEAD, summary, (r) => [
      r.analyzer,
      r.grain,
      String(r.published),
      r.failing.length ? `${status('failed')} ${r.failing.length}` : '0',
      String(r.queued),
      String(r.running),
      r.newestReady ?? '-',
      r.newestPublished ?? '-',
      lagWords({ seconds: r.lagSeconds, readyUnpublished: r.readyUnpublished }),
    ]),
  ];
  const names = (items: QueueRow[]) => items.map((q) => `${q.analyzer} ${q.partition_id}`).join(', ');
  const running = queue.active.filter((q) => q.state === 'running' && queue.heldByLiveDaemon(q));
  if (running.length) lines.push(`running: ${names(running)}`);
  const orphaned = queue.active.filter((q) => !queue.heldByLiveDaemon(q));
  if (orphaned.length)
    lines.push(`held by a daemon that is gone (requeued when recount serve starts): ${names(orphaned)}`);
  for (const r of summary) lines.push(...analyzerNotes(r));
  if (failures.length) {
    lines.push('last failures (not fixed by a later attempt):');
    for (const f of failures)
      lines.push(`  ${status(f.status)} ${f.analyzer} ${f.partition_id} at ${f.finished_at ?? '-'}: ${errorLines(f)}`);
  }
  return lines;
}

/** What an analyzer owes beyond its row in the table: loads, partitions before its window, runs failed for good. */
function analyzerNotes(r: AnalyzerSummary): string[] {
  const lines: string[] = [];
  if (r.loadsOwed || r.loadsFailed)
    lines.push(
      `${r.analyzer}: ${r.loadTable} lacks ${r.loadsOwed + r.loadsFailed} published version(s)${r.loadsFailed ? ` (${r.loadsFailed} failed, need a fix)` : ''}: recount load ${r.analyzer} --pending`,
    );
  if (r.beforeWindow)
    lines.push(
      `${r.analyzer}: ${r.beforeWindow} partition(s) with input before ${r.windowStart.slice(0, 13)} are not published; recount serve only considers partitions from there on (set start in the analyzer, or run recount backfill)`,
    );
  if (r.failedForGood.length)
    lines.push(
      `${r.analyzer}: failed for good, not retried until its input or SQL changes: ${r.failedForGood.slice(0, 5).join(', ')}${r.failedForGood.length > 5 ? ` and ${r.failedForGood.length - 5} more` : ''} — after fixing the cause: recount backfill ${r.analyzer} --from ${r.failedForGood[0]} --to ${r.failedForGood.at(-1)} --force`,
    );
  return lines;
}

/** An error in full, with its hint on the next line (never cut: the message names the file or setting at fault). */
function errorLines(f: { error_code: string | null; error_message: string | null; error_hint: string | null }): string {
  return `[${f.error_code}] ${f.error_message ?? ''}${f.error_hint ? `\n      → ${f.error_hint}` : ''}`;
}
