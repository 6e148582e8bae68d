import { blocksPublish, type CheckResult } from '../../checks/check.ts';
import { runChecks } from '../../checks/runChecks.ts';
import type { EngineSession, WrittenLayout } from '../../engine/engine.ts';
import { engineResourceError } from '../../engine/resourceError.ts';
import { asRecountError, RecountError } from '../../errors.ts';
import type { Attempt } from './attempt.ts';
import type { OutputPlan } from './stage.ts';

/** Phase 6: run the built-in and the analyzer's checks over the staged files; the results are kept on the attempt. */
export async function checkStaged(
  attempt: Attempt,
  session: EngineSession,
  written: WrittenLayout,
  plan: OutputPlan,
): Promise<CheckResult[]> {
  const { analyzer, partition } = attempt;
  try {
    attempt.checks = await runChecks({
      session,
      dir: attempt.stagingDir,
      files: written.files,
      keys: plan.keyChoice.keys,
      checks: analyzer.checks,
      columns: plan.columns,
      rowsFromFileMetadata: written.rowsFromFileMetadata,
    });
  } catch (err) {
    // The built-in checks read every staged row: out of memory there is the attempt's, retried smaller.
    throw engineResourceError(err, analyzer.file, `${analyzer.file}: ${partition.id} (checks)`) ?? asRecountError(err);
  }
  // The check results are recorded with the attempt's outcome, in the same transaction (one commit less).
  if (blocksPublish(attempt.checks)) throw checkFailed(attempt, attempt.checks);
  return attempt.checks;
}

function checkFailed({ analyzer, partition }: Attempt, checks: readonly CheckResult[]): RecountError {
  const failed = checks.filter((c) => !c.passed && c.severity === 'error');
  const first = failed[0]!;
  return new RecountError(
    'CHECK_FAILED',
    `${analyzer.name} ${partition.id}: check ${failed.map((c) => `'${c.name}'`).join(', ')} failed: ${first.message}`,
    {
      subject: `${analyzer.file}: checks.${first.name}`,
      hint: `nothing was published; the previous version stays. See the sample rows with 'recount status ${analyzer.name} --partition ${partition.id} --json', then fix the data or the SQL`,
      details: { checks: failed.map((c) => ({ name: c.name, failing: c.failing, sample: c.sample })) },
    },
  );
}
