import { ownerAlive } from '../../../commit/liveness.ts';
import type { Analyzer } from '../../../config/project.ts';
import { analyzerLag } from '../../../scheduler/lag.ts';
import type { QueueRow } from '../../../state/types.ts';
import type { CliSession } from '../../session.ts';
import { isFailing, partitionRows } from './partitionRows.ts';

/** One analyzer in `recount status`: what is published, failing, queued and running, and how far behind it is. */
export interface AnalyzerSummary {
  analyzer: string;
  grain: string;
  inputs: readonly string[];
  partitions: number;
  published: number;
  failing: string[];
  failedForGood: string[];
  running: number;
  queued: number;
  newestPublished: string | null;
  newestReady: string | null;
  lagSeconds: number;
  readyUnpublished: number;
  beforeWindow: number;
  windowStart: string;
  lastRun: string | null;
  /** Warehouse table, and published versions it does not hold yet: owed (retried by serve) and failed (need a fix). */
  loadTable: string | null;
  loadsOwed: number;
  loadsFailed: number;
}

/** The run queue as status sees it: queued and running items, which of them a live daemon holds, and failed ones. */
export interface QueueView {
  readonly active: QueueRow[];
  readonly failed: QueueRow[];
  /** False for a running item whose daemon is gone (recount serve requeues it when it starts). */
  readonly heldByLiveDaemon: (q: QueueRow) => boolean;
}

/** Read the run queue and judge, for each running item, whether the daemon that holds it is still alive. */
export async function readQueue(s: CliSession): Promise<QueueView> {
  const active = await s.store.queue.list(['queued', 'running']);
  const failed = await s.store.queue.list(['failed']);
  const heldByDead = new Set<number>();
  for (const q of active)
    if (
      q.state === 'running' &&
      !(q.owner_host !== null && q.owner_token !== null && (await ownerAlive(s.store, q.owner_host, q.owner_token)))
    )
      heldByDead.add(Number(q.id));
  return { active, failed, heldByLiveDaemon: (q) => !heldByDead.has(Number(q.id)) };
}

/** Runs of an analyzer whose newest queue item failed for good (none queued or running after it). */
function latestFailedForGood<T extends { analyzer: string; partition_id: string; id: number }>(
  failed: readonly T[],
  analyzer: string,
  active: readonly T[],
): T[] {
  const newest = new Map<string, T>();
  for (const q of failed)
    if (q.analyzer === analyzer && (newest.get(q.partition_id)?.id ?? -1) < q.id) newest.set(q.partition_id, q);
  return [...newest.values()]
    .filter((q) => !active.some((x) => x.analyzer === analyzer && x.partition_id === q.partition_id))
    .sort((x, y) => (x.partition_id < y.partition_id ? -1 : x.partition_id > y.partition_id ? 1 : 0));
}

/** Published versions the analyzer's warehouse table lacks: owed (serve retries them) and failed (need a fix). */
async function loadsBehind(s: CliSession, a: Analyzer): Promise<{ owed: number; failed: number }> {
  if (!a.load) return { owed: 0, failed: 0 };
  const owed = (await s.store.loads.owed([a.name])).length;
  const pending = await s.store.loads.pending({ analyzer: a.name, includeFailed: true });
  return { owed, failed: pending.filter((l) => l.status === 'failed').length };
}

/** Summarize one analyzer for the overview of `recount status`. */
export async function summarizeAnalyzer(s: CliSession, a: Analyzer, queue: QueueView): Promise<AnalyzerSummary> {
  const rows = await partitionRows(s.store, a.name);
  const lag = await analyzerLag(s.project, s.store, a);
  const mine = queue.active.filter((q) => q.analyzer === a.name);
  const loads = await loadsBehind(s, a);
  return {
    analyzer: a.name,
    grain: a.grain,
    inputs: a.inputs,
    partitions: rows.length,
    published: rows.filter((r) => r.publishedVersion !== null).length,
    failing: rows.filter((r) => isFailing(r)).map((r) => r.partition),
    failedForGood: latestFailedForGood(queue.failed, a.name, queue.active).map((q) => q.partition_id),
    running: mine.filter((q) => q.state === 'running' && queue.heldByLiveDaemon(q)).length,
    queued: mine.filter((q) => q.state === 'queued').length,
    newestPublished: lag.newestPublished,
    newestReady: lag.newestReady,
    lagSeconds: lag.seconds,
    readyUnpublished: lag.readyUnpublished,
    beforeWindow: lag.beforeWindow,
    windowStart: lag.windowStart,
    lastRun:
      rows
        .map((r) => r.lastAttempt?.startedAt ?? '')
        .sort()
        .at(-1) || null,
    loadTable: a.load?.table ?? null,
    loadsOwed: loads.owed,
    loadsFailed: loads.failed,
  };
}
