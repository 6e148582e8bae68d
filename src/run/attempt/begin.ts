import { currentProcToken, HOST } from '../../process/identity.ts';
import type { StateStore } from '../../state/store.ts';
import type { Attempt } from './attempt.ts';

/** Analyzer definitions already recorded per store in this process: a backfill or a worker records each once, not per attempt (one fsync less). */
const recordedAnalyzers = new WeakMap<StateStore, Map<string, string>>();

/** Record the attempt as running (and its analyzer's definition, once per process); returns the partition's seq it builds on. */
export async function recordAttemptStart(attempt: Attempt): Promise<number> {
  const { analyzer, partition } = attempt;
  const { store } = attempt.ctx;
  const recorded = `${analyzer.file}\0${analyzer.sqlHash}\0${analyzer.grain}`;
  if (recordedAnalyzers.get(store)?.get(analyzer.name) !== recorded) {
    await store.upsertAnalyzer({
      name: analyzer.name,
      file: analyzer.file,
      sqlHash: analyzer.sqlHash,
      grain: analyzer.grain,
    });
    if (!recordedAnalyzers.has(store)) recordedAnalyzers.set(store, new Map());
    recordedAnalyzers.get(store)!.set(analyzer.name, recorded);
  }
  const { baseSeq } = await store.beginAttempt({
    runId: attempt.id,
    attemptId: attempt.id,
    analyzer: analyzer.name,
    partitionId: partition.id,
    trigger: attempt.opts.trigger ?? 'run',
    pid: process.pid,
    host: HOST,
    procToken: currentProcToken(),
    threads: attempt.threads,
    memoryBytes: attempt.memoryBytes,
    stagingDir: attempt.stagingDir,
    ...(attempt.sparkConf ? { sparkConf: attempt.sparkConf } : {}),
  });
  return baseSeq;
}
