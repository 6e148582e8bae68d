import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { currentProcToken, HOST } from '../process/identity.ts';
import type { StateStore } from '../state/store.ts';
import type { AttemptRow, PublishIntent, VersionRow } from '../state/types.ts';
import { ownerAlive } from './liveness.ts';
import type { OutputLayout } from './paths.ts';
import { tempLinkOwner } from './tempLink.ts';

/** One thing recovery does (or, for doctor and gc --dry-run, would do), and why. */
export type RecoveryAction =
  /** An interrupted publish or rollback whose files are there: finished (rolled forward). */
  | { readonly kind: 'finish-publish'; readonly intent: PublishIntent; readonly reason: string }
  /** An interrupted one whose files are gone: abandoned, the previous version stays. */
  | { readonly kind: 'abandon-publish'; readonly intent: PublishIntent; readonly reason: string }
  /** A pending one its live owner is still carrying through: left alone. */
  | { readonly kind: 'leave-publish'; readonly intent: PublishIntent; readonly reason: string }
  /** An attempt recorded as running whose process died after its version was published: recorded as succeeded. */
  | {
      readonly kind: 'record-succeeded';
      readonly attempt: AttemptRow;
      readonly version: number;
      readonly reason: string;
    }
  /** An attempt recorded as running whose process died before it published: recorded as crashed. */
  | { readonly kind: 'record-crashed'; readonly attempt: AttemptRow; readonly reason: string }
  /** A staging folder no live attempt owns, whatever its age. */
  | {
      readonly kind: 'remove-staging';
      readonly name: string;
      readonly dir: string;
      readonly owner: AttemptRow | undefined;
      readonly reason: string;
    }
  /** The DuckDB spill folder of an attempt whose process died (or of none recorded, once old). */
  | { readonly kind: 'remove-spill'; readonly name: string; readonly dir: string; readonly reason: string }
  /** A temporary link of a publish whose process died. */
  | { readonly kind: 'remove-temp-link'; readonly name: string; readonly path: string; readonly reason: string };

/** The kinds of recovery action. */
export type RecoveryActionKind = RecoveryAction['kind'];

/** What recovery does now, in the order it does it: publishes first, then attempts, then files nobody owns. */
export interface RecoveryPlan {
  readonly actions: readonly RecoveryAction[];
}

/** Where else a dead attempt may have left files. */
export interface RecoveryOptions {
  /** The project's DuckDB spill folder (one folder per attempt id); without it, spill is not looked at. */
  readonly spillDir?: string;
  /**
   * Stops what dead attempts may have left running in their engine (a Spark job still writing into the staging)
   * before their staging is removed; returns the attempts that had work running. Never throws.
   * src/engine/deadAttempts.ts makes one for a project.
   */
  readonly stopDeadAttempts?: (attempts: readonly AttemptRow[]) => Promise<string[]>;
}

/** How old a spill folder no attempt recorded, or a temp link of unknown owner, must be before it goes. */
export const ORPHAN_AGE_MS = 60 * 60 * 1000;

/** The planned actions of one kind. */
export function plannedOf<K extends RecoveryActionKind>(
  plan: RecoveryPlan,
  kind: K,
): Extract<RecoveryAction, { kind: K }>[] {
  return plan.actions.filter((a): a is Extract<RecoveryAction, { kind: K }> => a.kind === kind);
}

/** `analyzer partition vN`: how recovery names an intent. */
export function intentLabel(i: PublishIntent): string {
  return `${i.analyzer} ${i.partition_id} v${i.target_seq}`;
}

/** Whether an intent's files are there to finish it with, as applyIntent (src/commit/publish.ts) decides. */
export function intentFilesThere(i: PublishIntent): boolean {
  return (
    existsSync(i.version_dir) ||
    (i.kind === 'publish' && i.staging_dir !== null && existsSync(join(i.staging_dir, '_manifest.json')))
  );
}

/** Whether an attempt (as recorded, if at all) is running and its owner (process here, lease elsewhere) is alive. */
export async function attemptIsLive(store: StateStore, a: AttemptRow | undefined): Promise<boolean> {
  return a?.status === 'running' && (await ownerAlive(store, a.host, a.proc_token));
}

