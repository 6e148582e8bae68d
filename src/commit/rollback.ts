import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RecountError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import type { PublishIntent } from '../state/types.ts';
import { MANIFEST_FILE } from './manifest.ts';
import type { OutputLayout } from './paths.ts';
import { applyIntent } from './publish.ts';

/**
 * Publish an older retained version of a partition again (default: the newest one before the published
 * one), through the same intent-first, atomic switch as a publish.
 */
export async function rollbackPartition(
  store: StateStore,
  layout: OutputLayout,
  analyzer: string,
  partitionId: string,
  version?: number,
  opts: { holdInput?: string | null } = {},
): Promise<{ from: number | null; to: number }> {
  const partition = await store.getPartition(analyzer, partitionId);
  const versions = await store.listVersions(analyzer, partitionId);
  const current = partition?.published_seq ?? null;
  const available = versions.filter((v) => v.status === 'retained' || v.status === 'published');
  const target =
    version === undefined
      ? available.find((v) => current === null || v.seq < current)
      : versions.find((v) => v.seq === version);
  const listing =
    available.map((v) => `v${v.seq}${v.status === 'published' ? ' (published)' : ''}`).join(', ') || 'none';
  if (!target) {
    throw new RecountError(
      'VERSION_NOT_FOUND',
      version === undefined
        ? `${analyzer} ${partitionId}: no older version to roll back to`
        : `${analyzer} ${partitionId}: there is no version ${version}`,
      {
        subject: `${analyzer} ${partitionId}`,
        hint: `versions kept: ${listing}`,
      },
    );
  }
  if (target.status === 'deleted' || !existsSync(join(target.dir, MANIFEST_FILE))) {
    throw new RecountError('VERSION_NOT_FOUND', `${analyzer} ${partitionId}: version ${target.seq} is no longer kept`, {
      subject: `${analyzer} ${partitionId} v${target.seq}`,
      hint: `versions kept: ${listing}; raise keepVersions to keep more`,
    });
  }
  if (target.seq === current) return { from: current, to: target.seq };
  const claim = await store.claimRollback(analyzer, partitionId, target.seq, target.dir, { holdInput: opts.holdInput });
  if (!claim.won) {
    throw new RecountError('PUBLISH_CONFLICT', `${analyzer} ${partitionId}: ${claim.reason}`, {
      subject: `${analyzer} ${partitionId}`,
      hint: 'wait for the running publish to finish, then retry',
    });
  }
  await finishRollback(store, layout, claim.intent);
  return { from: current, to: target.seq };
}

/**
 * Carry a claimed rollback intent through, and report success only if this intent is what made its version the
 * published one: an intent abandoned meanwhile (its files gone), or taken over by a recovery that judged this
 * process dead and a newer publish since, is a failure, never a silent success. (Finished by another process's recovery and still published: that is the rollback done.)
 */
export async function finishRollback(store: StateStore, layout: OutputLayout, intent: PublishIntent): Promise<void> {
  const subject = `${intent.analyzer} ${intent.partition_id}`;
  const stillPending = (await store.pendingIntents()).some((i) => i.id === intent.id);
  const applied = stillPending ? await applyIntent(store, layout, intent) : false;
  const p = await store.getPartition(intent.analyzer, intent.partition_id);
  const done = (await store.getIntent(intent.id))?.state === 'done';
  if (!done || p?.published_seq !== intent.target_seq) {
    throw new RecountError(
      'PUBLISH_CONFLICT',
      `${subject}: the rollback to v${intent.target_seq} did not happen: ${!applied && stillPending ? 'its version files are gone' : 'its intent was finished or abandoned by another process'}; v${p?.published_seq ?? '-'} is published`,
      {
        subject,
        hint: `check with recount status ${intent.analyzer} --partition ${intent.partition_id}, then roll back again if still wanted`,
      },
    );
  }
}
