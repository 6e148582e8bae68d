import type { Analyzer, Project } from '../config/project.ts';
import type { OutputLayout } from '../commit/paths.ts';
import type { Logger } from '../log.ts';
import type { QueueOwner } from '../state/queueStore.ts';
import type { StateStore } from '../state/store.ts';
import type { WorkerMemorySample, WorkerPool } from '../worker/pool.ts';
import type { OomReason } from './judgeOutcome.ts';
import type { WarehouseWriter } from './warehouseWriter.ts';

/** Settings of a daemon, from the config's `serve` block and the command line. */
export interface DaemonOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly scanIntervalMs: number;
  readonly watch?: boolean;
  readonly log: Logger;
  /** Extra environment for worker processes. */
  readonly workerEnv?: NodeJS.ProcessEnv;
  readonly onMemory?: (s: WorkerMemorySample) => void;
  /** Called after every attempt the daemon ran (for metrics and alerts). */
  readonly onAttempt?: (e: AttemptEvent) => void;
}

/** What the daemon reports after an attempt. */
export interface AttemptEvent {
  readonly analyzer: string;
  readonly partition: string;
  readonly attemptId: string;
  readonly outcome: 'succeeded' | 'superseded' | 'failed' | 'oom' | 'crashed';
  readonly final: boolean;
  readonly errorCode?: string;
  readonly error?: string;
  readonly durationMs: number;
  readonly rows?: number;
  readonly peakRssBytes: number;
  readonly spillBytes?: number;
  /** The attempt's memory budget (what memory alerts measure shares of). */
  readonly budgetBytes?: number;
  /** Why an out-of-memory attempt ended: killed past its RSS budget, V8 heap exhausted, or DuckDB's own limit. */
  readonly oomReason?: OomReason;
}

/** What the daemon did since it started: `serve --until-idle` reports it and exits 1 when runs failed for good. */
export interface DaemonSummary {
  succeeded: number;
  readonly failedForGood: string[];
}

/**
 * What the daemon's roles (discovery, dispatcher, load retrier) share: the project, the stores, the worker pool,
 * the lease this daemon holds queue items under, what runs now, and the recovery they all fall back on.
 */
export interface DaemonShared {
  readonly project: Project;
  readonly store: StateStore;
  readonly opts: DaemonOptions;
  readonly pool: WorkerPool;
  readonly layout: OutputLayout;
  readonly owner: QueueOwner;
  /** Attempts running now, by queue item id. */
  readonly running: Map<number, Promise<void>>;
  /** `analyzer/partition` of the runs in `running`: a load owed there waits, the run's own load follows its publish. */
  readonly runningKeys: Set<string>;
  /** Warehouse loads running, by `analyzer/partition`: in workers, or in this process (`writer.has(key)`). */
  readonly loadJobs: Map<string, Promise<void>>;
  /** The one writer of a DuckDB warehouse file: loads its analyzers' versions in this process, one at a time. */
  readonly writer: WarehouseWriter;
  readonly summary: DaemonSummary;
  /** True once `stop()` began: nothing new is started. */
  readonly stopping: boolean;
  /** Claim due runs into free slots (the dispatcher's tick). */
  tick(): Promise<void>;
  /** Hand a version a worker published and left owed to the daemon's writer (LoadRetrier.loadPublished). */
  loadPublished(
    analyzer: Analyzer,
    partition: string,
    version: number,
    fileSha256?: Readonly<Record<string, string>>,
  ): void;
  /** Loads in workers: they take worker slots, as attempts do (the writer's loads run in this process). */
  workerLoads(): number;
  /** Recover, or log why it could not (the next rescan retries it). */
  recoverOrWarn(log: Logger): Promise<void>;
}
