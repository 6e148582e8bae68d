import { freemem } from 'node:os';
import { type Partition, parsePartition } from '../catalog/partition.ts';
import type { Analyzer } from '../config/project.ts';
import { isUpToDate } from '../run/fingerprint.ts';
import { checkHold } from '../run/hold.ts';
import { newAttemptId } from '../run/runPartition.ts';
import type { QueueRow } from '../state/types.ts';
import { planMemory } from '../run/budget.ts';
import type { DaemonShared } from './daemonShared.ts';
import { settleOutcome } from './settle.ts';
import { computeSlots } from './slots.ts';

/**
 * The dispatcher: claims due queue items into free worker slots, executes each in the worker pool and settles its
 * outcome (succeeded, retried later with backoff, failed for good, or given back to the queue by a drain).
 */
export class Dispatcher {
  private ticking = false;
  private tickAgain = false;

  /** `published` is told of every partition an attempt published (discovery rescans its readers). */
  constructor(
    private readonly shared: DaemonShared,
    private readonly published: (analyzer: Analyzer, partition: Partition) => Promise<void>,
  ) {}

  /** A tick is claiming now. */
  get busy(): boolean {
    return this.ticking;
  }

  /** Claim due runs into free slots. */
  async tick(): Promise<void> {
    const { shared } = this;
    if (shared.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        await this.claimDue();
        shared.pool.trimIdle(Math.max(shared.opts.minWorkers, shared.running.size));
      } while (this.tickAgain && !shared.stopping);
    } catch (err) {
      shared.opts.log.error({ err }, 'dispatch failed');
    } finally {
      this.ticking = false;
    }
  }

  private async claimDue(): Promise<void> {
    const { shared } = this;
    const backlog = await shared.store.queue.backlog();
    const free = this.slots(backlog) - shared.running.size - shared.workerLoads();
    if (free <= 0 || backlog <= 0) return;
    const items = await shared.store.queue.claim(shared.owner, {
      limit: free,
      concurrency: (name) => shared.project.analyzers.get(name)?.concurrency ?? shared.opts.maxWorkers,
      order: (name) => shared.project.analyzers.get(name)?.order ?? 'oldest',
    });
    for (const item of items) {
      const key = `${item.analyzer}/${item.partition_id}`;
      shared.runningKeys.add(key);
      // execute() records its own failures; anything it throws besides is logged here, never left unhandled.
      const p = this.execute(item)
        .catch((err) =>
          shared.opts.log.error(
            { err, analyzer: item.analyzer, partition: item.partition_id },
            'attempt bookkeeping failed; the queue item is requeued when this daemon restarts',
          ),
        )
        .finally(() => {
          shared.running.delete(item.id);
          shared.runningKeys.delete(key);
          void this.tick();
        });
      shared.running.set(item.id, p);
    }
  }

  /** How many attempts may run now: the backlog, between min and max workers, and what free memory allows. */
  private slots(backlog: number): number {
    const { shared } = this;
    return computeSlots({
      running: shared.running.size,
      backlog,
      minWorkers: shared.opts.minWorkers,
      maxWorkers: shared.opts.maxWorkers,
      freeMemoryBytes: freemem(),
      largestBudgetBytes: Math.max(...[...shared.project.analyzers.values()].map((a) => a.memoryBytes), 1),
    });
  }

  private async execute(item: QueueRow): Promise<void> {
    const { shared } = this;
    const a = shared.project.analyzers.get(item.analyzer);
    if (!a) {
      await shared.store.queue.fail(item.id, {
        errorCode: 'ANALYZER_UNKNOWN',
        error: `analyzer '${item.analyzer}' is no longer defined`,
      });
      return;
    }
    if (await this.skip(item, a)) return;
    const base = planMemory(a.memoryBytes, item.threads ?? a.threadCount);
    const plan = item.memory_bytes ? { ...base, duckdbBytes: Number(item.memory_bytes) } : base;
    const attemptId = newAttemptId();
    await shared.store.queue.startAttempt(item.id, attemptId);
    const log = shared.opts.log.child({ analyzer: a.name, partition: item.partition_id, attempt: attemptId });
    log.info(
      {
        threads: plan.threads,
        duckdbMB: Math.round(plan.duckdbBytes / 1e6),
        budgetMB: Math.round(plan.budgetBytes / 1e6),
        try: item.attempts + 1,
      },
      'attempt started',
    );
    const started = Date.now();
    const deferLoad = shared.writer.owns(a);
    const outcome = await shared.pool.run({
      attemptId,
      analyzer: a.name,
      partition: item.partition_id,
      trigger: item.reason,
      plan,
      // Threads a retry after out of memory halved are kept; else the analyzer's are the most a small input uses.
      fitThreads: item.threads == null,
      deferLoad,
    });
    const settled = await settleOutcome(
      shared,
      { item, analyzer: a, attemptId, plan, log },
      outcome,
      Date.now() - started,
    );
    if (settled !== 'published') return;
    if (deferLoad && outcome.kind === 'report' && outcome.report.status === 'succeeded' && outcome.report.version)
      shared.loadPublished(a, item.partition_id, outcome.report.version, outcome.report.fileSha256);
    await this.published(a, parsePartition(item.partition_id, a.grain));
  }

  /**
   * Whether a claimed item need not run after all (its queue item is then settled as done): published meanwhile
   * from the same input and SQL, or held by a rollback. A 'manual' run (a dashboard rerun) runs regardless.
   */
  private async skip(item: QueueRow, a: Analyzer): Promise<boolean> {
    if (item.reason === 'manual') return false;
    const { shared } = this;
    const p = parsePartition(item.partition_id, a.grain);
    if (await isUpToDate(shared.store, shared.project, a, p)) {
      // Published meanwhile from the same input and SQL (e.g. by the attempt a crashed daemon left running).
      await shared.store.queue.succeed(item.id);
      shared.opts.log.info({ analyzer: a.name, partition: item.partition_id }, 'already up to date; not rerun');
      return true;
    }
    // Queued before a rollback held the partition: the rollback sticks (a dashboard rerun, 'manual', overrides it).
    const hold = await checkHold(shared.store, shared.project, a, p);
    if (hold.state === 'held') {
      await shared.store.queue.succeed(item.id);
      shared.opts.log.info(
        { analyzer: a.name, partition: item.partition_id, heldVersion: hold.seq },
        'held by a rollback; not rerun (recount release lets it run)',
      );
      return true;
    }
    if (hold.state === 'released')
      shared.opts.log.info(
        { analyzer: a.name, partition: item.partition_id, heldVersion: hold.seq },
        `hold of a rollback released: ${hold.reason}`,
      );
    return false;
  }
}
