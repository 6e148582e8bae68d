import type { Analyzer } from '../config/project.ts';
import type { Logger } from '../log.ts';
import { HOST } from '../process/identity.ts';
import type { QueueRow } from '../state/types.ts';
import { type planMemory, smallerPlan } from '../run/budget.ts';
import type { WorkerOutcome } from '../worker/pool.ts';
import type { DaemonShared } from './daemonShared.ts';
import { judgeOutcome, type Verdict } from './judgeOutcome.ts';
import { backoffDelay, DEFAULT_RETRY, isRetryable } from './retry.ts';

/** One attempt of a claimed queue item, as the dispatcher ran it. */
export interface AttemptRun {
  readonly item: QueueRow;
  readonly analyzer: Analyzer;
  readonly attemptId: string;
  readonly plan: ReturnType<typeof planMemory>;
  readonly log: Logger;
}

type Failed = Extract<Verdict, { kind: 'failed' }>;

/**
 * Settle an attempt's outcome in the queue and the attempt records, as the pure `judgeOutcome` rules: 'published'
 * when it succeeded (the caller rescans the partition's readers).
 */
export async function settleOutcome(
  shared: DaemonShared,
  run: AttemptRun,
  outcome: WorkerOutcome,
  durationMs: number,
): Promise<'published' | 'settled'> {
  const policy = run.analyzer.retries ?? DEFAULT_RETRY;
  const verdict = judgeOutcome(outcome, {
    stopping: shared.stopping,
    tries: run.item.attempts + 1,
    maxTries: policy.max,
    heapMb: run.plan.heapMb,
    postmortemDir: shared.project.config.serve.postmortemDir,
    engine: run.analyzer.engineChoice.name,
  });
  if (verdict.kind === 'abandoned') {
    await settleAbandoned(shared, run);
    return 'settled';
  }
  if (verdict.kind === 'done') {
    await settleDone(shared, run, verdict.status, outcome, durationMs);
    return 'published';
  }
  await settleFailed(shared, run, verdict, outcome, durationMs);
  return 'settled';
}

/**
 * Killed by the drain, not by its own fault: back to the queue, to run after the restart, and the try it used is
 * given back (a drain timeout must not use up an analyzer's retries).
 */
async function settleAbandoned(shared: DaemonShared, run: AttemptRun): Promise<void> {
  await markDead(shared, run, 'crashed', 'ABANDONED', 'the daemon stopped during the attempt');
  await shared.store.queue.retryLater(run.item.id, {
    notBefore: new Date(),
    errorCode: 'ABANDONED',
    error: 'the daemon stopped during the attempt',
    refundAttempt: true,
  });
  run.log.warn('attempt abandoned by shutdown; requeued');
}

async function settleDone(
  shared: DaemonShared,
  run: AttemptRun,
  status: Extract<Verdict, { kind: 'done' }>['status'],
  outcome: WorkerOutcome,
  durationMs: number,
): Promise<void> {
  const { item, log } = run;
  const r = (outcome as Extract<WorkerOutcome, { kind: 'report' }>).report;
  await shared.store.queue.succeed(item.id);
  shared.summary.succeeded++;
  log.info({ version: r.version, rows: r.rows, durationMs: r.durationMs, status: r.status }, 'attempt succeeded');
  shared.opts.onAttempt?.({
    analyzer: run.analyzer.name,
    partition: item.partition_id,
    attemptId: run.attemptId,
    outcome: status,
    final: true,
    durationMs,
    rows: r.rows,
    peakRssBytes: outcome.peakRssBytes,
    spillBytes: r.spillBytes,
    budgetBytes: run.plan.budgetBytes,
  });
}

