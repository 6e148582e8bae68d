import type { ExecutorMemorySample } from '../engine/engine.ts';

/** A message from the daemon to a worker process. */
export type ToWorker =
  | {
      type: 'run';
      attemptId: string;
      analyzer: string;
      partition: string;
      threads: number;
      /** `threads` is the most the attempt uses: a small input runs on fewer (src/run/attemptThreads.ts). */
      fitThreads?: boolean;
      duckdbBytes: number;
      trigger: string;
      /** Leave the warehouse load owed: the daemon loads it (src/scheduler/warehouseWriter.ts). */
      deferLoad?: boolean;
    }
  /** Load the published version `version` of a partition into the analyzer's warehouse table (a load owed). */
  | { type: 'load'; jobId: string; analyzer: string; partition: string; version: number }
  | { type: 'stop' };

/** How a worker reports an attempt (or, with `jobId` as attemptId, a load) it finished, successfully or not. */
export interface AttemptReport {
  readonly attemptId: string;
  readonly status: 'succeeded' | 'failed' | 'superseded';
  readonly version?: number;
  readonly rows?: number;
  readonly durationMs: number;
  readonly peakRssBytes: number;
  readonly spillBytes?: number;
  /** sha256 of each file of the version it published, by name (AttemptResult.fileSha256). */
  readonly fileSha256?: Readonly<Record<string, string>>;
  readonly error?: { code: string; message: string; hint?: string };
}

/** A message from a worker process to the daemon. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; report: AttemptReport }
  | {
      type: 'memory';
      rss: number;
      heapUsed: number;
      heapTotal: number;
      external: number;
      arrayBuffers: number;
      duckdbBytes?: number;
      spillBytes?: number;
      /** Remote executors' memory of a Spark attempt (absent otherwise). */
      executors?: readonly ExecutorMemorySample[];
    };
