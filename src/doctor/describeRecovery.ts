import type { RecoveryReport } from '../commit/recovery.ts';
import { intentLabel, plannedOf, type RecoveryPlan } from '../commit/recoveryPlan.ts';

/** The plan in the shape of the report recovery returns, for one vocabulary in `--json`. */
export function planAsReport(plan: RecoveryPlan): RecoveryReport {
  return {
    rolledForward: plannedOf(plan, 'finish-publish').map((a) => intentLabel(a.intent)),
    abandoned: plannedOf(plan, 'abandon-publish').map((a) => intentLabel(a.intent)),
    crashedAttempts: plannedOf(plan, 'record-crashed').map((a) => a.attempt.attempt_id),
    removedStaging: plannedOf(plan, 'remove-staging').map((a) => a.name),
    // A read-only session plans no spill (it is disposable, and never visible to readers): this stays empty there.
    removedSpill: plannedOf(plan, 'remove-spill').map((a) => a.name),
  };
}

/**
 * One line for each thing recovery would do, for a command that did not run it (doctor, gc --dry-run); without
 * `staging`, the staging it would remove is left out (gc lists it with what it would remove itself).
 */
export function describeRecoveryPlan(plan: RecoveryPlan, opts: { staging?: boolean } = {}): string[] {
  const lines: string[] = [];
  const finish = plannedOf(plan, 'finish-publish');
  const abandon = plannedOf(plan, 'abandon-publish');
  const crashed = plannedOf(plan, 'record-crashed');
  const staging = opts.staging === false ? [] : plannedOf(plan, 'remove-staging');
  if (finish.length)
    lines.push(`recovery would finish interrupted publish: ${finish.map((a) => intentLabel(a.intent)).join(', ')}`);
  if (abandon.length)
    lines.push(
      `recovery would abandon interrupted publish whose files are gone (previous version kept): ${abandon.map((a) => intentLabel(a.intent)).join(', ')}`,
    );
  if (crashed.length) lines.push(`recovery would mark ${crashed.length} attempt(s) whose process died as crashed`);
  if (staging.length)
    lines.push(
      `recovery would remove ${staging.length} staging folder(s) no live attempt owns: ${staging.map((s) => s.name).join(', ')}`,
    );
  if (lines.length)
    lines.push(
      "every command that writes (run, backfill, gc, recover, ...) runs recovery first; 'recount recover' runs only it",
    );
  return lines;
}

/** True when recovery would change nothing a user is told about: no publish to finish or abandon, no attempt, no staging. */
export function planIsEmpty(plan: RecoveryPlan): boolean {
  const told = new Set(['finish-publish', 'abandon-publish', 'record-crashed', 'remove-staging']);
  return !plan.actions.some((a) => told.has(a.kind));
}
