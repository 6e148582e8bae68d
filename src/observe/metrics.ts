import { collectDefaultMetrics, type Counter, Registry } from 'prom-client';
import type { ExecutorMemorySample } from '../engine/engine.ts';
import {
  createEventMetrics,
  createNotificationMetrics,
  EXECUTOR_MEMORY_KINDS,
  type EventMetrics,
} from './eventMetrics.ts';
import type { MetricSources } from './metricSources.ts';
import { registerScrapedGauges } from './scrapedGauges.ts';

export type { MetricSources } from './metricSources.ts';

/** An attempt as metrics count it. */
export interface AttemptFigures {
  readonly analyzer: string;
  readonly outcome: string;
  readonly durationMs: number;
  /** Rows, bytes and files published (successful attempts only). */
  readonly rows?: number;
  readonly bytes?: number;
  readonly files?: number;
  readonly peakRssBytes?: number;
  readonly spillBytes?: number;
}

/** One memory sample of one worker. */
export interface WorkerMemory {
  readonly pid: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly duckdbBytes?: number;
  readonly spillBytes?: number;
  /** Remote executors' memory of a Spark attempt (absent otherwise). */
  readonly executors?: readonly ExecutorMemorySample[];
}

/**
 * recount's Prometheus metrics, on a registry of their own (so two daemons in one test process never share
 * counters). Event counters move as attempts finish; gauges of the queue, loads, alerts and workers are read at scrape time.
 */
export class RecountMetrics {
  readonly registry = new Registry();
  private readonly events: EventMetrics;
  private readonly notifications: Counter<'sink' | 'outcome'>;
  /** The executor series each running Spark attempt set, removed when it ends. */
  private readonly executorSeries = new Map<string, { analyzer: string; executors: Set<string> }>();
  private readonly seenWorkers = new Set<number>();
  private readonly pendingBySink = new Map<string, () => number>();

  constructor(sources: MetricSources, opts: { processMetrics?: boolean } = {}) {
    // Registration order is the order of the exposition: event metrics, scraped gauges, notifications, process.
    this.events = createEventMetrics(this.registry, () => sources.workerPids(), this.seenWorkers);
    registerScrapedGauges(this.registry, sources);
    this.notifications = createNotificationMetrics(this.registry, this.pendingBySink);
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'recount_daemon_' });
      // prom-client's *_total of active handles, requests and resources are gauges named like counters, which
      // Prometheus's linter (promtool check metrics) rejects; the same gauges by type stay (sum them for the total).
      for (const kind of ['handles', 'requests', 'resources'])
        this.registry.removeSingleMetric(`recount_daemon_nodejs_active_${kind}_total`);
    }
  }

  /** Count a finished attempt. */
  attempt(a: AttemptFigures): void {
    const m = this.events;
    m.attempts.inc({ analyzer: a.analyzer, outcome: a.outcome });
    m.duration.observe({ analyzer: a.analyzer, outcome: a.outcome }, a.durationMs / 1000);
    if (a.outcome === 'succeeded') {
      m.rows.inc({ analyzer: a.analyzer }, a.rows ?? 0);
      m.bytes.inc({ analyzer: a.analyzer }, a.bytes ?? 0);
      m.files.inc({ analyzer: a.analyzer }, a.files ?? 0);
    }
    if (a.peakRssBytes) m.attemptPeakRss.set({ analyzer: a.analyzer }, a.peakRssBytes);
    m.attemptSpill.set({ analyzer: a.analyzer }, a.spillBytes ?? 0);
  }

  /** Count a failed check. */
  checkFailed(analyzer: string, check: string, severity: string): void {
    this.events.checkFailures.inc({ analyzer, check, severity });
  }

  /** Count an attempt ended for memory. */
  oomKill(analyzer: string, reason: string): void {
    this.events.oomKills.inc({ analyzer, reason });
  }

  /** Record a worker's memory sample. */
  workerSample(s: WorkerMemory): void {
    const worker = String(s.pid);
    this.seenWorkers.add(s.pid);
    const gauge = this.events.workerMemory;
    gauge.set({ worker, kind: 'rss' }, s.rss);
    gauge.set({ worker, kind: 'heap_used' }, s.heapUsed);
    gauge.set({ worker, kind: 'heap_total' }, s.heapTotal);
    gauge.set({ worker, kind: 'external' }, s.external);
    gauge.set({ worker, kind: 'duckdb' }, s.duckdbBytes ?? 0);
    gauge.set({ worker, kind: 'spill' }, s.spillBytes ?? 0);
  }

  /** Record the executors' memory of a running Spark attempt. */
  executorSample(attemptId: string, analyzer: string, executors: readonly ExecutorMemorySample[]): void {
    let seen = this.executorSeries.get(attemptId);
    if (!seen) {
      seen = { analyzer, executors: new Set() };
      this.executorSeries.set(attemptId, seen);
    }
    for (const e of executors) {
      seen.executors.add(e.executor);
      const labels = { analyzer, executor: e.executor };
      const gauge = this.events.executorMemory;
      gauge.set({ ...labels, kind: 'on_heap_used' }, e.onHeapUsedBytes);
      gauge.set({ ...labels, kind: 'off_heap_used' }, e.offHeapUsedBytes);
      gauge.set({ ...labels, kind: 'peak_execution' }, e.peakExecutionBytes);
      gauge.set({ ...labels, kind: 'max' }, e.maxBytes);
    }
  }

  /** A Spark attempt ended: its executor series go. */
  executorsEnded(attemptId: string): void {
    const seen = this.executorSeries.get(attemptId);
    if (!seen) return;
    this.executorSeries.delete(attemptId);
    for (const executor of seen.executors)
      for (const kind of EXECUTOR_MEMORY_KINDS)
        this.events.executorMemory.remove({ analyzer: seen.analyzer, executor, kind });
  }

  /** Count an alert notification outcome of a sink. */
  notification(sink: string, outcome: 'delivered' | 'retried' | 'failed' | 'suppressed' | 'dropped'): void {
    this.notifications.inc({ sink, outcome });
  }

  /** Report a sink's backlog at scrape time. */
  watchSink(sink: string, pending: () => number): void {
    this.pendingBySink.set(sink, pending);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of `render()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
