import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputLayout } from '../commit/paths.ts';
import { intentLabel, plannedOf, planRecovery, type RecoveryPlan } from '../commit/recoveryPlan.ts';
import type { StateStore } from '../state/store.ts';
import type { PartitionRow, VersionRow } from '../state/types.ts';
import type { Finding } from './finding.ts';
import { describeLink, inspectPublishedLink } from './publishedLink.ts';
import { unreadableReason } from './versionHealth.ts';
import { loadedVersions, versionKey } from '../state/loadedVersions.ts';

const RECOVER =
  "run 'recount recover' (every command that writes, such as run, backfill or gc, does this first): it finishes the publish, or keeps the previous version if the files are gone";

/**
 * Compare the state store with the output root without changing either: interrupted publishes, attempts
 * whose process died, orphaned staging, kept versions whose files are gone, published links that do not
 * point at the published version, and version folders the store does not know.
 */
export async function checkStateIntegrity(
  store: StateStore,
  layout: OutputLayout,
  plan?: RecoveryPlan,
): Promise<Finding[]> {
  const findings = recoveryFindings(plan ?? (await planRecovery(store, layout)));
  const known = new Set<string>();
  const loaded = (await loadedVersions(store)).keys;
  for (const p of await store.listPartitions()) {
    const versions = await store.listVersions(p.analyzer, p.partition_id);
    for (const v of versions) known.add(v.dir);
    findings.push(...partitionFindings(layout, p, versions, loaded));
  }
  findings.push(...orphanedVersionFolders(layout, known));
  return findings;
}

/** What the recovery plan says about publishes, attempts and staging, as findings. */
function recoveryFindings(plan: RecoveryPlan): Finding[] {
  const findings: Finding[] = [];
  const inFlight = plannedOf(plan, 'leave-publish').map((a) => a.intent);
  for (const intent of inFlight) {
    const label = intentLabel(intent);
    findings.push({
      check: 'publish-in-progress',
      status: 'info',
      subject: label,
      message: `${label} is being published by a running attempt (${intent.attempt_id})`,
    });
  }
  const rollForward = plannedOf(plan, 'finish-publish').map((a) => a.intent);
  const abandon = plannedOf(plan, 'abandon-publish').map((a) => a.intent);
  for (const intent of [...rollForward, ...abandon]) {
    const label = intentLabel(intent);
    const filesThere = rollForward.includes(intent);
    findings.push({
      check: 'interrupted-publish',
      status: 'problem',
      subject: label,
      message: `interrupted ${intent.kind} of ${label} (recorded ${intent.created_at}): readers still see ${intent.from_seq === null ? 'nothing' : `v${intent.from_seq}`}; ${filesThere ? 'its files are there, so it can be finished' : 'its files are gone, so it will be abandoned'}`,
      hint: RECOVER,
      details: {
        intentId: intent.id,
        kind: intent.kind,
        attemptId: intent.attempt_id,
        from: intent.from_seq,
        to: intent.target_seq,
      },
    });
  }
  for (const { attempt: a } of plannedOf(plan, 'record-crashed')) {
    findings.push({
      check: 'crashed-attempt',
      status: 'warning',
      subject: `${a.analyzer} ${a.partition_id}`,
      message: `attempt ${a.attempt_id} of ${a.analyzer} ${a.partition_id} is recorded as running, but its process (pid ${a.pid} on ${a.host}) is gone`,
      hint: RECOVER,
    });
  }
  // Staging of an interrupted publish is reported with that publish, not as an orphan.
  const claimed = new Set([...rollForward, ...abandon, ...inFlight].map((i) => i.attempt_id));
  for (const { name, dir, owner } of plannedOf(plan, 'remove-staging').filter((x) => !claimed.has(x.name))) {
    findings.push({
      check: 'orphaned-staging',
      status: 'problem',
      subject: dir,
      message: `staging folder ${name} belongs to no running attempt${owner ? ` (its attempt ended ${owner.status})` : ''}: it only takes disk space`,
      hint: "run 'recount recover' or 'recount gc' to remove it",
    });
  }
  return findings;
}

