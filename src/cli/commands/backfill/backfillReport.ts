import type { Analyzer } from '../../../config/project.ts';
import { thousands } from '../../../config/size.ts';
import type { AttemptResult } from '../../../run/runPartition.ts';
import { loadWarning } from '../../../warehouse/loader.ts';
import { attemptJson, duration, wrap } from '../../format.ts';
import type { Output } from '../../output.ts';
import { tableOf } from '../../tableOf.ts';
import type { BackfillOutcome } from './runBackfill.ts';

/** The result of a backfill: counts, what was left alone and why, loads, and a table of the failures. */
export function reportBackfill(
  out: Output,
  analyzer: Analyzer,
  partitions: number,
  o: BackfillOutcome,
  elapsedMs: number,
): void {
  const { results, skipped, held, failed } = o;
  out.result(
    {
      ok: failed === 0,
      analyzer: analyzer.name,
      partitions,
      succeeded: results.filter((r) => r.status === 'succeeded').length,
      failed,
      skipped,
      held,
      results: results.map(attemptJson),
    },
    () => {
      out.info(
        `${analyzer.name}: ${partitions} partitions in ${duration(elapsedMs)} — ${results.length - failed} published, ${skipped.length} already up to date, ${held.length ? `${held.length} held by a rollback, ` : ''}${failed} failed`,
      );
      if (skipped.length)
        out.info(
          `  up to date: published from the same input, SQL, keys, file count and engine version (--force reruns them anyway)`,
        );
      if (held.length)
        out.info(
          `  held by a rollback, not rerun: ${held.join(', ')} (recount release ${analyzer.name} --partition ID, or --force, reruns them)`,
        );
      reportLoads(out, analyzer, results);
      reportFailures(out, analyzer, results);
    },
  );
}

function reportLoads(out: Output, analyzer: Analyzer, results: AttemptResult[]): void {
  const loads = results.flatMap((r) => (r.load ? [r.load] : []));
  if (!loads.length) return;
  const done = loads.filter((l) => !l.error);
  const owed = loads.length - done.length;
  out.info(
    `  loaded into ${loads[0]!.table} (${loads[0]!.warehouse}): ${done.length} partition(s), ${thousands(done.reduce((n, l) => n + (l.rows ?? 0), 0))} rows` +
      (owed ? `; ${owed} not loaded: recount load ${analyzer.name} --pending` : ''),
  );
  for (const l of loads) if (l.error) out.warn(loadWarning(l));
}

function reportFailures(out: Output, analyzer: Analyzer, results: AttemptResult[]): void {
  const failures = results.filter((r) => r.status === 'failed');
  if (!failures.length) return;
  out.info(
    tableOf(['partition', 'error', 'message'], failures, (f) => [
      f.partition,
      f.error!.code,
      wrap(f.error!.message, 90),
    ]),
  );
  out.info(`rerun a failed partition with: recount run ${analyzer.name} --partition <id>`);
}