/** Attempts recorded as running, and which of them have a live owner, as listed at the start of a plan. */
interface Running {
  readonly attempts: readonly AttemptRow[];
  readonly live: ReadonlySet<string>;
}

/**
 * Another process may begin an attempt, stage or claim after the listing: each owner not known live is asked
 * again, so recovery never finishes a live owner's publish or removes its staging.
 */
function liveOwner(store: StateStore, running: Running): (attemptId: string) => Promise<boolean> {
  return async (attemptId) =>
    running.live.has(attemptId) || (await attemptIsLive(store, await store.getAttempt(attemptId)));
}

/**
 * Work out what recovery does, reading only (the state store and the output root): a pending intent whose owner
 * is not alive is finished when its files are there and abandoned when not; a running attempt whose process died
 * is recorded as succeeded if its version is published and as crashed if not; staging, spill and temp links
 * without a live owner go. `recover()` applies the plan; doctor and gc --dry-run print it.
 */
export async function planRecovery(
  store: StateStore,
  layout: OutputLayout,
  opts: RecoveryOptions = {},
): Promise<RecoveryPlan> {
  const attempts = await store.listAttempts({ status: 'running', limit: 100_000 });
  const live = new Set<string>();
  for (const a of attempts) if (await ownerAlive(store, a.host, a.proc_token)) live.add(a.attempt_id);
  const running: Running = { attempts, live };
  const isLive = liveOwner(store, running);
  const intents = await planIntents(store, isLive);
  const actions: RecoveryAction[] = [
    ...intents,
    ...(await planDeadAttempts(store, running, intents)),
    ...(await planStaging(store, layout, running, intents)),
    ...(opts.spillDir ? await planSpill(store, opts.spillDir, isLive) : []),
    ...(await planTempLinks(store, layout)),
  ];
  return { actions };
}

async function planIntents(store: StateStore, isLive: (id: string) => Promise<boolean>): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  for (const intent of await store.pendingIntents()) {
    const attemptLive = intent.attempt_id !== null && (await isLive(intent.attempt_id));
    // A rollback's intent belongs to the process that runs it, fenced like an attempt's: left alone while it lives.
    const ownerLive =
      !attemptLive &&
      Boolean(intent.owner_host && intent.owner_token) &&
      (await ownerAlive(store, intent.owner_host!, intent.owner_token!));
    if (attemptLive || ownerLive) {
      const by = attemptLive ? `attempt ${intent.attempt_id}` : `the process that owns it (${intent.owner_host})`;
      actions.push({ kind: 'leave-publish', intent, reason: `${intent.kind} in progress: ${by} is alive` });
    } else if (intentFilesThere(intent)) {
      actions.push({
        kind: 'finish-publish',
        intent,
        reason: `its owner died; the files of v${intent.target_seq} are there`,
      });
    } else {
      actions.push({
        kind: 'abandon-publish',
        intent,
        reason: `its owner died and the files of v${intent.target_seq} are gone`,
      });
    }
  }
  return actions;
}

async function planDeadAttempts(
  store: StateStore,
  running: Running,
  intents: readonly RecoveryAction[],
): Promise<RecoveryAction[]> {
  const finishing = new Map<string, number>();
  for (const a of intents)
    if (a.kind === 'finish-publish' && a.intent.attempt_id) finishing.set(a.intent.attempt_id, a.intent.target_seq);
  const actions: RecoveryAction[] = [];
  for (const attempt of running.attempts) {
    if (running.live.has(attempt.attempt_id)) continue;
    const publishing = finishing.get(attempt.attempt_id);
    if (publishing !== undefined) {
      const reason = `its process died mid-publish; finishing the publish of v${publishing} records it as succeeded`;
      actions.push({ kind: 'record-succeeded', attempt, version: publishing, reason });
      continue;
    }
    // Died after its intent completed (pruning, recording the outcome): its version is published (or was, and
    // a newer one replaced it), so the attempt succeeded.
    const own = (await ownVersion(store, attempt))?.seq;
    if (own !== undefined)
      actions.push({
        kind: 'record-succeeded',
        attempt,
        version: own,
        reason: `its process died after v${own} was published`,
      });
    else
      actions.push({
        kind: 'record-crashed',
        attempt,
        reason: `the process running this attempt (pid ${attempt.pid} on ${attempt.host}) died before it finished`,
      });
  }
  return actions;
}

