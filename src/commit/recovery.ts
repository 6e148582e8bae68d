import { existsSync, rmSync } from 'node:fs';
import type { StateStore } from '../state/store.ts';
import type { OutputLayout } from './paths.ts';
import { applyIntent } from './publish.ts';
import {
  intentLabel,
  ownVersion,
  planRecovery,
  plannedOf,
  type RecoveryAction,
  type RecoveryOptions,
  type RecoveryPlan,
} from './recoveryPlan.ts';

export type { RecoveryOptions } from './recoveryPlan.ts';

/** What recovery did. */
export interface RecoveryReport {
  readonly rolledForward: string[];
  readonly abandoned: string[];
  readonly crashedAttempts: string[];
  /** Attempts whose process died after their version was published: recorded as succeeded. */
  readonly finishedAttempts?: string[];
  readonly removedStaging: string[];
  readonly removedSpill: string[];
  /** Dead attempts whose engine work was still running (a Spark job) and was interrupted before their staging went. */
  readonly interruptedAttempts?: string[];
}

type Report = RecoveryReport & { finishedAttempts: string[]; interruptedAttempts: string[] };

/**
 * Bring the output root and the state store back to a consistent state after a crash: finish every
 * publish whose intent was recorded (roll forward; back if its files are gone), mark attempts whose
 * process died as crashed, and remove staging nobody owns. Safe to run at any time, from any process.
 * What to do is planned first (src/commit/recoveryPlan.ts, which doctor and gc --dry-run print), then applied.
 */
export async function recover(
  store: StateStore,
  layout: OutputLayout,
  opts: RecoveryOptions = {},
): Promise<RecoveryReport> {
  return applyRecoveryPlan(store, layout, await planRecovery(store, layout, opts), opts);
}

/**
 * Apply a recovery plan in its order; each step asks again what another process may have changed since the plan.
 * Work the owners of the staging to remove may have left running in their engine is stopped first: a Spark job
 * outlives its dead client and would write into the staging again after it was removed.
 */
export async function applyRecoveryPlan(
  store: StateStore,
  layout: OutputLayout,
  plan: RecoveryPlan,
  opts: RecoveryOptions = {},
): Promise<RecoveryReport> {
  const report: Report = {
    rolledForward: [],
    abandoned: [],
    crashedAttempts: [],
    finishedAttempts: [],
    removedStaging: [],
    removedSpill: [],
    interruptedAttempts: [],
  };
  const owners = plannedOf(plan, 'remove-staging').flatMap((a) =>
    a.owner && a.owner.status !== 'succeeded' ? [a.owner] : [],
  );
  if (owners.length > 0 && opts.stopDeadAttempts) {
    report.interruptedAttempts.push(...(await opts.stopDeadAttempts(owners).catch(() => [])));
  }
  for (const action of plan.actions) await applyAction(store, layout, action, report);
  return report;
}

async function applyAction(store: StateStore, layout: OutputLayout, action: RecoveryAction, report: Report) {
  switch (action.kind) {
    case 'leave-publish':
      return;
    case 'finish-publish':
    case 'abandon-publish':
      return finishIntent(store, layout, action.intent, report);
    case 'record-succeeded':
    case 'record-crashed':
      return settleDeadAttempt(store, action.attempt, report);
    case 'remove-staging':
      // Staging is made after its attempt is recorded, so an owner dead at the plan cannot be a live one now;
      // a folder another recovery removed since is not reported twice.
      if (removeFolder(action.dir)) report.removedStaging.push(action.name);
      return;
    case 'remove-spill':
      if (removeFolder(action.dir)) report.removedSpill.push(action.name);
      return;
    case 'remove-temp-link':
      rmSync(action.path, { force: true });
      return;
  }
}

/** Finish (or, its files gone, abandon) a dead owner's intent, unless another recovery did since the plan. */
async function finishIntent(
  store: StateStore,
  layout: OutputLayout,
  intent: Extract<RecoveryAction, { kind: 'finish-publish' }>['intent'],
  report: Report,
): Promise<void> {
  // Another process's recovery may have finished it since the listing, and a newer version been published:
  // applying it again would switch the link back to it.
  if (!(await store.pendingIntents()).some((i) => i.id === intent.id)) return;
  const ok = await applyIntent(store, layout, intent, { recovering: true });
  (ok ? report.rolledForward : report.abandoned).push(intentLabel(intent));
  if (ok && intent.attempt_id) {
    const a = await store.getAttempt(intent.attempt_id);
    if (a?.status === 'running') {
      await store.finishAttempt(intent.attempt_id, {
        status: 'succeeded',
        versionSeq: intent.target_seq,
        rows: undefined,
      });
    }
  }
}

/** Record a dead attempt still recorded as running: succeeded if its version is published, crashed if not. */
async function settleDeadAttempt(
  store: StateStore,
  a: Extract<RecoveryAction, { kind: 'record-crashed' }>['attempt'],
  report: Report,
): Promise<void> {
  const current = await store.getAttempt(a.attempt_id);
  if (current?.status !== 'running') return;
  // Died after its intent completed (pruning, recording the outcome): its version is published (or was, and a
  // newer one replaced it), so the attempt succeeded.
  const own = await ownVersion(store, a);
  if (own) {
    await store.finishAttempt(a.attempt_id, {
      status: 'succeeded',
      versionSeq: own.seq,
      rows: own.rows,
      bytes: own.bytes,
      files: own.files,
      inputFingerprint: own.input_fingerprint,
    });
    report.finishedAttempts.push(a.attempt_id);
    return;
  }
  await store.finishAttempt(a.attempt_id, {
    status: 'crashed',
    error: {
      code: 'CRASHED',
      message: `the process running this attempt (pid ${a.pid} on ${a.host}) died before it finished`,
      hint: 'rerun the partition; nothing of this attempt was published',
    },
  });
  report.crashedAttempts.push(a.attempt_id);
}

function removeFolder(dir: string): boolean {
  if (!existsSync(dir)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}
