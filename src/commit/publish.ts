import { existsSync, lstatSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { SUCCESS_MARKER } from '../catalog/dataset.ts';
import { RecountError } from '../errors.ts';
import { faultPoint } from '../fault.ts';
import type { StagedVersion, StateStore } from '../state/store.ts';
import type { PublishIntent as PublishIntentTable } from '../state/types.ts';
import { ensureDirDurable } from './ensureDir.ts';
import { fsyncPath, writeFileAndFolderDurable } from './fsync.ts';
import type { OutputLayout } from './paths.ts';
import { currentProcToken, HOST } from './liveness.ts';
import { tempLinkName } from './tempLink.ts';
import { loadedVersions, versionKey } from '../gc/loaded.ts';

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
 * Carry a recorded intent through to the end; every step is idempotent, so recovery after a crash at
 * any point calls this again: move staging to the version folder, swap the link, write _SUCCESS, mark done.
 * Returns false when the intent's files are gone (the intent is abandoned; the previous version stays).
 */
export async function applyIntent(store: StateStore, layout: OutputLayout, intent: PublishIntentTable, opts: { recovering?: boolean } = {}): Promise<boolean> {
  const versionDir = intent.version_dir;
  if (!existsSync(versionDir)) {
    if (intent.kind === 'publish' && intent.staging_dir && existsSync(join(intent.staging_dir, '_manifest.json'))) {
      ensureDirDurable(dirname(versionDir));
      renameSync(intent.staging_dir, versionDir);
      fsyncPath(dirname(versionDir));
    } else {
      await store.abandonIntent(intent.id, 'version files are gone');
      return false;
    }
  }
  if (opts.recovering) faultPoint('during-recovery');
  faultPoint('during-publish');
  swapPublishedLink(layout, layout.publishedPath(intent.analyzer, intent.partition_id), versionDir);
  faultPoint('after-publish');
  const marker = join(versionDir, SUCCESS_MARKER);
  if (!existsSync(marker)) await writeFileAndFolderDurable(marker, '');
  faultPoint('before-complete');
  await store.completeIntent(intent.id);
  return true;
}

/** The result of trying to publish a staged version. */
export type PublishResult = { published: true; seq: number } | { published: false; reason: string };

/** Publish a staged version if this attempt still wins the partition (I7), then complete it (I1). */
export async function publishVersion(store: StateStore, layout: OutputLayout, staged: StagedVersion, baseSeq: number): Promise<PublishResult> {
  const claim = await store.claimPublish(staged, baseSeq);
  if (!claim.won) {
    rmSync(staged.stagingDir, { recursive: true, force: true });
    return { published: false, reason: claim.reason };
  }
  faultPoint('after-claim');
  const ok = await applyIntent(store, layout, claim.intent);
  if (!ok) return { published: false, reason: 'staged files disappeared before publish' };
  return { published: true, seq: staged.seq };
}

/** Delete version folders beyond the newest `keep` (the published one and the one a warehouse holds always stay). */
export async function pruneVersions(store: StateStore, analyzer: string, partitionId: string, keep: number): Promise<number[]> {
  const versions = await store.listVersions(analyzer, partitionId);
  const removable = versions.filter((v) => v.status === 'retained');
  const published = versions.filter((v) => v.status === 'published').length;
  const excess = removable.slice(Math.max(0, keep - published));
  // The version a warehouse table holds (or is loading) is never removed, whatever keepVersions says.
  const loaded = excess.length ? (await loadedVersions(store)).keys : new Set<string>();
  const removed: number[] = [];
  for (const v of excess) {
    if (loaded.has(versionKey(analyzer, partitionId, v.seq))) continue;
    // Recorded as deleted before its files go: a crash mid-removal must not leave a partial folder listed
    // as retained, which a rollback would publish.
    await store.markVersionDeleted(analyzer, partitionId, v.seq);
    rmSync(v.dir, { recursive: true, force: true });
    removed.push(v.seq);
  }
  // Folders of versions recorded as deleted that a crash left behind.
  for (const v of versions) if (v.status === 'deleted' && existsSync(v.dir)) rmSync(v.dir, { recursive: true, force: true });
  return removed;
}
