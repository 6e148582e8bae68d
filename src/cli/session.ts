import { loadProject } from '../config/load.ts';
import type { Project } from '../config/project.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import type { Engine } from '../engine/engine.ts';
import { OutputLayout } from '../commit/paths.ts';
import { recover, type RecoveryOptions, type RecoveryReport } from '../commit/recovery.ts';
import { deadAttemptStopper } from '../engine/deadAttempts.ts';
import type { RunContext } from '../run/runPartition.ts';
import { asRecountError } from '../errors.ts';
import { openStateStoreReadOnly } from '../doctor/readOnlyStore.ts';
import { planRecovery, type RecoveryPlan } from '../commit/recoveryPlan.ts';

/** A loaded project with its state store open and any crashed publish recovered. */
export interface CliSession extends RunContext {
  readonly project: Project;
  readonly store: StateStore;
  readonly layout: OutputLayout;
  /** What recovery did (nothing, in a read-only session). */
  readonly recovery: RecoveryReport;
  /** True when the session changes nothing on disk: no recovery, the state store opened read-only. */
  readonly readOnly: boolean;
  /** In a read-only session, what recovery would have done. */
  readonly pendingRecovery?: RecoveryPlan;
}

/** How to open a session. */
export interface SessionOptions {
  /**
   * For commands that only look (doctor, gc --dry-run, diff, shadow --list): skip recovery and open the state
   * store read-only, so nothing on disk changes — not even a state file in a fresh project.
   */
  readonly readOnly?: boolean;
}

/** Load the project, open its state store, and recover what a crash left behind (unless read-only); `fn` runs with all of it. */
export async function withSession<T>(
  projectDir: string,
  fn: (s: CliSession) => Promise<T>,
  opts: SessionOptions = {},
): Promise<T> {
  const project = await loadProject(projectDir, process.env, { readOnly: opts.readOnly === true });
  const store = opts.readOnly
    ? (await openStateStoreReadOnly(project.stateUrl, project.dir)).store
    : await openStateStore(project.stateUrl, project.dir);
  try {
    const layout = new OutputLayout(project.outputRoot);
    const engine = duckdb;
    if (opts.readOnly)
      return await fn({
        project,
        store,
        engine,
        layout,
        recovery: NOTHING_RECOVERED,
        readOnly: true,
        pendingRecovery: await planRecovery(store, layout),
      });
    const recovery = await recoverOrWarn(store, layout, project);
    return await fn({ project, store, engine, layout, recovery, readOnly: false });
  } finally {
    await store.close();
  }
}

/** The process's one DuckDB engine, made when a command first runs a query with it. */
let duckdbEngine: Promise<Engine> | undefined;

/**
 * DuckDB, imported when a command first runs a query with it: `status` and its like never do, and start without it.
 * One engine for the whole process, so attempts one after another (a backfill) share its instance.
 */
const duckdb: Engine = {
  name: 'duckdb',
  open: async (options) => {
    duckdbEngine ??= import('../engine/duckdb/duckdbEngine.ts').then((m) => new m.DuckDBEngine());
    return (await duckdbEngine).open(options);
  },
};

const NOTHING_RECOVERED: RecoveryReport = {
  rolledForward: [],
  abandoned: [],
  crashedAttempts: [],
  removedStaging: [],
  removedSpill: [],
};

/**
 * Recovery that cannot finish (a folder another user owns, a read-only disk) must not lock the user out of
 * every command, `status` included: it is reported on stderr and retried by the next command. A publish it
 * could not finish stays pending (its intent is recorded), so nothing half-done becomes visible meanwhile.
 */
async function recoverOrWarn(store: StateStore, layout: OutputLayout, project: Project): Promise<RecoveryReport> {
  try {
    return await recover(store, layout, projectRecoveryOptions(project));
  } catch (err) {
    const e = asRecountError(err);
    process.stderr.write(
      `warning: recovery of interrupted work could not finish: [${e.code}] ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}\n`,
    );
    return NOTHING_RECOVERED;
  }
}

/** How a command recovers a project: its spill folder, and dead attempts' Spark jobs interrupted (warnings on stderr). */
export function projectRecoveryOptions(project: Project): RecoveryOptions {
  return {
    spillDir: project.spillDir,
    stopDeadAttempts: deadAttemptStopper(project.analyzers, (m) => process.stderr.write(`warning: ${m}\n`)),
  };
}

/** One line for each thing recovery did, for the user. */
export function describeRecovery(r: RecoveryReport): string[] {
  const lines: string[] = [];
  if (r.rolledForward.length) lines.push(`recovered interrupted publish: ${r.rolledForward.join(', ')}`);
  if (r.abandoned.length)
    lines.push(
      `abandoned interrupted publish whose files were gone (previous version kept): ${r.abandoned.join(', ')}`,
    );
  if (r.finishedAttempts?.length)
    lines.push(`recorded ${r.finishedAttempts.length} attempt(s) whose process died after publishing as succeeded`);
  if (r.crashedAttempts.length)
    lines.push(`marked ${r.crashedAttempts.length} attempt(s) whose process died as crashed`);
  if (r.interruptedAttempts?.length)
    lines.push(`interrupted the Spark jobs ${r.interruptedAttempts.length} dead attempt(s) left running`);
  return lines;
}
