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
