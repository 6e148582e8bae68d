import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExecutorMemorySample } from '../engine/engine.ts';
import type { LoadCount } from '../state/observeReads.ts';

/** What the metrics read when scraped (values that live elsewhere: the daemon, the state store). */
export interface MetricSources {
  /**
   * Every analyzer of the project: per-analyzer gauges (queue depth, load failures, open alerts) report 0 for each,
   * so a Prometheus rule such as `recount_queue_depth > 100` has a series to watch before the first run is queued.
   */
  analyzers(): readonly string[];
  /** Attempts running now. */
  running(): number;
  /** pids of live worker processes (memory series of gone workers are dropped). */
  workerPids(): number[];
  queueCounts(): Promise<{ analyzer: string; state: string; n: number }[]>;
  loadCounts(): Promise<LoadCount[]>;
  openAlerts(): Promise<{ analyzer: string; severity: string; n: number }[]>;
  /** Lag per analyzer in seconds, as last computed. */
  lag(): ReadonlyMap<string, number>;
}

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

const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * recount's Prometheus metrics, on a registry of their own (so two daemons in one test process never share
 * counters). Event counters move as attempts finish; gauges of the queue, loads, alerts and workers are read at scrape time.
 */
export class RecountMetrics {
  readonly registry = new Registry();
  private readonly attempts: Counter<'analyzer' | 'outcome'>;
  private readonly duration: Histogram<'analyzer' | 'outcome'>;
  private readonly rows: Counter<'analyzer'>;
  private readonly bytes: Counter<'analyzer'>;
  private readonly files: Counter<'analyzer'>;
  private readonly checkFailures: Counter<'analyzer' | 'check' | 'severity'>;
  private readonly oomKills: Counter<'analyzer' | 'reason'>;
  private readonly attemptPeakRss: Gauge<'analyzer'>;
  private readonly attemptSpill: Gauge<'analyzer'>;
  private readonly workerMemory: Gauge<'worker' | 'kind'>;
  private readonly executorMemory: Gauge<'analyzer' | 'executor' | 'kind'>;
  /** The executor series each running Spark attempt set, removed when it ends. */
  private readonly executorSeries = new Map<string, { analyzer: string; executors: Set<string> }>();
  private readonly notifications: Counter<'sink' | 'outcome'>;
  private readonly seenWorkers = new Set<number>();
  private readonly pendingBySink = new Map<string, () => number>();

