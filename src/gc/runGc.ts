import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '../config/project.ts';
import { HOST } from '../process/identity.ts';
import { ownerAlive } from '../commit/liveness.ts';
import type { OutputLayout } from '../commit/paths.ts';
import type { StateStore } from '../state/store.ts';
import { auditRoot } from '../audit/runAudit.ts';
import { listShadows } from '../shadow/namespace.ts';
import { parseAge } from './age.ts';
import { loadedVersions, versionKey } from './loaded.ts';
import { unreadableReason } from '../doctor/versionHealth.ts';

/** One thing gc removes (or, in a dry run, would remove). */
export type GcItem =
  | {
      kind: 'version';
      analyzer: string;
      partition: string;
      version: number;
      dir: string;
      bytes: number;
      reason: string;
    }
  | {
      kind: 'deleted-version-folder';
      analyzer: string;
      partition: string;
      version: number;
      dir: string;
      bytes: number;
      reason: string;
    }
  | { kind: 'shadow' | 'audit' | 'staging'; dir: string; bytes: number; reason: string };

/** What gc did. */
export interface GcReport {
  readonly dryRun: boolean;
  readonly removed: GcItem[];
  readonly freedBytes: number;
  /** Versions kept although beyond the newest K, and why: published, loaded, being published or rolled back to. */
  readonly protected: { analyzer: string; partition: string; version: number; why: string }[];
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
   * In a dry run, the staging folders recovery would remove first (no live attempt owns them, whatever their
   * age): listed among what would go, since a real gc runs recovery before it starts.
   */
  readonly recoveryStaging?: readonly string[];
  /**
   * Also forget kept (retained) versions that cannot be read — a file gone or truncated, the folder gone — which
   * `recount doctor` reports: they can no longer be rolled back to. They do not count among the K kept.
   */
  readonly broken?: boolean;
}

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

/**
 * Retention: remove versions beyond the newest K of each partition (the published one counts among the K and
 * always stays, as do the version a warehouse holds or is loading and any target of a pending publish or
 * rollback), shadow namespaces and kept audit runs unused for longer than their configured age, and staging
 * older than its age whose attempt is not running here; with `broken`, also kept versions that cannot be read. The state store marks a version deleted before its
 * folder goes, so a crash in between leaves a folder the next gc removes, never a version that claims files it lacks.
 */
