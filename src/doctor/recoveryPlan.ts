import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ownerAlive } from '../commit/liveness.ts';
import type { OutputLayout } from '../commit/paths.ts';
import type { RecoveryReport } from '../commit/recovery.ts';
import type { StateStore } from '../state/store.ts';
import type { AttemptRow, PublishIntent } from '../state/types.ts';

/** What `recover()` (src/commit/recovery.ts) would do now, worked out from the state store and the files without doing it. */
export interface RecoveryPlan {
  /** Interrupted publishes and rollbacks whose files are there: recovery finishes them. */
  readonly rollForward: PublishIntent[];
  /** Interrupted ones whose files are gone: recovery abandons them (the previous version stays). */
  readonly abandon: PublishIntent[];
  /** Pending ones a live attempt is still carrying through: recovery leaves them. */
  readonly inFlight: PublishIntent[];
  /** Attempts recorded as running whose process is gone: recovery marks them crashed. */
  readonly crashed: AttemptRow[];
  /** Staging folders no live attempt owns: recovery removes them, whatever their age. */
  readonly staging: { name: string; dir: string; owner: AttemptRow | undefined }[];
}

const label = (i: PublishIntent) => `${i.analyzer} ${i.partition_id} v${i.target_seq}`;

/** Whether an intent's files are there to finish it with, as applyIntent (src/commit/publish.ts) decides. */
export function intentFilesThere(i: PublishIntent): boolean {
  return (
    existsSync(i.version_dir) ||
    (i.kind === 'publish' && i.staging_dir !== null && existsSync(join(i.staging_dir, '_manifest.json')))
  );
}

/**
 * Work out what recovery would do, reading only: the same decisions as recover() — a pending intent whose
 * owner is not alive is finished when its files are there and abandoned when not; a running attempt whose
 * process died is crashed unless its publish is finished; staging without a live owner goes.
 */
export async function planRecovery(store: StateStore, layout: OutputLayout): Promise<RecoveryPlan> {
  const running = await store.listAttempts({ status: 'running', limit: 100_000 });
  const live = new Set<string>();
  for (const a of running) if (await ownerAlive(store, a.host, a.proc_token)) live.add(a.attempt_id);
  const plan: RecoveryPlan = { rollForward: [], abandon: [], inFlight: [], crashed: [], staging: [] };
  const finished = new Set<string>();
  const moved = new Set<string>();
  for (const intent of await store.pendingIntents()) {
    if (
      (intent.attempt_id && live.has(intent.attempt_id)) ||
      (intent.owner_host && intent.owner_token && (await ownerAlive(store, intent.owner_host, intent.owner_token)))
    ) {
      plan.inFlight.push(intent);
    } else if (intentFilesThere(intent)) {
      plan.rollForward.push(intent);
      if (intent.attempt_id) finished.add(intent.attempt_id);
      // Its staging becomes the version folder, so it is not among the staging removed.
      if (intent.attempt_id && !existsSync(intent.version_dir)) moved.add(intent.attempt_id);
    } else {
      plan.abandon.push(intent);
    }
  }
  // An attempt that died after its version was published is recorded as succeeded, not crashed.
  for (const a of running) {
    if (live.has(a.attempt_id) || finished.has(a.attempt_id)) continue;
    const own = (await store.listVersions(a.analyzer, a.partition_id)).some(
      (v) => v.attempt_id === a.attempt_id && (v.status === 'published' || v.status === 'retained'),
    );
    if (!own) plan.crashed.push(a);
  }
  for (const root of [layout.stagingRoot, layout.legacyStagingRoot]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      if (live.has(name) || moved.has(name)) continue;
      const owner = await store.getAttempt(name);
      if (owner?.status === 'running' && (await ownerAlive(store, owner.host, owner.proc_token))) continue;
      plan.staging.push({ name, dir: join(root, name), owner });
    }
  }
  return plan;
}

/** The plan in the shape of the report recovery returns, for one vocabulary in `--json`. */
export function planAsReport(plan: RecoveryPlan): RecoveryReport {
  return {
    rolledForward: plan.rollForward.map(label),
    abandoned: plan.abandon.map(label),
    crashedAttempts: plan.crashed.map((a) => a.attempt_id),
    removedStaging: plan.staging.map((s) => s.name),
    // Spill of dead attempts is not planned here (it is disposable, and never visible to readers).
    removedSpill: [],
  };
}

/** One line for each thing recovery would do, for a command that did not run it (doctor, gc --dry-run). */
export function describeRecoveryPlan(plan: RecoveryPlan): string[] {
  const lines: string[] = [];
  if (plan.rollForward.length)
    lines.push(`recovery would finish interrupted publish: ${plan.rollForward.map(label).join(', ')}`);
  if (plan.abandon.length)
    lines.push(
      `recovery would abandon interrupted publish whose files are gone (previous version kept): ${plan.abandon.map(label).join(', ')}`,
    );
  if (plan.crashed.length)
    lines.push(`recovery would mark ${plan.crashed.length} attempt(s) whose process died as crashed`);
  if (plan.staging.length)
    lines.push(
      `recovery would remove ${plan.staging.length} staging folder(s) no live attempt owns: ${plan.staging.map((s) => s.name).join(', ')}`,
    );
  if (lines.length)
    lines.push(
      "every command that writes (run, backfill, gc, recover, ...) runs recovery first; 'recount recover' runs only it",
    );
  return lines;
}

/** True when recovery would change nothing. */
export function planIsEmpty(plan: RecoveryPlan): boolean {
  return !plan.rollForward.length && !plan.abandon.length && !plan.crashed.length && !plan.staging.length;
}
