import type { ExecutorMemorySample } from '../engine/engine.ts';
import type { Logger } from '../log.ts';
import type { Alerter } from './alerts/alerter.ts';
import type { AttemptMemorySample, MemorySampleStore, SparkExecutorTotals } from '../state/memorySampleStore.ts';
import type { RecountMetrics, WorkerMemory } from './metrics.ts';

/** A worker's memory sample, attributed to the attempt it runs (if any). */
export interface MonitoredSample extends WorkerMemory {
  readonly attemptId?: string;
  readonly analyzer?: string;
  readonly partition?: string;
  readonly budgetBytes?: number;
}

/** Where an attempt stands against its budget. */
interface Watch {
  readonly analyzer: string;
  readonly partition: string;
  readonly budgetBytes: number;
  readonly startedAt: number;
  peak: number;
  lastKept: number;
  /** 0 below the warning share, 1 past it, 2 past the critical share (alerts raised so far). */
  level: 0 | 1 | 2;
}

/** Settings of the memory monitor. */
export interface MemoryMonitorOptions {
  readonly warnShare: number;
  readonly criticalShare: number;
  readonly alerter: Alerter;
  readonly samples: MemorySampleStore;
  readonly metrics?: RecountMetrics;
  readonly log: Logger;
  /**
   * Samples are written to the store in batches this often: one small transaction (one fsync) per batch, not
   * per sample or per attempt, because every write on the daemon's event loop delays its dispatching.
   */
  readonly flushMs?: number;
}

/** How finely an attempt's memory is kept: every sample for the first half minute, then coarser as it runs (~120 points per doubling). */
export function keepEveryMs(ageMs: number): number {
  return Math.min(5_000, Math.max(200, ageMs / 120));
}

/** The alert key of an analyzer partition's memory pressure. */
export function memoryAlertKey(analyzer: string, partition: string): string {
  return `memory:${analyzer}/${partition}`;
}

/**
 * Watches worker memory against each attempt's budget: keeps the samples for the attempt's memory chart,
 * tracks its peak, and raises one alert per partition when it passes the warning share, escalated once
 * past the critical share. The alert resolves when a later attempt of the partition stays below the warning share.
 */
