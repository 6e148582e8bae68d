import { publishVersion, pruneVersions } from '../../commit/publish.ts';
import { barrierPoint } from '../../fault.ts';
import { RECOUNT_VERSION } from '../../version.ts';
import { layoutMatches } from '../fingerprint.ts';
import { HOLD_RESPECTING_TRIGGERS } from '../hold.ts';
import type { Attempt, Stopwatch } from './attempt.ts';
import type { SealedVersion } from './seal.ts';

/**
 * Triggers of runs `recount serve` queued by itself (new or changed input, SQL or layout; a schedule). Such a run
 * has nothing to add when an identical version (same input fingerprint, SQL and layout) was published while it
 * ran, e.g. by the attempt a killed daemon left behind, rolled forward by recovery: it is superseded instead of
 * publishing a second copy. Runs a user asked for (run, backfill, a dashboard rerun, audit, bench) still publish.
 */
const DAEMON_TRIGGERS = new Set(['new-data', 'changed-input', 'changed-sql', 'changed-layout', 'schedule']);

/** Whether the attempt published its version, or why not. */
export type PublishOutcome = { readonly published: true } | { readonly published: false; readonly reason: string };

/**
 * Phase 8: claim the next version of the partition and publish the sealed staging atomically (I1, I7), or be
 * superseded: by an identical version published meanwhile (daemon runs), or by a concurrent attempt that claimed
 * first. Old versions beyond the analyzer's keepVersions are pruned after a publish.
 */
export async function claimAndPublish(
  attempt: Attempt,
  sealed: SealedVersion,
  stopwatch: Stopwatch,
): Promise<PublishOutcome> {
  const { analyzer, partition, layout } = attempt;
  const { store } = attempt.ctx;
  const trigger = attempt.opts.trigger ?? '';
  const identical = DAEMON_TRIGGERS.has(trigger) ? await identicalPublished(attempt, sealed) : undefined;
  if (identical !== undefined)
    return {
      published: false,
      reason: `an identical version v${identical} (same input and SQL) was published meanwhile`,
    };

  await barrierPoint('before-claim');
  const versionDir = layout.versionDir(analyzer.name, partition.id, sealed.seq);
  attempt.claimed = true;
  const result = await publishVersion(
    store,
    layout,
    {
      analyzer: analyzer.name,
      partitionId: partition.id,
      seq: sealed.seq,
      attemptId: attempt.id,
      stagingDir: attempt.stagingDir,
      versionDir,
      rows: sealed.rows,
      bytes: sealed.bytes,
      files: sealed.files.length,
      manifestSha256: sealed.manifestSha256,
      inputFingerprint: sealed.inputFingerprint,
      sqlHash: analyzer.sqlHash,
      engineVersion: sealed.engineVersion,
      recountVersion: RECOUNT_VERSION,
      respectHold: attempt.opts.respectHold ?? HOLD_RESPECTING_TRIGGERS.has(trigger),
    },
    sealed.baseSeq,
  );
  stopwatch.lap('publish');
  if (!result.published) return result;
  try {
    await pruneVersions(store, analyzer.name, partition.id, analyzer.versionsToKeep);
  } catch (err) {
    // The version is published: failing to remove old ones is housekeeping for the next publish, not a failed attempt.
    attempt.warnings.push(`old versions of ${partition.id} not pruned: ${(err as Error).message}`);
  }
  return { published: true };
}

/** The seq of the published version when it has this attempt's input, SQL and layout; undefined otherwise. */
async function identicalPublished(attempt: Attempt, sealed: SealedVersion): Promise<number | undefined> {
  const { analyzer } = attempt;
  const pub = await attempt.ctx.store.publishedVersion(analyzer.name, attempt.partition.id);
  const same =
    pub &&
    pub.sql_hash === analyzer.sqlHash &&
    pub.input_fingerprint === sealed.inputFingerprint &&
    layoutMatches(analyzer, pub.dir);
  return same ? pub.seq : undefined;
}
