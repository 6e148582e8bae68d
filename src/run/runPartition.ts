import { parsePartition } from '../catalog/partition.ts';
import type { Analyzer } from '../config/project.ts';
import { asRecountError } from '../errors.ts';
import { loadTableOf } from '../warehouse/loader.ts';
import { type Attempt, planAttempt, removeQuietly, Stopwatch } from './attempt/attempt.ts';
import { recordAttemptStart } from './attempt/begin.ts';
import { checkStaged } from './attempt/checks.ts';
import { readAttemptInputs } from './attempt/checkInputs.ts';
import { AttemptEngine } from './attempt/engineHandle.ts';
import { loadPublished } from './attempt/load.ts';
import { type AttemptEnding, attemptResult, recordEnding } from './attempt/outcome.ts';
import { claimAndPublish } from './attempt/publish.ts';
import { resolveAttemptInputs } from './attempt/resolve.ts';
import { sealStaged } from './attempt/seal.ts';
import { makeStagingDir, planOutput, writeStaged } from './attempt/stage.ts';
import type { AttemptResult, RunContext, RunOptions } from './attempt/types.ts';
import { withSparkRetry } from './sparkRetry.ts';

export { newAttemptId } from './attempt/attempt.ts';
export type { AttemptResult, RunContext, RunOptions } from './attempt/types.ts';

/**
 * Run one analyzer on one partition as one attempt: inputs -> query -> deterministic files in private
 * staging -> blocking checks -> manifest -> atomic publish -> load. Whatever fails, the previous version stays
 * published; the attempt and its error are recorded. Each phase is one file under run/attempt/.
 */
export async function runPartition(
  ctx: RunContext,
  analyzer: Analyzer,
  partitionId: string,
  opts: RunOptions = {},
): Promise<AttemptResult> {
  // After out-of-memory attempts of this partition, a Spark attempt runs with smaller tasks (and says so).
  const attempt = await withSparkRetry(planAttempt(ctx, analyzer, parsePartition(partitionId, analyzer.grain), opts));
  const engine = new AttemptEngine(attempt.engine, attempt);
  let baseSeq: number;
  try {
    baseSeq = await recordAttemptStart(attempt);
  } catch (err) {
    await engine.release();
    removeQuietly(attempt.spillDir);
    throw err;
  }
  try {
    return await runRecorded(attempt, engine, baseSeq);
  } catch (err) {
    return await endFailed(attempt, engine, err);
  } finally {
    await engine.release();
    if (!attempt.claimed) removeQuietly(attempt.stagingDir);
    removeQuietly(attempt.spillDir);
  }
}

/** The phases of a recorded attempt, in protocol order; any failure ends it as failed (endFailed). */
async function runRecorded(attempt: Attempt, engine: AttemptEngine, baseSeq: number): Promise<AttemptResult> {
  const stopwatch = new Stopwatch(attempt.timings);
  const resolved = resolveAttemptInputs(attempt.ctx.project, attempt.analyzer, attempt.partition);
  makeStagingDir(attempt);
  const session = await engine.take();
  const read = await readAttemptInputs(attempt, session, resolved);
  stopwatch.lap('inputs');
  const plan = await planOutput(attempt, session, read);
  stopwatch.lap('plan');
  const written = await writeStaged(attempt, session, read, plan);
  stopwatch.lap('query_and_write');
  await checkStaged(attempt, session, written, plan);
  stopwatch.lap('checks');
  const sealed = await sealStaged(attempt, engine, session, { baseSeq, resolved, read, plan, written });
  const publish = await claimAndPublish(attempt, sealed, stopwatch);
  if (!publish.published) {
    // Not published: recorded as superseded (its staging, if unclaimed, goes with the attempt's cleanup).
    const ending: AttemptEnding = { status: 'superseded', sealed, reason: publish.reason };
    await recordEnding(attempt, ending);
    return attemptResult(attempt, ending);
  }
  const ending: AttemptEnding = { status: 'succeeded', sealed };
  const owedTable = loadTableOf(attempt.analyzer);
  await recordEnding(attempt, ending, owedTable);
  if (attempt.opts.deferLoad) return attemptResult(attempt, ending);
  return attemptResult(attempt, ending, await loadPublished(attempt, sealed, owedTable));
}

async function endFailed(attempt: Attempt, engine: AttemptEngine, err: unknown): Promise<AttemptResult> {
  const error = asRecountError(err);
  const peakRssBytes = engine.sampler.stop();
  const ending: AttemptEnding = { status: 'failed', error, peakRssBytes, peaks: await engine.stopEngineSampler() };
  await recordEnding(attempt, ending);
  return attemptResult(attempt, ending);
}
