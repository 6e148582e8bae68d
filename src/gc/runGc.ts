import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '../config/project.ts';
import type { OutputLayout } from '../commit/paths.ts';
import { attemptIsLive, plannedOf, type RecoveryPlan } from '../commit/recoveryPlan.ts';
import type { StateStore } from '../state/store.ts';
import type { PartitionRow, PublishIntent, VersionRow } from '../state/types.ts';
import { auditRoot } from '../audit/runAudit.ts';
import { listShadows } from '../shadow/namespace.ts';
import { parseAge } from './age.ts';
import { loadedVersions, versionKey } from '../state/loadedVersions.ts';
import { unreadableReason } from '../doctor/versionHealth.ts';

/** One thing gc removes (or, in a dry run, would remove). */
export type GcItem =
  | {
      kind: 'version' | 'deleted-version-folder';
      analyzer: string;
      partition: string;
      version: number;
      dir: string;
      bytes: number;
      reason: string;
    }
  | { kind: 'shadow' | 'audit' | 'staging'; dir: string; bytes: number; reason: string };

/** A version gc keeps although it is beyond the newest K, and why. */
export type ProtectedVersion = { analyzer: string; partition: string; version: number; why: string };

/** What gc did. */
export interface GcReport {
  readonly dryRun: boolean;
  readonly removed: GcItem[];
  readonly freedBytes: number;
  /** Versions kept although beyond the newest K, and why: published, loaded, being published or rolled back to. */
  readonly protected: ProtectedVersion[];
  /** Removals that failed (the rest went on). */
  readonly errors: { dir: string; message: string }[];
  readonly loadRecords: 'read' | string;
}

/** Options of a gc run. */
export interface GcOptions {
  /** Versions to keep per partition (the published one included); default: each analyzer's keepVersions. */
  readonly keep?: number;
  readonly dryRun?: boolean;
  readonly now?: Date;
  /**
   * In a dry run, what recovery would do (src/commit/recoveryPlan.ts): the staging folders it would remove first
   * (no live attempt owns them, whatever their age) are listed among what would go, since a real gc runs recovery
   * before it starts.
   */
  readonly recovery?: RecoveryPlan;
  /**
   * Also forget kept (retained) versions that cannot be read — a file gone or truncated, the folder gone — which
   * `recount doctor` reports: they can no longer be rolled back to. They do not count among the K kept.
   */
  readonly broken?: boolean;
}

/** What one gc run decided: what goes and which versions beyond K stay. */
interface GcPlan {
  readonly removed: GcItem[];
  readonly protected: ProtectedVersion[];
}

type GcContext = { project: Project; store: StateStore; layout: OutputLayout };

/** Bytes under a path (files only, symlinks not followed). */
function du(path: string): number {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  return readdirSync(path).reduce((sum, name) => sum + du(join(path, name)), 0);
}

