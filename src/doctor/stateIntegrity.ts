import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../commit/manifest.ts';
import type { OutputLayout } from '../commit/paths.ts';
import type { StateStore } from '../state/store.ts';
import type { Finding } from './finding.ts';
import { planRecovery, type RecoveryPlan } from './recoveryPlan.ts';

const RECOVER = "run 'recount recover' (every command that writes, such as run, backfill or gc, does this first): it finishes the publish, or keeps the previous version if the files are gone";

/** Why a kept version is unusable, or undefined if every file its manifest lists is there with its size. */
function missingFiles(dir: string): string | undefined {
  if (!existsSync(dir)) return `its folder ${dir} is gone`;
  const manifest = readManifest(dir);
  if (!manifest) return `its manifest ${join(dir, '_manifest.json')} is gone`;
  const gone = manifest.files.filter((f) => {
    try {
      return statSync(join(dir, f.path)).size !== f.bytes;
    } catch {
      return true;
    }
  });
  return gone.length ? `${gone.length} of its ${manifest.files.length} file(s) are gone or truncated: ${gone.slice(0, 3).map((f) => f.path).join(', ')}` : undefined;
}

/**
 * Compare the state store with the output root without changing either: interrupted publishes, attempts
 * whose process died, orphaned staging, kept versions whose files are gone, published links that do not
 * point at the published version, and version folders the store does not know.
 */
export async function checkStateIntegrity(store: StateStore, layout: OutputLayout, plan?: RecoveryPlan): Promise<Finding[]> {
  const findings: Finding[] = [];
  const r = plan ?? (await planRecovery(store, layout));
  for (const intent of r.inFlight) {
    const label = `${intent.analyzer} ${intent.partition_id} v${intent.target_seq}`;
    findings.push({ check: 'publish-in-progress', status: 'info', subject: label, message: `${label} is being published by a running attempt (${intent.attempt_id})` });
  }
  for (const intent of [...r.rollForward, ...r.abandon]) {
    const label = `${intent.analyzer} ${intent.partition_id} v${intent.target_seq}`;
    const filesThere = r.rollForward.includes(intent);
    findings.push({
      check: 'interrupted-publish',
      status: 'problem',
      subject: label,
      message: `interrupted ${intent.kind} of ${label} (recorded ${intent.created_at}): readers still see ${intent.from_seq === null ? 'nothing' : `v${intent.from_seq}`}; ${filesThere ? 'its files are there, so it can be finished' : 'its files are gone, so it will be abandoned'}`,
      hint: RECOVER,
      details: { intentId: intent.id, kind: intent.kind, attemptId: intent.attempt_id, from: intent.from_seq, to: intent.target_seq },
    });
  }
  for (const a of r.crashed) {
    findings.push({
      check: 'crashed-attempt',
      status: 'warning',
      subject: `${a.analyzer} ${a.partition_id}`,
      message: `attempt ${a.attempt_id} of ${a.analyzer} ${a.partition_id} is recorded as running, but its process (pid ${a.pid} on ${a.host}) is gone`,
      hint: RECOVER,
    });
  }
  // Staging of an interrupted publish is reported with that publish, not as an orphan.
  const claimed = new Set([...r.rollForward, ...r.abandon, ...r.inFlight].map((i) => i.attempt_id));
  for (const { name, dir, owner } of r.staging.filter((x) => !claimed.has(x.name))) {
    findings.push({
      check: 'orphaned-staging',
      status: 'problem',
      subject: dir,
      message: `staging folder ${name} belongs to no running attempt${owner ? ` (its attempt ended ${owner.status})` : ''}: it only takes disk space`,
      hint: "run 'recount recover' or 'recount gc' to remove it",
    });
  }

  const known = new Set<string>();
  for (const p of await store.listPartitions()) {
    for (const v of await store.listVersions(p.analyzer, p.partition_id)) {
      known.add(v.dir);
      if (v.status !== 'published' && v.status !== 'retained') continue;
      const why = missingFiles(v.dir);
      if (why) {
        findings.push({
          check: 'version-files-missing',
          status: 'problem',
          subject: `${v.analyzer} ${v.partition_id} v${v.seq}`,
          message: `${v.status} version ${v.analyzer} ${v.partition_id} v${v.seq}: ${why}`,
          hint: v.status === 'published'
            ? `readers of the published path see broken data: rerun it (recount run ${v.analyzer} --partition ${v.partition_id}) or roll back to a kept version`
            : `it can no longer be rolled back to; 'recount gc' marks it deleted`,
          details: { analyzer: v.analyzer, partition: v.partition_id, version: v.seq, status: v.status, dir: v.dir },
        });
      }
    }
    if (p.published_seq !== null && p.pending_intent === null) {
      const v = await store.getVersion(p.analyzer, p.partition_id, p.published_seq);
      const link = layout.publishedPath(p.analyzer, p.partition_id);
      let target: string | undefined;
      try {
        target = lstatSync(link).isSymbolicLink() ? realpathSync(link) : undefined;
      } catch {
        target = undefined;
      }
      const expected = v && existsSync(v.dir) ? realpathSync(v.dir) : v?.dir;
      if (!target || target !== expected) {
        findings.push({
          check: 'published-link',
          status: 'problem',
          subject: link,
          message: `${link} ${target ? `points at ${target}` : 'is missing or not a recount link'}, but the state store says v${p.published_seq} is published`,
          hint: `publish it again: recount rollback ${p.analyzer} --partition ${p.partition_id} --version ${p.published_seq} (or rerun the partition)`,
        });
      }
    }
  }

  if (existsSync(layout.versionsRoot)) {
    for (const analyzer of readdirSync(layout.versionsRoot)) {
      for (const partition of readdirSync(join(layout.versionsRoot, analyzer))) {
        for (const v of readdirSync(join(layout.versionsRoot, analyzer, partition))) {
          const dir = join(layout.versionsRoot, analyzer, partition, v);
          if (known.has(dir)) continue;
          findings.push({ check: 'orphaned-version-folder', status: 'warning', subject: dir, message: `version folder ${dir} is not in the state store`, hint: "nothing reads it; remove it by hand if you did not put it there" });
        }
      }
    }
  }
  return findings;
}