/** The published (or since retained) version this attempt made, if any. */
export async function ownVersion(store: StateStore, a: AttemptRow): Promise<VersionRow | undefined> {
  return (await store.listVersions(a.analyzer, a.partition_id)).find(
    (v) => v.attempt_id === a.attempt_id && (v.status === 'published' || v.status === 'retained'),
  );
}

async function planStaging(
  store: StateStore,
  layout: OutputLayout,
  running: Running,
  intents: readonly RecoveryAction[],
): Promise<RecoveryAction[]> {
  // The staging of a publish recovery finishes becomes its version folder: it is not among the staging removed.
  const moved = new Set<string>();
  for (const a of intents)
    if (a.kind === 'finish-publish' && a.intent.attempt_id && !existsSync(a.intent.version_dir))
      moved.add(a.intent.attempt_id);
  const actions: RecoveryAction[] = [];
  for (const root of [layout.stagingRoot, layout.legacyStagingRoot]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      if (moved.has(name) || running.live.has(name)) continue;
      const owner = await store.getAttempt(name);
      if (await attemptIsLive(store, owner)) continue;
      const reason = owner
        ? `its attempt ${owner.status === 'running' ? 'died' : `ended ${owner.status}`}`
        : 'no attempt of that name is recorded';
      actions.push({ kind: 'remove-staging', name, dir: join(root, name), owner, reason });
    }
  }
  return actions;
}

// DuckDB's spill of an attempt whose process died (SIGKILL, the RSS watchdog) is never removed by it: it can be
// gigabytes. A folder is an attempt id; one with no attempt row is removed once it is old (a run killed before it
// recorded its attempt), so another tool's fresh spill is left alone.
async function planSpill(
  store: StateStore,
  spillDir: string,
  isLive: (id: string) => Promise<boolean>,
): Promise<RecoveryAction[]> {
  if (!existsSync(spillDir)) return [];
  const actions: RecoveryAction[] = [];
  for (const name of readdirSync(spillDir)) {
    const dir = join(spillDir, name);
    const known = await store.getAttempt(name);
    if (known ? await isLive(name) : !olderThan(dir, ORPHAN_AGE_MS, statSync)) continue;
    const reason = known ? 'its attempt is not running' : 'no attempt recorded, older than an hour';
    actions.push({ kind: 'remove-spill', name, dir, reason });
  }
  return actions;
}

// A temp link lives for one rename: one left behind belongs to a publish whose process died. Its name records its
// owner, judged like any other (a pid here, a lease elsewhere); one from before owners were recorded names only a
// pid, of an unknown host, so it goes once it is old.
async function planTempLinks(store: StateStore, layout: OutputLayout): Promise<RecoveryAction[]> {
  if (!existsSync(layout.tmpRoot)) return [];
  const self = currentProcToken();
  const actions: RecoveryAction[] = [];
  for (const name of readdirSync(layout.tmpRoot)) {
    const owner = tempLinkOwner(name);
    if (owner === undefined) continue;
    const path = join(layout.tmpRoot, name);
    const dead =
      owner === 'unknown'
        ? olderThan(path, ORPHAN_AGE_MS, lstatSync)
        : !(owner.host === HOST && owner.token === self) && !(await ownerAlive(store, owner.host, owner.token));
    if (dead) actions.push({ kind: 'remove-temp-link', name, path, reason: 'the publish that made it died' });
  }
  return actions;
}

function olderThan(path: string, ms: number, stat: (p: string) => { mtimeMs: number }): boolean {
  try {
    return Date.now() - stat(path).mtimeMs > ms;
  } catch {
    return false;
  }
}