function ageMs(path: string, now: Date): number {
  try {
    return now.getTime() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function versionItem(kind: 'version' | 'deleted-version-folder', v: VersionRow, reason: string): GcItem {
  return {
    kind,
    analyzer: v.analyzer,
    partition: v.partition_id,
    version: v.seq,
    dir: v.dir,
    bytes: du(v.dir),
    reason,
  };
}

/**
 * Retention: remove versions beyond the newest K of each partition (the published one counts among the K and
 * always stays, as do the version a warehouse holds or is loading and any target of a pending publish or
 * rollback), shadow namespaces and kept audit runs unused for longer than their configured age, and staging
 * older than its age whose attempt is not running here; with `broken`, also kept versions that cannot be read. The state store marks a version deleted before its
 * folder goes, so a crash in between leaves a folder the next gc removes, never a version that claims files it lacks.
 */
export async function runGc(ctx: GcContext, opts: GcOptions = {}): Promise<GcReport> {
  const now = opts.now ?? new Date();
  const { store, layout } = ctx;
  const gc = ctx.project.config.gc;
  const plan: GcPlan = { removed: [], protected: [] };
  const loaded = await loadedVersions(store);
  const pending = await store.pendingIntents();
  for (const p of await store.listPartitions()) await planPartition(ctx, opts, p, { loaded, pending }, plan);
  plan.removed.push(...oldShadows(layout, gc.shadowMaxAge, now), ...oldAudits(layout, gc.auditMaxAge, now));
  plan.removed.push(...(await staleStaging(ctx, opts, pending, now)));
  const errors = opts.dryRun ? [] : await removePlanned(store, plan);
  const done = plan.removed.filter((i) => !i.reason.startsWith('skipped'));
  return {
    dryRun: Boolean(opts.dryRun),
    removed: done,
    freedBytes: done.reduce((s, i) => s + i.bytes, 0),
    protected: plan.protected,
    errors,
    loadRecords: loaded.unavailable ? `unavailable (${loaded.unavailable}): no version counted as loaded` : 'read',
  };
}

/** The versions of one partition that go, and those beyond K that stay. */
async function planPartition(
  ctx: GcContext,
  opts: GcOptions,
  p: PartitionRow,
  known: { loaded: Awaited<ReturnType<typeof loadedVersions>>; pending: readonly PublishIntent[] },
  plan: GcPlan,
): Promise<void> {
  const { project, store } = ctx;
  const keep = opts.keep ?? project.analyzers.get(p.analyzer)?.versionsToKeep ?? project.config.keepVersions;
  const versions = await store.listVersions(p.analyzer, p.partition_id); // newest first
  for (const v of versions.filter((x) => x.status === 'deleted' && existsSync(x.dir)))
    plan.removed.push(versionItem('deleted-version-folder', v, 'marked deleted, folder still there'));
  const busy = known.pending.filter((x) => x.analyzer === p.analyzer && x.partition_id === p.partition_id);
  if (busy.length) {
    // A publish or rollback is in flight (or interrupted, until recovery finishes it): leave the partition alone.
    for (const i of busy)
      plan.protected.push({
        analyzer: i.analyzer,
        partition: i.partition_id,
        version: i.target_seq,
        why: `target of a pending ${i.kind}: the partition is left alone until it completes`,
      });
    return;
  }
  const published = versions.filter((v) => v.status === 'published');
  const unreadable = new Map<number, string>();
  if (opts.broken) {
    for (const v of versions.filter((x) => x.status === 'retained')) {
      const why = unreadableReason(v.dir);
      if (why) unreadable.set(v.seq, why);
    }
  }
  const retained = versions.filter((v) => v.status === 'retained' && !unreadable.has(v.seq));
  const newest = new Set(retained.slice(0, Math.max(0, keep - published.length)).map((v) => v.seq));
  for (const v of versions.filter((x) => x.status === 'retained' && !newest.has(x.seq))) {
    const key = versionKey(v.analyzer, v.partition_id, v.seq);
    const why = unreadable.get(v.seq);
    if (known.loaded.keys.has(key)) {
      const loadedWhy = known.loaded.pending.has(key) ? 'a warehouse load of it is pending' : 'loaded in the warehouse';
      const kept = `${loadedWhy}${why ? ` (kept although unreadable: ${why})` : ''}`;
      plan.protected.push({ analyzer: v.analyzer, partition: v.partition_id, version: v.seq, why: kept });
      continue;
    }
    plan.removed.push(versionItem('version', v, why ? `cannot be read: ${why}` : `beyond the newest ${keep}`));
  }
  for (const v of published) {
    if (versions.indexOf(v) >= keep)
      plan.protected.push({ analyzer: v.analyzer, partition: v.partition_id, version: v.seq, why: 'published' });
  }
}

function oldShadows(layout: OutputLayout, maxAge: string | number, now: Date): GcItem[] {
  const max = parseAge(maxAge, 'gc.shadowMaxAge');
  return listShadows(layout)
    .filter((s) => now.getTime() - s.lastUsed.getTime() > max)
    .map((s) => ({
      kind: 'shadow' as const,
      dir: s.ns.dir,
      bytes: du(s.ns.dir),
      reason: `shadow '${s.ns.name}' unused for longer than ${maxAge}`,
    }));
}

function oldAudits(layout: OutputLayout, maxAge: string | number, now: Date): GcItem[] {
  const max = parseAge(maxAge, 'gc.auditMaxAge');
  const audits = auditRoot(layout);
  if (!existsSync(audits)) return [];
  return readdirSync(audits)
    .map((name) => join(audits, name))
    .filter((dir) => ageMs(dir, now) > max)
    .map((dir) => ({ kind: 'audit' as const, dir, bytes: du(dir), reason: `audit runs older than ${maxAge}` }));
}

/**
 * Staging older than its age whose attempt is not running, and in a dry run the staging the recovery a real gc
 * runs first would remove (the recovery plan's own decision, whatever the age).
 */
async function staleStaging(
  { project, store, layout }: GcContext,
  opts: GcOptions,
  pending: readonly PublishIntent[],
  now: Date,
): Promise<GcItem[]> {
  const maxAge = project.config.gc.stagingMaxAge;
  const max = parseAge(maxAge, 'gc.stagingMaxAge');
  const claimed = new Set(pending.map((i) => i.attempt_id));
  const byRecovery = new Set(
    opts.dryRun && opts.recovery ? plannedOf(opts.recovery, 'remove-staging').map((a) => a.name) : [],
  );
  if (!existsSync(layout.stagingRoot)) return [];
  const items: GcItem[] = [];
  for (const name of readdirSync(layout.stagingRoot)) {
    const dir = join(layout.stagingRoot, name);
    if (byRecovery.has(name)) {
      const reason = 'no live attempt owns it: the recovery gc runs first removes it, whatever its age';
      items.push({ kind: 'staging', dir, bytes: du(dir), reason });
      continue;
    }
    if (claimed.has(name) || ageMs(dir, now) <= max) continue;
    const owner = await store.getAttempt(name);
    if (await attemptIsLive(store, owner)) continue;
    const who = owner ? ` (attempt ${owner.status} on ${owner.host})` : ' (no attempt recorded)';
    items.push({ kind: 'staging', dir, bytes: du(dir), reason: `staging older than ${maxAge}${who}` });
  }
  return items;
}

/** Remove what the plan says; a version is checked again just before (a rollback may have claimed it since). */
async function removePlanned(store: StateStore, plan: GcPlan): Promise<{ dir: string; message: string }[]> {
  const errors: { dir: string; message: string }[] = [];
  for (const item of plan.removed) {
    try {
      if (item.kind === 'version') {
        const current = await store.getVersion(item.analyzer, item.partition, item.version);
        const p = await store.getPartition(item.analyzer, item.partition);
        if (current?.status !== 'retained' || p?.pending_intent !== null) {
          const { analyzer, partition, version } = item;
          plan.protected.push({ analyzer, partition, version, why: 'claimed while gc ran' });
          item.reason = 'skipped: claimed while gc ran';
          continue;
        }
        await store.markVersionDeleted(item.analyzer, item.partition, item.version);
      }
      rmSync(item.dir, { recursive: true, force: true });
    } catch (err) {
      errors.push({ dir: item.dir, message: (err as Error).message });
    }
  }
  return errors;
}
