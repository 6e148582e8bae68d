// What recovery does for a dead attempt's engine before removing its staging: DuckDB ran inside the dead process
// and died with it; a Spark job runs on in the cluster and is interrupted (src/engine/spark/deadSessions.ts).
import type { Analyzer } from '../config/project.ts';
import type { AttemptRow } from '../state/types.ts';

/** Stops what dead attempts left running in their engines; returns the attempts that had work running. Never throws. */
export type StopDeadAttempts = (attempts: readonly AttemptRow[]) => Promise<string[]>;

/**
 * The stopper of a project's analyzers: each dead attempt's analyzer names its engine; the Spark client is loaded
 * only when one of them ran on Spark. `warn` gets what could not be stopped (an unreachable server, named).
 */
export function deadAttemptStopper(
  analyzers: ReadonlyMap<string, Pick<Analyzer, 'engineChoice'>>,
  warn: (message: string) => void,
): StopDeadAttempts {
  return async (attempts) => {
    const onSpark = attempts.flatMap((a) => {
      const engine = analyzers.get(a.analyzer)?.engineChoice;
      return engine?.name === 'spark' ? [{ attemptId: a.attempt_id, remote: engine.remote }] : [];
    });
    if (onSpark.length === 0) return [];
    const { interruptDeadSparkAttempts } = await import('./spark/deadSessions.ts');
    return interruptDeadSparkAttempts(onSpark, warn);
  };
}
