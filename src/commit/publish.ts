import { existsSync, lstatSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { SUCCESS_MARKER } from '../catalog/dataset.ts';
import { RecountError } from '../errors.ts';
import { faultPoint } from '../fault.ts';
import type { StagedVersion, StateStore } from '../state/store.ts';
import type { PublishIntent as PublishIntentTable } from '../state/types.ts';
import { ensureDirDurable } from '../fs/ensureDir.ts';
import { fsyncPath, writeFileAndFolderDurable } from '../fs/fsync.ts';
import type { OutputLayout } from './paths.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import { tempLinkName } from './tempLink.ts';
import { loadedVersions, versionKey } from '../state/loadedVersions.ts';

/**
 * Point the published path at a version folder in one step: a new symlink is made under .recount/tmp
 * and renamed over the old one (rename(2) is atomic), so a reader sees the old version or the new, never a mix.
 */
export function swapPublishedLink(layout: OutputLayout, publishedPath: string, versionDir: string): void {
  const parent = dirname(publishedPath);
  ensureDirDurable(parent);
  ensureDirDurable(layout.tmpRoot);
  let existing: ReturnType<typeof lstatSync> | undefined;
  try {
    existing = lstatSync(publishedPath);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isSymbolicLink()) {
    throw new RecountError('OUTPUT_NOT_WRITABLE', `${publishedPath} is a real folder, not a recount published link`, {
      subject: publishedPath,
      hint: 'something other than recount wrote there; move it away, then rerun',
    });
  }
  const tmp = join(layout.tmpRoot, tempLinkName(HOST, currentProcToken()));
  symlinkSync(relative(parent, versionDir), tmp);
  renameSync(tmp, publishedPath);
  fsyncPath(parent);
}

/**
 * Move a publish's staged files to its version folder, if that is still to do. Two recoveries of one dead intent
 * may race here: the rename is one step, so at every instant the files are in one of the two places, and a
 * rename that finds the staging gone because the other moved it is a step already done, not a failure.
 * Returns false when the files are in neither place.
 */
function moveStagedToVersion(stagingDir: string | null, versionDir: string): boolean {
  if (existsSync(versionDir)) return true;
  if (stagingDir && existsSync(join(stagingDir, '_manifest.json'))) {
    ensureDirDurable(dirname(versionDir));
    try {
      renameSync(stagingDir, versionDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(versionDir)) throw err;
      return true;
    }
    fsyncPath(dirname(versionDir));
    return true;
  }
  // Looked at the staging after another process moved it: the version folder is there now.
  return existsSync(versionDir);
}

/**
 * Carry a recorded intent through to the end; every step is idempotent, so recovery after a crash at
 * any point calls this again: move staging to the version folder, write _SUCCESS in it, swap the link, mark done.
 * _SUCCESS is in the version folder before the swap, so the published path is ready at every instant of a republish.
 * Returns false when the intent's files are gone (the intent is abandoned; the previous version stays).
 */
export async function applyIntent(
  store: StateStore,
  layout: OutputLayout,
  intent: PublishIntentTable,
  opts: { recovering?: boolean } = {},
): Promise<boolean> {
  const versionDir = intent.version_dir;
  if (!moveStagedToVersion(intent.kind === 'publish' ? intent.staging_dir : null, versionDir)) {
    await store.abandonIntent(intent.id, 'version files are gone');
    return false;
  }
  const marker = join(versionDir, SUCCESS_MARKER);
  if (!existsSync(marker)) await writeFileAndFolderDurable(marker, '');
  if (opts.recovering) {
    faultPoint('during-recovery');
    // Another recovery may have finished this intent since ours listed it, and a newer version been published:
    // swapping the link now would point readers back at this one.
    if ((await store.getIntent(intent.id))?.state === 'done') return finishedElsewhere(store, intent);
  }
  faultPoint('during-publish');
  swapPublishedLink(layout, layout.publishedPath(intent.analyzer, intent.partition_id), versionDir);
  faultPoint('after-publish');
  faultPoint('before-complete');
  await store.completeIntent(intent.id);
  return true;
}

/** Whether an intent another process marked done was completed (true) rather than abandoned (false). */
async function finishedElsewhere(store: StateStore, intent: PublishIntentTable): Promise<boolean> {
  if (intent.kind === 'rollback')
    return (await store.getPartition(intent.analyzer, intent.partition_id))?.published_seq === intent.target_seq;
  const v = await store.getVersion(intent.analyzer, intent.partition_id, intent.target_seq);
  return v?.status === 'published' || v?.status === 'retained';
}

/** The result of trying to publish a staged version. */
export type PublishResult = { published: true; seq: number } | { published: false; reason: string };

/** Publish a staged version if this attempt still wins the partition (I7), then complete it (I1). */
export async function publishVersion(
  store: StateStore,
  layout: OutputLayout,
  staged: StagedVersion,
  baseSeq: number,
): Promise<PublishResult> {
  const claim = await store.claimPublish(staged, baseSeq);
  if (!claim.won) {
    rmSync(staged.stagingDir, { recursive: true, force: true });
    return { published: false, reason: claim.reason };
  }
  faultPoint('after-claim');
  const ok = await applyIntent(store, layout, claim.intent);
  if (!ok) return { published: false, reason: 'staged files disappeared before publish' };
  // Published, but the attempt is not yet recorded as finished: recovery must record it as succeeded.
  faultPoint('after-intent-complete');
  return { published: true, seq: staged.seq };
}

/**
 * Delete version folders beyond the newest `keep`. The published one, the one a warehouse holds and the target
 * of any pending intent (publish or rollback) always stay: each deletion is recorded in the state store only if
 * no intent claims the version, in the same transaction (a rollback claimed a moment later finds it deleted).
 */
export async function pruneVersions(
  store: StateStore,
  analyzer: string,
  partitionId: string,
  keep: number,
): Promise<number[]> {
  const versions = await store.listVersions(analyzer, partitionId);
  const removable = versions.filter((v) => v.status === 'retained');
  const published = versions.filter((v) => v.status === 'published').length;
  const excess = removable.slice(Math.max(0, keep - published));
  // The version a warehouse table holds (or is loading) is never removed, whatever keepVersions says.
  const loaded = excess.length ? (await loadedVersions(store, { analyzer, partitionId })).keys : new Set<string>();
  const removed: number[] = [];
  for (const v of excess) {
    if (loaded.has(versionKey(analyzer, partitionId, v.seq))) continue;
    // Recorded as deleted before its files go: a crash mid-removal must not leave a partial folder listed
    // as retained, which a rollback would publish.
    if (!(await store.deleteVersionUnlessClaimed(analyzer, partitionId, v.seq))) continue;
    faultPoint('during-prune');
    rmSync(v.dir, { recursive: true, force: true });
    removed.push(v.seq);
  }
  // Folders of versions recorded as deleted that a crash left behind.
  for (const v of versions)
    if (v.status === 'deleted' && existsSync(v.dir)) rmSync(v.dir, { recursive: true, force: true });
  return removed;
}
