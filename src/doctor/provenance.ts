import type { StateStore } from '../state/store.ts';
import type { VersionRow } from '../state/types.ts';
import { compareVersions, versionParts } from './knownBugs.ts';

/** True when two engine versions name the same release (`v1.4.0` and `1.4.0` do). */
export function sameEngineVersion(recorded: string, wanted: string): boolean {
  const a = versionParts(recorded);
  const b = versionParts(wanted);
  if (!a || !b) return recorded.trim() === wanted.trim();
  return compareVersions(recorded, wanted) === 0 && recorded.replace(/^v/, '').replace(/^[\d.]+/, '') === wanted.replace(/^v/, '').replace(/^[\d.]+/, '');
}

/** The published versions (one per partition at most), optionally of one analyzer, whose provenance records a given engine version. */
export async function publishedWithEngine(store: StateStore, engineVersion: string, analyzer?: string): Promise<VersionRow[]> {
  return (await publishedVersions(store, analyzer)).filter((v) => sameEngineVersion(v.engine_version, engineVersion));
}

/** Every published version, optionally of one analyzer. */
export async function publishedVersions(store: StateStore, analyzer?: string): Promise<VersionRow[]> {
  const out: VersionRow[] = [];
  for (const p of await store.listPartitions(analyzer)) {
    if (p.published_seq === null) continue;
    const v = await store.getVersion(p.analyzer, p.partition_id, p.published_seq);
    if (v) out.push(v);
  }
  return out;
}
