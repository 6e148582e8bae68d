import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The `kind` label of `recount_worker_memory_bytes`. */
export const WORKER_MEMORY_KINDS = ['rss', 'heap_used', 'heap_total', 'external', 'duckdb', 'spill'] as const;
/** The `kind` label of `recount_spark_executor_memory_bytes`. */
export const EXECUTOR_MEMORY_KINDS = ['on_heap_used', 'off_heap_used', 'peak_execution', 'max'] as const;

/** The metrics recount's events move: finished attempts, failed checks, memory kills, worker and executor memory. */
export interface EventMetrics {
  readonly attempts: Counter<'analyzer' | 'outcome'>;
  readonly duration: Histogram<'analyzer' | 'outcome'>;
  readonly rows: Counter<'analyzer'>;
  readonly bytes: Counter<'analyzer'>;
  readonly files: Counter<'analyzer'>;
  readonly checkFailures: Counter<'analyzer' | 'check' | 'severity'>;
  readonly oomKills: Counter<'analyzer' | 'reason'>;
  readonly attemptPeakRss: Gauge<'analyzer'>;
  readonly attemptSpill: Gauge<'analyzer'>;
  readonly executorMemory: Gauge<'analyzer' | 'executor' | 'kind'>;
  readonly workerMemory: Gauge<'worker' | 'kind'>;
}

/**
 * Register the event metrics on `registry`. Worker memory series of workers no longer in `liveWorkerPids()` are
 * dropped at scrape time; `seenWorkers` holds the pids that have series.
 */
export function createEventMetrics(
  registry: Registry,
  liveWorkerPids: () => number[],
  seenWorkers: Set<number>,
): EventMetrics {
  const registers = [registry];
  const counter = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
    new Counter({ name, help, labelNames, registers });
  const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
    new Gauge({ name, help, labelNames, registers });
  return {
    attempts: counter(
      'recount_attempts_total',
      'Attempts finished, by analyzer and outcome (succeeded, superseded, failed, oom, crashed).',
      ['analyzer', 'outcome'],
    ),
    duration: new Histogram({
      name: 'recount_attempt_duration_seconds',
      help: 'Wall time of attempts, from dispatch to outcome.',
      labelNames: ['analyzer', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    rows: counter('recount_rows_written_total', 'Rows of published versions.', ['analyzer']),
    bytes: counter('recount_bytes_written_total', 'Parquet bytes of published versions.', ['analyzer']),
    files: counter('recount_files_written_total', 'Parquet files of published versions.', ['analyzer']),
    checkFailures: counter(
      'recount_check_failures_total',
      'Checks that failed, by analyzer, check and severity (error blocks the publish, warn does not).',
      ['analyzer', 'check', 'severity'],
    ),
    oomKills: counter(
      'recount_oom_kills_total',
      'Attempts ended for memory: rss (killed past the budget), v8-heap, duckdb (its memory_limit), spark (executors or driver).',
      ['analyzer', 'reason'],
    ),
    attemptPeakRss: gauge(
      'recount_attempt_peak_rss_bytes',
      'Peak worker RSS of the last finished attempt of each analyzer.',
      ['analyzer'],
    ),
    attemptSpill: gauge(
      'recount_attempt_spill_bytes',
      'Peak bytes DuckDB spilled to disk in the last finished attempt of each analyzer.',
      ['analyzer'],
    ),
    executorMemory: gauge(
      'recount_spark_executor_memory_bytes',
      "Memory of the Spark executors of each running Spark attempt, from the driver's REST API, by kind: on_heap_used and off_heap_used (storage), peak_execution (peak execution memory, on- and off-heap), max (unified memory).",
      ['analyzer', 'executor', 'kind'],
    ),
    workerMemory: new Gauge({
      name: 'recount_worker_memory_bytes',
      help: 'Memory of each live worker process by kind: rss, heap_used, heap_total, external (V8), duckdb (duckdb_memory()), spill (duckdb_temporary_files()).',
      labelNames: ['worker', 'kind'],
      registers,
      collect() {
        const live = new Set(liveWorkerPids());
        for (const pid of [...seenWorkers]) {
          if (live.has(pid)) continue;
          for (const kind of WORKER_MEMORY_KINDS) this.remove({ worker: String(pid), kind });
          seenWorkers.delete(pid);
        }
      },
    }),
  };
}

/** Register the alert notification metrics: outcomes by sink, and each sink's backlog read at scrape time. */
export function createNotificationMetrics(
  registry: Registry,
  pendingBySink: ReadonlyMap<string, () => number>,
): Counter<'sink' | 'outcome'> {
  const notifications = new Counter({
    name: 'recount_alert_notifications_total',
    help: 'Alert notifications by sink and outcome (delivered, retried, failed, suppressed by the rate limit, dropped from a full queue).',
    labelNames: ['sink', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'recount_alert_notifications_pending',
    help: 'Notifications waiting in a sink (being sent or retried in the background).',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      for (const [sink, n] of pendingBySink) this.set({ sink }, n());
    },
  });
  return notifications;
}