export async function runGc(
  ctx: { project: Project; store: StateStore; layout: OutputLayout },
  opts: GcOptions = {},
): Promise<GcReport> {
  const now = opts.now ?? new Date();
  const { project, store, layout } = ctx;
  const gc = project.config.gc;
  const removed: GcItem[] = [];
  const protectedVersions: GcReport['protected'] = [];
  const errors: GcReport['errors'] = [];
  const loaded = await loadedVersions(store);
  const pending = await store.pendingIntents();
  const busy = new Set(pending.map((i) => `${i.analyzer}\0${i.partition_id}`));

  for (const p of await store.listPartitions()) {
    const keep = opts.keep ?? project.analyzers.get(p.analyzer)?.versionsToKeep ?? project.config.keepVersions;
    const versions = await store.listVersions(p.analyzer, p.partition_id); // newest first
    for (const v of versions.filter((x) => x.status === 'deleted' && existsSync(x.dir))) {
      removed.push({
        kind: 'deleted-version-folder',
        analyzer: v.analyzer,
        partition: v.partition_id,
        version: v.seq,
        dir: v.dir,
        bytes: du(v.dir),
        reason: 'marked deleted, folder still there',
      });
    }
    if (busy.has(`${p.analyzer}\0${p.partition_id}`)) {
      // A publish or rollback is in flight (or interrupted, until recovery finishes it): leave the partition alone.
      for (const i of pending.filter((x) => x.analyzer === p.analyzer && x.partition_id === p.partition_id)) {
        protectedVersions.push({
          analyzer: i.analyzer,
          partition: i.partition_id,
          version: i.target_seq,
          why: `target of a pending ${i.kind}: the partition is left alone until it completes`,
        });
      }
      continue;
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
    for (const v of versions.filter((x) => x.status === 'retained')) {
      if (newest.has(v.seq)) continue;
      const key = versionKey(v.analyzer, v.partition_id, v.seq);
      const why = unreadable.get(v.seq);
      if (loaded.keys.has(key)) {
        protectedVersions.push({
          analyzer: v.analyzer,
          partition: v.partition_id,
          version: v.seq,
          why: `${loaded.pending.has(key) ? 'a warehouse load of it is pending' : 'loaded in the warehouse'}${why ? ` (kept although unreadable: ${why})` : ''}`,
        });
        continue;
      }
      removed.push({
        kind: 'version',
        analyzer: v.analyzer,
        partition: v.partition_id,
        version: v.seq,
        dir: v.dir,
        bytes: du(v.dir),
        reason: why ? `cannot be read: ${why}` : `beyond the newest ${keep}`,
      });
    }
    for (const v of published) {
      if (versions.indexOf(v) >= keep)
        protectedVersions.push({ analyzer: v.analyzer, partition: v.partition_id, version: v.seq, why: 'published' });
    }
  }

  const shadowMax = parseAge(gc.shadowMaxAge, 'gc.shadowMaxAge');
  for (const s of listShadows(layout)) {
    const age = now.getTime() - s.lastUsed.getTime();
    if (age > shadowMax)
      removed.push({
        kind: 'shadow',
        dir: s.ns.dir,
        bytes: du(s.ns.dir),
        reason: `shadow '${s.ns.name}' unused for longer than ${gc.shadowMaxAge}`,
      });
  }
  const auditMax = parseAge(gc.auditMaxAge, 'gc.auditMaxAge');
  const audits = auditRoot(layout);
  if (existsSync(audits)) {
    for (const name of readdirSync(audits)) {
      const dir = join(audits, name);
      if (ageMs(dir, now) > auditMax)
        removed.push({ kind: 'audit', dir, bytes: du(dir), reason: `audit runs older than ${gc.auditMaxAge}` });
    }
  }
  const stagingMax = parseAge(gc.stagingMaxAge, 'gc.stagingMaxAge');
  const claimed = new Set(pending.map((i) => i.attempt_id));
  const byRecovery = new Set(opts.dryRun ? (opts.recoveryStaging ?? []) : []);
  if (existsSync(layout.stagingRoot)) {
    for (const name of readdirSync(layout.stagingRoot)) {
      const dir = join(layout.stagingRoot, name);
      if (byRecovery.has(name)) {
        removed.push({
          kind: 'staging',
          dir,
          bytes: du(dir),
          reason: 'no live attempt owns it: the recovery gc runs first removes it, whatever its age',
        });
        continue;
      }
      if (claimed.has(name) || ageMs(dir, now) <= stagingMax) continue;
      const owner = await store.getAttempt(name);
      if (owner?.status === 'running' && (await ownerAlive(store, owner.host, owner.proc_token))) continue;
      removed.push({
        kind: 'staging',
        dir,
        bytes: du(dir),
        reason: `staging older than ${gc.stagingMaxAge}${owner ? ` (attempt ${owner.status} on ${owner.host})` : ' (no attempt recorded)'}`,
      });
    }
  }

  if (!opts.dryRun) {
    for (const item of removed) {
      try {
        if (item.kind === 'version') {
          // Check again just before: a rollback may have claimed it since the plan.
          const current = await store.getVersion(item.analyzer, item.partition, item.version);
          const p = await store.getPartition(item.analyzer, item.partition);
          if (current?.status !== 'retained' || p?.pending_intent !== null) {
            protectedVersions.push({
              analyzer: item.analyzer,
              partition: item.partition,
              version: item.version,
              why: 'claimed while gc ran',
            });
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
  }
  const done = removed.filter((i) => !i.reason.startsWith('skipped'));
  return {
    dryRun: Boolean(opts.dryRun),
    removed: done,
    freedBytes: done.reduce((s, i) => s + i.bytes, 0),
    protected: protectedVersions,
    errors,
    loadRecords: loaded.unavailable ? `unavailable (${loaded.unavailable}): no version counted as loaded` : 'read',
  };
}
