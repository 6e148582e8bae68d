import type { RecountError } from '../../errors.ts';
import type { LoadOutcome } from '../../warehouse/loader.ts';
import type { Attempt } from './attempt.ts';
import type { EnginePeaks } from './engineHandle.ts';
import type { AttemptResult } from './types.ts';
import type { SealedVersion } from './seal.ts';

/** How an attempt ended: published, not published (superseded), or failed. */
export type AttemptEnding =
  | { readonly status: 'succeeded'; readonly sealed: SealedVersion }
  | { readonly status: 'superseded'; readonly sealed: SealedVersion; readonly reason: string }
  | {
      readonly status: 'failed';
      readonly error: RecountError;
      readonly peakRssBytes: number;
      readonly peaks: EnginePeaks;
    };

function measuresOf(ending: AttemptEnding): { peakRssBytes: number; peaks: EnginePeaks } {
  return ending.status === 'failed' ? ending : ending.sealed;
}

/**
 * Record how the attempt ended, with its check results, in one transaction. A success records the load that
 * follows as owed (pending): a load that then fails or is killed leaves the publish in place and is retried by
 * `recount load --pending`.
 */
export async function recordEnding(attempt: Attempt, ending: AttemptEnding, owedTable?: string): Promise<void> {
  const { peakRssBytes, peaks } = measuresOf(ending);
  const common = {
    checks: attempt.checks,
    peakRssBytes,
    timings: attempt.timings,
    spillBytes: peaks.peakSpillBytes,
    duckdbPeakBytes: peaks.peakMemoryBytes,
  };
  if (ending.status === 'failed') {
    const { error } = ending;
    const status = error.code === 'OUT_OF_MEMORY' ? 'oom' : 'failed';
    const recorded = { code: error.code, message: error.message, hint: error.hint };
    return attempt.ctx.store.finishAttempt(attempt.id, { status, ...common, error: recorded });
  }
  const { sealed } = ending;
  const output = { rows: sealed.rows, bytes: sealed.bytes, files: sealed.files.length };
  await attempt.ctx.store.finishAttempt(attempt.id, {
    status: ending.status,
    ...common,
    ...output,
    inputFingerprint: sealed.inputFingerprint,
    ...(ending.status === 'succeeded'
      ? { versionSeq: sealed.seq, owedLoad: owedTable ? { table: owedTable } : undefined }
      : { error: { code: 'PUBLISH_CONFLICT', message: ending.reason } }),
  });
}

/** The attempt's result, as `recount run` reports it: built here and nowhere else. */
export function attemptResult(attempt: Attempt, ending: AttemptEnding, load?: LoadOutcome): AttemptResult {
  const { analyzer, partition } = attempt;
  const { peakRssBytes, peaks } = measuresOf(ending);
  const sealed = ending.status === 'failed' ? undefined : ending.sealed;
  return {
    analyzer: analyzer.name,
    partition: partition.id,
    attemptId: attempt.id,
    status: ending.status,
    ...(ending.status === 'succeeded' && { version: ending.sealed.seq }),
    ...(sealed && { rows: sealed.rows, files: sealed.files.length, bytes: sealed.bytes, keys: sealed.keys }),
    checks: attempt.checks,
    warnings:
      ending.status === 'superseded' ? [...attempt.warnings, `not published: ${ending.reason}`] : attempt.warnings,
    durationMs: Date.now() - attempt.started,
    peakRssBytes,
    // A superseded attempt reports no engine peaks (its record has them).
    ...(ending.status !== 'superseded' && { spillBytes: peaks.peakSpillBytes, duckdbPeakBytes: peaks.peakMemoryBytes }),
    ...(ending.status === 'succeeded' && {
      publishedPath: attempt.layout.publishedPath(analyzer.name, partition),
      fileSha256: Object.fromEntries(ending.sealed.files.map((f) => [f.path, f.sha256])),
      load,
    }),
    ...(ending.status === 'failed' && { error: ending.error }),
  };
}
