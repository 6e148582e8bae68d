import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StateStore } from '../state/store.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import { ownerAlive } from './liveness.ts';
import { tempLinkOwner } from './tempLink.ts';
import type { OutputLayout } from './paths.ts';
import { applyIntent } from './publish.ts';

/** What recovery did. */
export interface RecoveryReport {
  readonly rolledForward: string[];
  readonly abandoned: string[];
  readonly crashedAttempts: string[];
  /** Attempts whose process died after their version was published: recorded as succeeded. */
  readonly finishedAttempts?: string[];
  readonly removedStaging: string[];
  readonly removedSpill: string[];
}

/** Where else a dead attempt may have left files. */
export interface RecoveryOptions {
  /** The project's DuckDB spill folder (one folder per attempt id). */
  readonly spillDir?: string;
}

const ORPHAN_SPILL_AGE_MS = 60 * 60 * 1000;
const ORPHAN_TEMP_LINK_AGE_MS = 60 * 60 * 1000;

function lstatOlderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - lstatSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

/**
 * Bring the output root and the state store back to a consistent state after a crash: finish every
 * publish whose intent was recorded (roll forward; back if its files are gone), mark attempts whose
 * process died as crashed, and remove staging nobody owns. Safe to run at any time, from any process.
 */
export async function recover(
  store: StateStore,
  layout: OutputLayout,
  opts: RecoveryOptions = {},
): Promise<RecoveryReport> {
  const report: RecoveryReport & { finishedAttempts: string[] } = {
    rolledForward: [] as string[],
    abandoned: [] as string[],
    crashedAttempts: [] as string[],
    finishedAttempts: [] as string[],
    removedStaging: [] as string[],
    removedSpill: [] as string[],
  };
  const running = await store.listAttempts({ status: 'running', limit: 100_000 });
  const liveAttempts = new Set<string>();
  for (const a of running) if (await ownerAlive(store, a.host, a.proc_token)) liveAttempts.add(a.attempt_id);

  // Another process may begin an attempt, stage or claim after the listing above: ask again about each
  // owner before acting, so recovery never finishes a live owner's publish or removes its staging.
  const ownerIsLive = async (attemptId: string): Promise<boolean> => {
    if (liveAttempts.has(attemptId)) return true;
    const a = await store.getAttempt(attemptId);
    return a?.status === 'running' && (await ownerAlive(store, a.host, a.proc_token));
  };

  for (const intent of await store.pendingIntents()) {
    if (intent.attempt_id && (await ownerIsLive(intent.attempt_id))) continue;
    // A rollback's intent belongs to the process that runs it, fenced like an attempt's: left alone while it lives.
    if (intent.owner_host && intent.owner_token && (await ownerAlive(store, intent.owner_host, intent.owner_token)))
      continue;
    // Another process's recovery may have finished it since the listing, and a newer version been published:
    // applying it again would switch the link back to it.
    if (!(await store.pendingIntents()).some((i) => i.id === intent.id)) continue;
    const label = `${intent.analyzer} ${intent.partition_id} v${intent.target_seq}`;
    const ok = await applyIntent(store, layout, intent, { recovering: true });
    (ok ? report.rolledForward : report.abandoned).push(label);
    if (ok && intent.attempt_id) {
      const a = await store.getAttempt(intent.attempt_id);
      if (a?.status === 'running') {
        await store.finishAttempt(intent.attempt_id, {
          status: 'succeeded',
          versionSeq: intent.target_seq,
          rows: undefined,
        });
        liveAttempts.delete(intent.attempt_id);
      }
    }
  }

  for (const a of running) {
    if (liveAttempts.has(a.attempt_id)) continue;
    const current = await store.getAttempt(a.attempt_id);
    if (current?.status !== 'running') continue;
    // Died after its intent completed (pruning, recording the outcome): its version is published (or was, and
    // a newer one replaced it), so the attempt succeeded.
    const own = (await store.listVersions(a.analyzer, a.partition_id)).find(
      (v) => v.attempt_id === a.attempt_id && (v.status === 'published' || v.status === 'retained'),
    );
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
      continue;
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

  for (const root of [layout.stagingRoot, layout.legacyStagingRoot]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root)) {
      if (await ownerIsLive(name)) continue;
      rmSync(join(root, name), { recursive: true, force: true });
      report.removedStaging.push(name);
    }
  }
  // DuckDB's spill of an attempt whose process died (SIGKILL, the RSS watchdog) is never removed by it: it can be
  // gigabytes. A folder is an attempt id; one with no attempt row is removed once it is old (a run killed
  // before it recorded its attempt), so another tool's fresh spill is left alone.
  if (opts.spillDir && existsSync(opts.spillDir)) {
    for (const name of readdirSync(opts.spillDir)) {
      const path = join(opts.spillDir, name);
      const known = await store.getAttempt(name);
      if (known ? await ownerIsLive(name) : !olderThan(path, ORPHAN_SPILL_AGE_MS)) continue;
      rmSync(path, { recursive: true, force: true });
      report.removedSpill.push(name);
    }
  }
  // A temp link lives for one rename: one left behind belongs to a publish whose process died. Its name records
  // its owner, judged like any other (a pid here, a lease elsewhere); one from before owners were recorded names
  // only a pid, of an unknown host, so it goes once it is old.
  if (existsSync(layout.tmpRoot)) {
    const self = currentProcToken();
    for (const name of readdirSync(layout.tmpRoot)) {
      const owner = tempLinkOwner(name);
      if (owner === undefined) continue;
      const path = join(layout.tmpRoot, name);
      const dead =
        owner === 'unknown'
          ? lstatOlderThan(path, ORPHAN_TEMP_LINK_AGE_MS)
          : !(owner.host === HOST && owner.token === self) && !(await ownerAlive(store, owner.host, owner.token));
      if (dead) rmSync(path, { force: true });
    }
  }
  return report;
}
