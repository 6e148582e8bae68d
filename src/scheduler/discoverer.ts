import { Cron } from 'croner';
import { formatPartitionId, type Partition, parsePartition } from '../catalog/partition.ts';
import type { Analyzer } from '../config/project.ts';
import { RecountError } from '../errors.ts';
import { MIN_DUCKDB_BYTES, PROCESS_RESERVE_BYTES } from '../run/budget.ts';
import type { DaemonShared } from './daemonShared.ts';
import { affectedPartitions, candidatePartitions, considerFrom, readersOf } from './discovery.ts';
import { type EnqueueContext, enqueueRun, enqueueRuns } from './enqueueRun.ts';
import { DatasetWatcher } from './watcher.ts';

/**
 * Discovery: finds partitions to run (the start-up scan, file watching for latency, periodic rescans as the source
 * of truth, cron schedules) and only enqueues them; the dispatcher launches what is queued.
 */
export class Discoverer {
  private readonly crons: Cron[] = [];
  private readonly watcher: DatasetWatcher;
  private readonly enqueueCtx: EnqueueContext;
  private scanning: Promise<void> = Promise.resolve();

  constructor(private readonly shared: DaemonShared) {
    this.enqueueCtx = { project: shared.project, store: shared.store, log: shared.opts.log };
    this.watcher = new DatasetWatcher(shared.project, shared.opts.log, {
      landed: (ds, p) => void this.scanAffected(ds.name, p).then(() => this.shared.tick()),
      watched: (datasets) => {
        const readers = [...new Set(datasets.flatMap((d) => readersOf(this.shared.project, d.name)))];
        void this.scan({ analyzers: readers }).then(() => this.shared.tick());
      },
      stopping: () => this.shared.stopping,
    });
  }

  /** Say at start what the daemon will leave alone, and which memory budgets are too small to work. */
  reportStart(): void {
    const { project, opts } = this.shared;
    const lookbackHours = project.config.serve.lookbackHours;
    for (const a of project.analyzers.values()) {
      // A new project's history (or a lookback that is too short) would otherwise be skipped without a word.
      const since = considerFrom(a, lookbackHours);
      const before = candidatePartitions(project, a, new Date(0)).filter((p) => p.start < since).length;
      if (before > 0) {
        opts.log.info(
          { analyzer: a.name, partitions: before, from: since.toISOString() },
          `${before} partition(s) of ${a.name} with input before ${since.toISOString().slice(0, 13)} are left alone (${a.start ? `start: '${a.start}'` : `serve.lookbackHours: ${lookbackHours}`}); publish them with recount backfill, or set start in ${a.file}`,
        );
      }
      if (a.memoryBytes < PROCESS_RESERVE_BYTES + MIN_DUCKDB_BYTES * 4) {
        opts.log.warn(
          {
            analyzer: a.name,
            budgetMB: Math.round(a.memoryBytes / 1e6),
            reserveMB: Math.round(PROCESS_RESERVE_BYTES / 1e6),
          },
          `memory budget of ${a.name} leaves DuckDB almost nothing after the ${Math.round(PROCESS_RESERVE_BYTES / 1e6)} MB a worker process needs; its attempts will likely end as oom. Give it at least 256MB (memory in ${a.file})`,
        );
      }
    }
  }

  /** Watch dataset roots and definitions. */
  startWatching(): void {
    this.watcher.start();
  }

  /** Watch source roots that appeared since the daemon started. */
  watchNewRoots(): void {
    this.watcher.watchNewRoots();
  }

  /** Start the cron schedules of the analyzers that have one. */
  startSchedules(): void {
    for (const a of this.shared.project.analyzers.values()) if (a.schedule) this.schedule(a);
  }

  /** Scan every analyzer's candidate partitions and queue those whose inputs are ready and changed. */
  scan(only?: { analyzers: Analyzer[]; partitions?: Partition[] }): Promise<void> {
    this.scanning = this.scanning.then(async () => {
      if (this.shared.stopping) return;
      const { project } = this.shared;
      const analyzers = only?.analyzers ?? [...project.analyzers.values()];
      for (const a of analyzers) {
        const since = considerFrom(a, project.config.serve.lookbackHours);
        const parts = only?.partitions ?? candidatePartitions(project, a, since);
        await enqueueRuns(
          this.enqueueCtx,
          a,
          parts.filter((p) => p.start >= since),
        );
      }
    });
    return this.scanning;
  }

  /** Scan the partitions of every reader of `dataset` that read its partition `p` (it was published or landed). */
  scanAffected(dataset: string, p: Partition): Promise<void> {
    const readers = readersOf(this.shared.project, dataset);
    return Promise.all(readers.map((a) => this.scan({ analyzers: [a], partitions: affectedPartitions(p, a) }))).then(
      () => undefined,
    );
  }

  /** Stop the schedules and the watchers, and wait for the scan under way. */
  async stop(): Promise<void> {
    for (const c of this.crons) c.stop();
    await this.watcher.stop();
  }

  /** The scan under way (if any) has finished. */
  settled(): Promise<void> {
    return this.scanning;
  }

  private schedule(a: Analyzer): void {
    try {
      this.crons.push(new Cron(a.schedule!, () => void this.scheduled(a)));
    } catch (err) {
      throw new RecountError(
        'CONFIG_INVALID',
        `${a.file}: schedule '${a.schedule}' is not a cron expression: ${(err as Error).message}`,
        { subject: `${a.file}: schedule`, hint: "write a cron expression such as '5 * * * *'" },
      );
    }
  }

  /** A schedule fired: queue the newest closed partition as of now (the previous hour or day). */
  private async scheduled(a: Analyzer): Promise<void> {
    const p = parsePartition(
      formatPartitionId(new Date(Date.now() - (a.grain === 'hour' ? 3_600_000 : 86_400_000)), a.grain),
      a.grain,
    );
    const result = await enqueueRun(this.enqueueCtx, a, p, { reason: 'schedule' });
    if (result.state === 'not-ready') {
      // Not landed yet: no failed run and no alert; the watcher or a rescan queues it once its inputs are ready.
      this.shared.opts.log.info(
        { analyzer: a.name, partition: p.id, reason: (result.error as Error).message },
        'scheduled partition not ready yet; it runs when its inputs land',
      );
      return;
    }
    await this.shared.tick();
  }
}
