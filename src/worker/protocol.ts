/** A message from the daemon to a worker process. */
export type ToWorker =
  | { type: 'run'; attemptId: string; analyzer: string; partition: string; threads: number; duckdbBytes: number; trigger: string }
  | { type: 'stop' };

/** How a worker reports an attempt it finished (successfully or not). */
export interface AttemptReport {
  readonly attemptId: string;
  readonly status: 'succeeded' | 'failed' | 'superseded';
  readonly version?: number;
  readonly rows?: number;
  readonly durationMs: number;
  readonly peakRssBytes: number;
  readonly spillBytes?: number;
  readonly error?: { code: string; message: string; hint?: string };
}

/** A message from a worker process to the daemon. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; report: AttemptReport }
  | { type: 'memory'; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; duckdbBytes?: number; spillBytes?: number };