  constructor(sources: MetricSources, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const workers = this.seenWorkers;
    this.attempts = new Counter({
      name: 'recount_attempts_total',
      help: 'Attempts finished, by analyzer and outcome (succeeded, superseded, failed, oom, crashed).',
      labelNames: ['analyzer', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'recount_attempt_duration_seconds',
      help: 'Wall time of attempts, from dispatch to outcome.',
      labelNames: ['analyzer', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.rows = new Counter({
      name: 'recount_rows_written_total',
      help: 'Rows of published versions.',
      labelNames: ['analyzer'],
      registers,
    });
    this.bytes = new Counter({
      name: 'recount_bytes_written_total',
      help: 'Parquet bytes of published versions.',
      labelNames: ['analyzer'],
      registers,
    });
    this.files = new Counter({
      name: 'recount_files_written_total',
      help: 'Parquet files of published versions.',
      labelNames: ['analyzer'],
      registers,
    });
    this.checkFailures = new Counter({
      name: 'recount_check_failures_total',
      help: 'Checks that failed, by analyzer, check and severity (error blocks the publish, warn does not).',
      labelNames: ['analyzer', 'check', 'severity'],
      registers,
    });
    this.oomKills = new Counter({
      name: 'recount_oom_kills_total',
      help: 'Attempts ended for memory: rss (killed past the budget), v8-heap, duckdb (its memory_limit), spark (executors or driver).',
      labelNames: ['analyzer', 'reason'],
      registers,
    });
    this.attemptPeakRss = new Gauge({
      name: 'recount_attempt_peak_rss_bytes',
      help: 'Peak worker RSS of the last finished attempt of each analyzer.',
      labelNames: ['analyzer'],
      registers,
    });
    this.attemptSpill = new Gauge({
      name: 'recount_attempt_spill_bytes',
      help: 'Peak bytes DuckDB spilled to disk in the last finished attempt of each analyzer.',
      labelNames: ['analyzer'],
      registers,
    });
    this.executorMemory = new Gauge({
      name: 'recount_spark_executor_memory_bytes',
      help: "Memory of the Spark executors of each running Spark attempt, from the driver's REST API, by kind: on_heap_used and off_heap_used (storage), peak_execution (peak execution memory, on- and off-heap), max (unified memory).",
      labelNames: ['analyzer', 'executor', 'kind'],
      registers,
    });
    this.workerMemory = new Gauge({
      name: 'recount_worker_memory_bytes',
      help: 'Memory of each live worker process by kind: rss, heap_used, heap_total, external (V8), duckdb (duckdb_memory()), spill (duckdb_temporary_files()).',
      labelNames: ['worker', 'kind'],
      registers,
      collect() {
        const live = new Set(sources.workerPids());
        for (const pid of [...workers]) {
          if (live.has(pid)) continue;
          for (const kind of ['rss', 'heap_used', 'heap_total', 'external', 'duckdb', 'spill'])
            this.remove({ worker: String(pid), kind });
          workers.delete(pid);
        }
      },
    });
    new Gauge({
      name: 'recount_workers',
      help: 'Live worker processes.',
      registers,
      collect() {
        this.set(sources.workerPids().length);
      },
    });
    new Gauge({
      name: 'recount_attempts_running',
      help: 'Attempts running now.',
      registers,
      collect() {
        this.set(sources.running());
      },
    });
    new Gauge({
      name: 'recount_queue_depth',
      help: 'Runs queued and not yet started, by analyzer.',
      labelNames: ['analyzer'],
      registers,
      async collect() {
        this.reset();
        for (const analyzer of sources.analyzers()) this.set({ analyzer }, 0);
        for (const q of await sources.queueCounts()) if (q.state === 'queued') this.set({ analyzer: q.analyzer }, q.n);
      },
    });
    new Gauge({
      name: 'recount_lag_seconds',
      help: "How far an analyzer's newest published partition trails its newest ready input, in seconds (0 when caught up).",
      labelNames: ['analyzer'],
      registers,
      collect() {
        this.reset();
        for (const [analyzer, seconds] of sources.lag()) this.set({ analyzer }, seconds);
      },
    });
    new Gauge({
      name: 'recount_loads',
      help: 'Warehouse load records by analyzer and status (loaded, pending, failed, superseded, replaced).',
      labelNames: ['analyzer', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const l of await sources.loadCounts()) this.set({ analyzer: l.analyzer, status: l.status }, l.n);
      },
    });
    new Gauge({
      name: 'recount_load_failures',
      help: 'Warehouse loads failing now: failed (needs a fix) or pending after a failed try (being retried).',
      labelNames: ['analyzer'],
      registers,
      async collect() {
        this.reset();
        const by = new Map<string, number>(sources.analyzers().map((a) => [a, 0]));
        for (const l of await sources.loadCounts())
          by.set(l.analyzer, (by.get(l.analyzer) ?? 0) + (l.status === 'failed' ? l.n : 0) + l.retrying);
        for (const [analyzer, n] of by) this.set({ analyzer }, n);
      },
    });
    new Gauge({
      name: 'recount_alerts_open',
      help: 'Open alerts by analyzer and severity.',
      labelNames: ['analyzer', 'severity'],
      registers,
      async collect() {
        this.reset();
        for (const analyzer of sources.analyzers())
          for (const severity of ['warning', 'critical']) this.set({ analyzer, severity }, 0);
        for (const a of await sources.openAlerts()) this.set({ analyzer: a.analyzer, severity: a.severity }, a.n);
      },
    });
    this.notifications = new Counter({
      name: 'recount_alert_notifications_total',
      help: 'Alert notifications by sink and outcome (delivered, retried, failed, suppressed by the rate limit, dropped from a full queue).',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    const pending = this.pendingBySink;
    new Gauge({
      name: 'recount_alert_notifications_pending',
      help: 'Notifications waiting in a sink (being sent or retried in the background).',
      labelNames: ['sink'],
      registers,
      collect() {
        for (const [sink, n] of pending) this.set({ sink }, n());
      },
    });
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
    this.attempts.inc({ analyzer: a.analyzer, outcome: a.outcome });
    this.duration.observe({ analyzer: a.analyzer, outcome: a.outcome }, a.durationMs / 1000);
    if (a.outcome === 'succeeded') {
      this.rows.inc({ analyzer: a.analyzer }, a.rows ?? 0);
      this.bytes.inc({ analyzer: a.analyzer }, a.bytes ?? 0);
      this.files.inc({ analyzer: a.analyzer }, a.files ?? 0);
    }
    if (a.peakRssBytes) this.attemptPeakRss.set({ analyzer: a.analyzer }, a.peakRssBytes);
    this.attemptSpill.set({ analyzer: a.analyzer }, a.spillBytes ?? 0);
  }

  /** Count a failed check. */
  checkFailed(analyzer: string, check: string, severity: string): void {
    this.checkFailures.inc({ analyzer, check, severity });
  }

  /** Count an attempt ended for memory. */
  oomKill(analyzer: string, reason: string): void {
    this.oomKills.inc({ analyzer, reason });
  }

  /** Record a worker's memory sample. */
  workerSample(s: WorkerMemory): void {
    const worker = String(s.pid);
    this.seenWorkers.add(s.pid);
    this.workerMemory.set({ worker, kind: 'rss' }, s.rss);
    this.workerMemory.set({ worker, kind: 'heap_used' }, s.heapUsed);
    this.workerMemory.set({ worker, kind: 'heap_total' }, s.heapTotal);
    this.workerMemory.set({ worker, kind: 'external' }, s.external);
    this.workerMemory.set({ worker, kind: 'duckdb' }, s.duckdbBytes ?? 0);
    this.workerMemory.set({ worker, kind: 'spill' }, s.spillBytes ?? 0);
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
      this.executorMemory.set({ ...labels, kind: 'on_heap_used' }, e.onHeapUsedBytes);
      this.executorMemory.set({ ...labels, kind: 'off_heap_used' }, e.offHeapUsedBytes);
      this.executorMemory.set({ ...labels, kind: 'peak_execution' }, e.peakExecutionBytes);
      this.executorMemory.set({ ...labels, kind: 'max' }, e.maxBytes);
    }
  }

  /** A Spark attempt ended: its executor series go. */
  executorsEnded(attemptId: string): void {
    const seen = this.executorSeries.get(attemptId);
    if (!seen) return;
    this.executorSeries.delete(attemptId);
    for (const executor of seen.executors)
      for (const kind of ['on_heap_used', 'off_heap_used', 'peak_execution', 'max'])
        this.executorMemory.remove({ analyzer: seen.analyzer, executor, kind });
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