async function settleFailed(
  shared: DaemonShared,
  run: AttemptRun,
  verdict: Failed,
  outcome: WorkerOutcome,
  durationMs: number,
): Promise<void> {
  const { code, message } = verdict;
  // A failure after the publish claim leaves an intent to finish; recovery rolls it forward now.
  if (verdict.recoverIntent) await shared.recoverOrWarn(run.log);
  if (verdict.workerDied) await markDead(shared, run, verdict.status === 'oom' ? 'oom' : 'crashed', code, message);
  shared.opts.onAttempt?.({
    analyzer: run.analyzer.name,
    partition: run.item.partition_id,
    attemptId: run.attemptId,
    outcome: verdict.status,
    final: !verdict.retry,
    errorCode: code,
    error: message,
    durationMs,
    peakRssBytes: outcome.peakRssBytes,
    budgetBytes: run.plan.budgetBytes,
    oomReason: verdict.oomReason,
  });
  if (verdict.retry) await retryLater(shared, run, verdict);
  else await failForGood(shared, run, code, message);
}

async function retryLater(shared: DaemonShared, run: AttemptRun, verdict: Failed): Promise<void> {
  const { code, message } = verdict;
  const policy = run.analyzer.retries ?? DEFAULT_RETRY;
  const attempts = run.item.attempts + 1;
  const delay = backoffDelay(policy, attempts);
  const smaller = verdict.degrade ? smallerPlan(run.plan, verdict.degrade) : undefined;
  await shared.store.queue.retryLater(run.item.id, {
    notBefore: new Date(Date.now() + delay),
    errorCode: code,
    error: message,
    ...(smaller ? { threads: smaller.threads, memoryBytes: smaller.duckdbBytes } : {}),
  });
  run.log.warn(
    {
      code,
      error: message,
      retryInMs: delay,
      try: attempts,
      of: policy.max,
      ...(smaller ? { nextThreads: smaller.threads, nextDuckdbMB: Math.round(smaller.duckdbBytes / 1e6) } : {}),
    },
    'attempt failed; will retry',
  );
}

async function failForGood(shared: DaemonShared, run: AttemptRun, code: string, message: string): Promise<void> {
  const { item, analyzer } = run;
  await shared.store.queue.fail(item.id, { errorCode: code, error: message });
  shared.summary.failedForGood.push(`${analyzer.name} ${item.partition_id} [${code}]`);
  run.log.error(
    {
      code,
      error: message,
      tries: item.attempts + 1,
      permanent: !isRetryable(code),
      hint: `not retried until its input or definition changes; after a fix: recount run ${analyzer.name} --partition ${item.partition_id}`,
    },
    'run failed for good',
  );
}

/** Record an attempt whose worker died (the worker could not) and clean up its staging. */
async function markDead(
  shared: DaemonShared,
  run: AttemptRun,
  status: 'oom' | 'crashed',
  code: string,
  message: string,
): Promise<void> {
  const { attemptId, item, plan } = run;
  let attempt = await shared.store.getAttempt(attemptId);
  if (!attempt) {
    // Killed before the worker recorded the attempt (e.g. the watchdog at start-up): record it here, so
    // every attempt the daemon made has its row and its error.
    await shared.store.beginAttempt({
      runId: attemptId,
      attemptId,
      analyzer: item.analyzer,
      partitionId: item.partition_id,
      trigger: item.reason,
      pid: process.pid,
      host: HOST,
      procToken: shared.owner.token,
      threads: plan.threads,
      memoryBytes: plan.duckdbBytes,
      stagingDir: shared.layout.stagingDir(attemptId),
    });
    attempt = await shared.store.getAttempt(attemptId);
  }
  // A recovery (the periodic rescan's, another command's) may have seen the dead worker first and recorded only
  // that it died: the daemon knows how (out of memory, which signal), so its record replaces that one.
  const crashedByRecovery = attempt?.status === 'crashed' && attempt.error_code === 'CRASHED';
  if (attempt?.status === 'running' || crashedByRecovery) {
    await shared.store.finishAttempt(attemptId, {
      status,
      error: {
        code,
        message,
        hint:
          status === 'oom'
            ? 'retried with fewer threads and a lower DuckDB limit; raise memory if it keeps failing'
            : 'retried; nothing of this attempt was published',
      },
    });
  }
  await shared.recoverOrWarn(
    shared.opts.log.child({ analyzer: item.analyzer, partition: item.partition_id, attempt: attemptId }),
  );
}