export class MemoryMonitor {
  private readonly watches = new Map<string, Watch>();
  private readonly executorWatches = new Map<string, { level: 0 | 1 | 2 }>();
  private buffer: AttemptMemorySample[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MemoryMonitorOptions) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 2_000);
    this.timer.unref();
  }

  /** Take one worker sample (called for every sample; cheap unless a threshold is crossed). */
  sample(s: MonitoredSample, now = Date.now()): void {
    this.opts.metrics?.workerSample(s);
    if (s.executors?.length && s.attemptId && s.analyzer && s.partition) this.executorSample(s, now);
    if (!s.attemptId || !s.analyzer || !s.partition || !s.budgetBytes) return;
    let w = this.watches.get(s.attemptId);
    if (!w) {
      w = {
        analyzer: s.analyzer,
        partition: s.partition,
        budgetBytes: s.budgetBytes,
        startedAt: now,
        peak: 0,
        lastKept: 0,
        level: 0,
      };
      this.watches.set(s.attemptId, w);
    }
    const newPeak = s.rss > w.peak;
    w.peak = Math.max(w.peak, s.rss);
    if (newPeak || now - w.lastKept >= keepEveryMs(now - w.startedAt)) {
      w.lastKept = now;
      this.buffer.push({
        attemptId: s.attemptId,
        atMs: now,
        rss: s.rss,
        heapUsed: s.heapUsed,
        external: s.external,
        duckdbBytes: s.duckdbBytes,
        spillBytes: s.spillBytes,
        budgetBytes: s.budgetBytes,
        ...(s.executors?.length ? { spark: executorTotals(s.executors) } : {}),
      });
    }
    this.check(s.attemptId, w, s.rss);
  }

  /**
   * A Spark attempt's executors: exported while it runs, and alerting like a worker's budget when an executor's
   * memory in use (storage plus peak execution) passes the warning or critical share of its max.
   */
  private executorSample(s: MonitoredSample, now: number): void {
    const attemptId = s.attemptId!;
    this.opts.metrics?.executorSample(attemptId, s.analyzer!, s.executors!);
    let w = this.executorWatches.get(attemptId);
    if (!w) {
      w = { level: 0 };
      this.executorWatches.set(attemptId, w);
    }
    const worst = executorPressure(s.executors!);
    if (!worst) return;
    const level = worst.share >= this.opts.criticalShare ? 2 : worst.share >= this.opts.warnShare ? 1 : 0;
    if (level <= w.level) return;
    w.level = level;
    const critical = level === 2;
    const mb = (b: number) => `${Math.round(b / 1e6)} MB`;
    void this.opts.alerter
      .raise({
        kind: 'memory',
        severity: critical ? 'critical' : 'warning',
        key: memoryAlertKey(s.analyzer!, s.partition!),
        analyzer: s.analyzer!,
        partition: s.partition!,
        attemptId,
        title: `${s.analyzer} ${s.partition}: Spark executor ${worst.executor} memory at ${pct(worst.share)} of its ${mb(worst.maxBytes)}`,
        detail: `Executor ${worst.executor} used ${mb(worst.usedBytes)} (storage plus peak execution memory) at ${new Date(now).toISOString()}, past the ${critical ? 'critical' : 'warning'} share of ${pct(critical ? this.opts.criticalShare : this.opts.warnShare)} (attempt ${attemptId}). Raise spark.executor.memory or spark.sql.shuffle.partitions in the analyzer's Spark conf if it keeps happening.`,
      })
      .catch((err) => this.opts.log.error({ err }, 'could not raise a memory alert'));
  }

  /**
   * An attempt ended: check its final peak (a short attempt may end between two samples) and keep a last point
   * for a worker that was killed. Returns, for an attempt that stayed below the warning share, why the partition's
   * memory alert may be resolved (the caller resolves it if it is open).
   */
  async attemptEnded(e: {
    attemptId: string;
    analyzer: string;
    partition: string;
    peakRssBytes: number;
    budgetBytes?: number;
    killed: boolean;
  }): Promise<string | undefined> {
    const w =
      this.watches.get(e.attemptId) ??
      (e.budgetBytes
        ? {
            analyzer: e.analyzer,
            partition: e.partition,
            budgetBytes: e.budgetBytes,
            startedAt: Date.now(),
            peak: 0,
            lastKept: 0,
            level: 0 as const,
          }
        : undefined);
    this.watches.delete(e.attemptId);
    const executorLevel = this.executorWatches.get(e.attemptId)?.level ?? 0;
    this.executorWatches.delete(e.attemptId);
    this.opts.metrics?.executorsEnded(e.attemptId);
    if (!w) return undefined;
    w.peak = Math.max(w.peak, e.peakRssBytes);
    if (e.killed && e.peakRssBytes > 0)
      this.buffer.push({
        attemptId: e.attemptId,
        atMs: Date.now(),
        rss: e.peakRssBytes,
        heapUsed: 0,
        external: 0,
        budgetBytes: w.budgetBytes,
      });
    await this.check(e.attemptId, w, w.peak);
    return w.level === 0 && executorLevel === 0 && !e.killed
      ? `attempt ${e.attemptId} peaked at ${pct(w.peak / w.budgetBytes)} of its budget`
      : undefined;
  }

  /** Write buffered samples to the store. */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.flushing;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      try {
        await this.opts.samples.add(batch);
      } catch (err) {
        this.opts.log.warn({ err, samples: batch.length }, 'could not store memory samples');
      }
    });
    return this.flushing;
  }

  /** Stop sampling and write what is buffered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private check(attemptId: string, w: Watch, rss: number): Promise<unknown> {
    const share = rss / w.budgetBytes;
    const level = share >= this.opts.criticalShare ? 2 : share >= this.opts.warnShare ? 1 : 0;
    if (level <= w.level) return Promise.resolve();
    w.level = level;
    const critical = level === 2;
    const mb = (b: number) => `${Math.round(b / 1e6)} MB`;
    return this.opts.alerter
      .raise({
        kind: 'memory',
        severity: critical ? 'critical' : 'warning',
        key: memoryAlertKey(w.analyzer, w.partition),
        analyzer: w.analyzer,
        partition: w.partition,
        attemptId,
        title: `${w.analyzer} ${w.partition}: worker memory at ${pct(share)} of its ${mb(w.budgetBytes)} budget`,
        detail: `RSS ${mb(rss)} passed the ${critical ? 'critical' : 'warning'} share of ${pct(critical ? this.opts.criticalShare : this.opts.warnShare)} (attempt ${attemptId}); past 100% the worker is killed and the attempt retried with fewer threads and a lower DuckDB limit. Raise the analyzer's memory if it keeps happening.`,
      })
      .catch((err) => this.opts.log.error({ err }, 'could not raise a memory alert'));
  }
}

/** The executor under the most memory pressure: its memory in use (storage plus peak execution) against its max. */
export function executorPressure(
  executors: readonly ExecutorMemorySample[],
): { executor: string; share: number; usedBytes: number; maxBytes: number } | undefined {
  let worst: { executor: string; share: number; usedBytes: number; maxBytes: number } | undefined;
  for (const e of executors) {
    if (e.maxBytes <= 0) continue;
    const usedBytes = e.onHeapUsedBytes + e.offHeapUsedBytes + e.peakExecutionBytes;
    const share = usedBytes / e.maxBytes;
    if (!worst || share > worst.share) worst = { executor: e.executor, share, usedBytes, maxBytes: e.maxBytes };
  }
  return worst;
}

/** A Spark attempt's executors summed, as its memory samples keep them. */
export function executorTotals(executors: readonly ExecutorMemorySample[]): SparkExecutorTotals {
  const sum = (f: (e: ExecutorMemorySample) => number) => executors.reduce((t, e) => t + f(e), 0);
  return {
    onHeapBytes: sum((e) => e.onHeapUsedBytes),
    offHeapBytes: sum((e) => e.offHeapUsedBytes),
    executionBytes: sum((e) => e.peakExecutionBytes),
    maxBytes: sum((e) => e.maxBytes),
  };
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
