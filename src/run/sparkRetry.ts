import type { Analyzer } from '../config/project.ts';
import type { Attempt } from './attempt/attempt.ts';
import type { StateStore } from '../state/store.ts';
import { describeSparkAdaptation, outOfMemoryStreak, sparkConfAfterOutOfMemory } from '../engine/spark/oomRetry.ts';

/** Attempts looked back on: past this many out-of-memory attempts in a row the adaptation no longer grows. */
const LOOK_BACK = 8;

/**
 * The Spark settings of an attempt whose partition's latest attempts ran out of memory (undefined after any
 * other outcome): smaller tasks, starting from the analyzer's own Spark conf, and the note that says so.
 */
export async function sparkRetrySettings(
  store: StateStore,
  analyzer: Analyzer,
  partitionId: string,
): Promise<{ conf: Record<string, string>; note: string } | undefined> {
  const attempts = await store.listAttempts({ analyzer: analyzer.name, partitionId, limit: LOOK_BACK });
  const streak = outOfMemoryStreak(attempts);
  const base = analyzer.engineChoice.name === 'spark' ? analyzer.engineChoice.conf : undefined;
  const conf = sparkConfAfterOutOfMemory(streak, base);
  return conf && { conf, note: describeSparkAdaptation(streak, conf) };
}

/** The attempt, with the Spark settings adapted after out-of-memory attempts of its partition (and a warning saying so). */
export async function withSparkRetry(attempt: Attempt): Promise<Attempt> {
  if (attempt.engine.name !== 'spark') return attempt;
  const retry = await sparkRetrySettings(attempt.ctx.store, attempt.analyzer, attempt.partition.id);
  if (!retry) return attempt;
  attempt.warnings.push(retry.note);
  return { ...attempt, sparkConf: retry.conf };
}
