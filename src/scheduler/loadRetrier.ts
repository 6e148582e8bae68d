import type { Analyzer } from '../config/project.ts';
import { newAttemptId } from '../run/runPartition.ts';
import type { OwedLoad } from '../state/loadStore.ts';
import { planMemory } from '../run/budget.ts';
import type { DaemonShared } from './daemonShared.ts';
import { backoffDelay } from './retry.ts';

/**
 * The load retrier: loads what the warehouse is owed (I5) in worker processes, sharing the worker slots with
 * attempts and never beside an attempt of the same partition.
 */
export class LoadRetrier {
  constructor(private readonly shared: DaemonShared) {}

  /**
   * Load what the warehouse is owed (I5): a load that failed for a passing reason (unreachable, busy, a failed
   * COPY), one killed mid-way, or none at all when a worker died between publish and load. Each is retried
   * in a worker with exponential backoff (serve.loadRetries) until it loads; a load that needs a fix first
   * (incompatible table, mismatch, files gone) stays `failed` for \`recount load --pending\`.
   */
  async retryLoads(): Promise<void> {
    const { shared } = this;
    if (shared.stopping) return;
    const withLoad = [...shared.project.analyzers.values()].filter((a) => a.load).map((a) => a.name);
    if (withLoad.length === 0) return;
    const policy = { max: Infinity, ...shared.project.config.serve.loadRetries };
    try {
      for (const owed of await shared.store.loads.owed(withLoad)) {
        const key = `${owed.analyzer}/${owed.partitionId}`;
        if (shared.stopping) return;
        if (shared.loadJobs.has(key) || shared.runningKeys.has(key)) continue;
        const a = shared.project.analyzers.get(owed.analyzer);
        const inDaemon = a !== undefined && shared.writer.owns(a);
        if (!inDaemon && shared.running.size + shared.workerLoads() >= shared.opts.maxWorkers) return;
        // No jitter: loads run one per slot, and a fixed due time keeps a rescan from starting one early.
        if (Date.parse(owed.lastAt) + backoffDelay(policy, owed.tries, () => 1) > Date.now()) continue;
        this.track(key, inDaemon ? this.loadInDaemon(owed) : this.load(owed));
      }
    } catch (err) {
      shared.opts.log.error({ err }, 'retrying warehouse loads failed');
    }
  }

  /**
   * The load of a version a worker just published and left owed (a DuckDB warehouse file, whose one writer is the
   * daemon: src/scheduler/warehouseWriter.ts), started now rather than at the next retry; a failure is retried as any.
   */
  loadPublished(a: Analyzer, partition: string, version: number, fileSha256?: Readonly<Record<string, string>>): void {
    const key = `${a.name}/${partition}`;
    if (this.shared.loadJobs.has(key)) return;
    const known = fileSha256 && { version, sha256: new Map(Object.entries(fileSha256)) };
    const load = this.shared.writer.load(a, partition, version, true, known).then((o) => {
      if (o?.error)
        this.shared.opts.log.warn(
          { analyzer: a.name, partition, version, code: o.error.code, error: o.error.message },
          'load failed; the table keeps its previous rows and the load is retried',
        );
    });
    this.track(key, load);
  }

  /** A load job of `analyzer/partition`, running until it settles: no second load of it starts meanwhile. */
  private track(key: string, job: Promise<void>): void {
    const { shared } = this;
    shared.loadJobs.set(
      key,
      job.finally(() => {
        shared.loadJobs.delete(key);
        void shared.tick();
      }),
    );
  }

  /** A load owed of a DuckDB warehouse file, by the daemon's one writer (src/scheduler/warehouseWriter.ts). */
  private async loadInDaemon(owed: OwedLoad): Promise<void> {
    const a = this.shared.project.analyzers.get(owed.analyzer)!;
    const log = this.shared.opts.log.child({
      analyzer: owed.analyzer,
      partition: owed.partitionId,
      version: owed.versionSeq,
    });
    log.info(
      { table: a.load!.table, try: owed.tries + 1, lastError: owed.errorCode },
      owed.tries === 0 ? 'load owed: loading' : 'load retry started',
    );
    const o = await this.shared.writer.load(a, owed.partitionId, owed.versionSeq);
    if (o && !o.error) log.info({ rows: o.rows, durationMs: Math.round(o.ms), status: o.status }, 'load retried: done');
    else
      log.warn(
        { code: o?.error?.code, error: o?.error?.message },
        'load retry failed; the table keeps its previous rows',
      );
  }

  private async load({
    analyzer,
    partitionId: partition,
    versionSeq: version,
    tries,
    errorCode,
  }: OwedLoad): Promise<void> {
    const a = this.shared.project.analyzers.get(analyzer)!;
    const log = this.shared.opts.log.child({ analyzer, partition, version });
    log.info(
      { table: a.load!.table, try: tries + 1, lastError: errorCode },
      tries === 0 ? 'load owed: loading' : 'load retry started',
    );
    const outcome = await this.shared.pool.load({
      jobId: `load-${newAttemptId()}`,
      analyzer,
      partition,
      version,
      plan: planMemory(a.memoryBytes, a.threadCount),
    });
    if (outcome.kind === 'report' && outcome.report.status !== 'failed')
      log.info(
        { rows: outcome.report.rows, durationMs: Math.round(outcome.report.durationMs), status: outcome.report.status },
        'load retried: done',
      );
    else if (outcome.kind === 'report')
      log.warn(
        { code: outcome.report.error?.code, error: outcome.report.error?.message },
        'load retry failed; the table keeps its previous rows',
      );
    else log.warn({ outcome: outcome.kind }, 'load retry: the worker died; the table keeps its previous rows');
  }
}
