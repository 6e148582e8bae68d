import type { WorkerOutcome } from '../worker/pool.ts';
import { isRetryable } from './retry.ts';

/** How a retry shrinks after running out of memory: DuckDB's own limit hit (fewer threads, same limit) or the process's budget (both lower). */
export type Degrade = 'threads' | 'threads-and-limit';

/** What ran out of memory: the worker's RSS or V8 heap, DuckDB at its own limit, or Spark (an executor or the driver). */
export type OomReason = 'rss' | 'v8-heap' | 'duckdb' | 'spark';

/** What the daemon makes of one attempt's outcome; `settle` carries it out. */
export type Verdict =
  /** The drain killed it, not its own fault: requeue and give the try back. */
  | { readonly kind: 'abandoned' }
  /** Published, or superseded by an identical or newer version: the queue item is done. */
  | { readonly kind: 'done'; readonly status: 'succeeded' | 'superseded' }
  | {
      readonly kind: 'failed';
      readonly status: 'failed' | 'oom' | 'crashed';
      readonly code: string;
      readonly message: string;
      /** The worker died: the daemon records the attempt (the worker could not) and removes its staging. */
      readonly workerDied: boolean;
      /** The worker reported the failure: an intent it left after its claim is rolled forward now. */
      readonly recoverIntent: boolean;
      readonly retry: boolean;
      readonly degrade?: Degrade;
      /** Why an out-of-memory happened, for the metrics. */
      readonly oomReason?: OomReason;
    };

/** What the judgement needs besides the outcome. */
export interface JudgeContext {
  /** The daemon is draining (SIGTERM). */
  readonly stopping: boolean;
  /** Tries made, this one included. */
  readonly tries: number;
  readonly maxTries: number;
  /** The worker's V8 heap limit, and where a heap snapshot goes, for the message of a V8 out-of-memory. */
  readonly heapMb: number;
  readonly postmortemDir: string;
  /** The engine the attempt ran on (`duckdb` when absent). */
  readonly engine?: string;
}

/**
 * Judge an attempt's outcome: pure, so every case is one row of a table test. A retryable failure is retried
 * while tries remain, while draining too (it stays queued for after the restart, never failed for good).
 */
export function judgeOutcome(outcome: WorkerOutcome, ctx: JudgeContext): Verdict {
  if (ctx.stopping && outcome.kind === 'crashed') return { kind: 'abandoned' };
  if (outcome.kind === 'report') {
    const report = outcome.report;
    if (report.status !== 'failed') return { kind: 'done', status: report.status };
    const code = report.error?.code ?? 'INTERNAL';
    const oom = code === 'OUT_OF_MEMORY';
    return failed(ctx, {
      status: oom ? 'oom' : 'failed',
      code,
      message: report.error?.message ?? 'failed',
      workerDied: false,
      recoverIntent: true,
      ...(oom ? reportedOom(ctx) : {}),
    });
  }
  if (outcome.kind === 'oom') {
    const message =
      outcome.reason === 'rss'
        ? `worker killed: RSS ${Math.round(outcome.peakRssBytes / 1e6)} MB passed the memory budget of ${Math.round(outcome.budgetBytes / 1e6)} MB`
        : `worker ran out of V8 heap (limit ${ctx.heapMb} MB); a heap snapshot is in ${ctx.postmortemDir}`;
    return failed(ctx, {
      status: 'oom',
      code: 'OUT_OF_MEMORY',
      message,
      workerDied: true,
      recoverIntent: false,
      degrade: 'threads-and-limit',
      oomReason: outcome.reason,
    });
  }
  return failed(ctx, {
    status: 'crashed',
    code: 'CRASHED',
    message: `worker process died (${outcome.signal ?? `exit ${outcome.code}`}) during the attempt`,
    workerDied: true,
    recoverIntent: false,
  });
}

/**
 * How an out-of-memory the worker reported is retried. DuckDB stopped at its own limit: a lower limit cannot help,
 * fewer threads (less state per thread) can. Spark's memory is its executors', not the worker's: the worker's plan
 * stays, and the retry runs with smaller Spark tasks, which it derives from its partition's out-of-memory streak
 * (src/engine/spark/oomRetry.ts).
 */
function reportedOom(ctx: JudgeContext): { degrade?: Degrade; oomReason: OomReason } {
  return ctx.engine === 'spark' ? { oomReason: 'spark' } : { degrade: 'threads', oomReason: 'duckdb' };
}

function failed(ctx: JudgeContext, verdict: Omit<Extract<Verdict, { kind: 'failed' }>, 'kind' | 'retry'>): Verdict {
  return { kind: 'failed', ...verdict, retry: isRetryable(verdict.code) && ctx.tries < ctx.maxTries };
}
