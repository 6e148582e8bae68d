import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RecountError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import { MANIFEST_FILE } from './manifest.ts';
import type { OutputLayout } from './paths.ts';
import { applyIntent } from './publish.ts';

/**
 * Publish an older retained version of a partition again (default: the newest one before the published
 * one), through the same intent-first, atomic switch as a publish.
 */
export async function rollbackPartition(store: StateStore, layout: OutputLayout, analyzer: string, partitionId: string, version?: number): Promise<{ from: number | null; to: number }> {
  const partition = await store.getPartition(analyzer, partitionId);
  const versions = await store.listVersions(analyzer, partitionId);
  const current = partition?.published_seq ?? null;
  const available = versions.filter((v) => v.status === 'retained' || v.status === 'published');
  const target = version === undefined ? available.find((v) => current === null || v.seq < current) : versions.find((v) => v.seq === version);
  const listing = available.map((v) => `v${v.seq}${v.status === 'published' ? ' (published)' : ''}`).join(', ') || 'none';
  if (!target) {
    throw new RecountError('VERSION_NOT_FOUND', version === undefined ? `${analyzer} ${partitionId}: no older version to roll back to` : `${analyzer} ${partitionId}: there is no version ${version}`, {
      subject: `${analyzer} ${partitionId}`,
      hint: `versions kept: ${listing}`,
    });
  }
  if (target.status === 'deleted' || !existsSync(join(target.dir, MANIFEST_FILE))) {
    throw new RecountError('VERSION_NOT_FOUND', `${analyzer} ${partitionId}: version ${target.seq} is no longer kept`, {
      subject: `${analyzer} ${partitionId} v${target.seq}`,
      hint: `versions kept: ${listing}; raise keepVersions to keep more`,
    });
  }
  if (target.seq === current) return { from: current, to: target.seq };
  const claim = await store.claimRollback(analyzer, partitionId, target.seq, target.dir);
  if (!claim.won) {
    throw new RecountError('PUBLISH_CONFLICT', `${analyzer} ${partitionId}: ${claim.reason}`, { subject: `${analyzer} ${partitionId}`, hint: 'wait for the running publish to finish, then retry' });
  }
  await applyIntent(store, layout, claim.intent);
  return { from: current, to: target.seq };
}