/** A partition's kept versions whose files cannot be read, and a published link that does not point at its version. */
function partitionFindings(
  layout: OutputLayout,
  p: PartitionRow,
  versions: readonly VersionRow[],
  loaded: ReadonlySet<string>,
): Finding[] {
  const findings: Finding[] = [];
  const broken = new Map<number, string>();
  for (const v of versions) {
    if (v.status !== 'published' && v.status !== 'retained') continue;
    const why = unreadableReason(v.dir);
    if (why) broken.set(v.seq, why);
  }
  for (const v of versions.filter((x) => broken.has(x.seq))) {
    const label = `${v.analyzer} ${v.partition_id} v${v.seq}`;
    findings.push({
      check: 'version-files-missing',
      status: 'problem',
      subject: label,
      message: `${v.status} version ${label}: ${broken.get(v.seq)}`,
      hint: brokenVersionHint(p, v, versions, broken, loaded),
      details: { analyzer: v.analyzer, partition: v.partition_id, version: v.seq, status: v.status, dir: v.dir },
    });
  }
  // A published version whose files are gone is reported above, with what repairs it: its link is part of that.
  if (p.published_seq !== null && p.pending_intent === null && !broken.has(p.published_seq)) {
    const link = publishedLinkFinding(layout, p, versions);
    if (link) findings.push(link);
  }
  return findings;
}

function brokenVersionHint(
  p: PartitionRow,
  v: VersionRow,
  versions: readonly VersionRow[],
  broken: ReadonlyMap<number, string>,
  loaded: ReadonlySet<string>,
): string {
  const run = `recount run ${p.analyzer} --partition ${p.partition_id}`;
  const forget = `'recount gc --broken' forgets it (marks it deleted and removes what is left of its folder)`;
  if (v.status === 'published') {
    const fallback = versions.find((x) => x.status === 'retained' && !broken.has(x.seq));
    const rollback = fallback
      ? ` or roll back to v${fallback.seq} ('recount rollback ${p.analyzer} --partition ${p.partition_id} --version ${fallback.seq}')`
      : '';
    return `readers of the published path see ${existsSync(v.dir) ? 'incomplete data' : 'nothing (its link dangles)'}: publish a new version ('${run}')${rollback}; v${v.seq} then stays as an older version that cannot be read: ${forget}`;
  }
  if (loaded.has(versionKey(v.analyzer, v.partition_id, v.seq)))
    return `it can no longer be rolled back to; it is the version the warehouse holds, so gc keeps it until a newer one is loaded ('recount load ${p.analyzer} --partition ${p.partition_id}'); after that ${forget}`;
  return `it can no longer be rolled back to; ${forget}`;
}

function publishedLinkFinding(
  layout: OutputLayout,
  p: PartitionRow,
  versions: readonly VersionRow[],
): Finding | undefined {
  const v = versions.find((x) => x.seq === p.published_seq);
  const link = layout.publishedPath(p.analyzer, p.partition_id);
  const state = inspectPublishedLink(link, v?.dir ?? '');
  if (state.state === 'ok') return undefined;
  const run = `recount run ${p.analyzer} --partition ${p.partition_id}`;
  return {
    check: 'published-link',
    status: 'problem',
    subject: link,
    message: describeLink(link, state, p.published_seq!),
    hint:
      state.state === 'not-a-link'
        ? `something other than recount wrote there: move it away, then publish a new version ('${run}')`
        : `publish a new version, which makes the link again ('${run}'); v${p.published_seq} stays kept`,
    details: { analyzer: p.analyzer, partition: p.partition_id, version: p.published_seq, link: state.state },
  };
}

/** Version folders under the output root that the state store does not know. */
function orphanedVersionFolders(layout: OutputLayout, known: ReadonlySet<string>): Finding[] {
  if (!existsSync(layout.versionsRoot)) return [];
  const findings: Finding[] = [];
  for (const analyzer of readdirSync(layout.versionsRoot)) {
    for (const partition of readdirSync(join(layout.versionsRoot, analyzer))) {
      for (const v of readdirSync(join(layout.versionsRoot, analyzer, partition))) {
        const dir = join(layout.versionsRoot, analyzer, partition, v);
        if (known.has(dir)) continue;
        findings.push({
          check: 'orphaned-version-folder',
          status: 'warning',
          subject: dir,
          message: `version folder ${dir} is not in the state store`,
          hint: 'nothing reads it; remove it by hand if you did not put it there',
        });
      }
    }
  }
  return findings;
}
