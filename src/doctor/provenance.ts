import type { StateStore } from '../state/store.ts';
import type { VersionRow } from '../state/types.ts';
import { compareVersions, versionParts } from './knownBugs.ts';

/** True when two engine versions name the same release (`v1.4.0` and `1.4.0` do). */
export function sameEngineVersion(recorded: string, wanted: string): boolean {
  const a = versionParts(recorded);
  const b = versionParts(wanted);
  if (!a || !b) return recorded.trim() === wanted.trim();
  return (
    compareVersions(recorded, wanted) === 0 &&
    recorded.replace(/^v/, '').replace(/^[\d.]+/, '') === wanted.replace(/^v/, '').replace(/^[\d.]+/, '')
  );
}

/** The published versions (one per partition at most), optionally of one analyzer, whose provenance records a given engine version. */
export async function publishedWithEngine(
  store: StateStore,
  engineVersion: string,
  analyzer?: string,
): Promise<VersionRow[]> {
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

/** The versions an engine version made, as `recount status --engine-version` lists them. */
export interface EngineProvenance {
  /** Published now (one per partition at most): what readers and the warehouse see. */
  readonly published: VersionRow[];
  /** Kept older versions: not visible, but rollback targets that would publish that engine's output again. */
  readonly retained: VersionRow[];
  /** One command per analyzer with published versions from that engine, naming the analyzer. */
  readonly backfill: string[];
}

/**
 * Which outputs did this engine version produce (I8)? The published versions, the retained ones (rollback
 * targets), and the backfill commands, one per analyzer by its name, that rerun the published ones.
 */
export async function versionsWithEngine(
  store: StateStore,
  engineVersion: string,
  analyzer?: string,
): Promise<EngineProvenance> {
  const published: VersionRow[] = [];
  const retained: VersionRow[] = [];
  for (const p of await store.listPartitions(analyzer)) {
    for (const v of await store.listVersions(p.analyzer, p.partition_id)) {
      if (!sameEngineVersion(v.engine_version, engineVersion)) continue;
      if (v.status === 'published') published.push(v);
      else if (v.status === 'retained') retained.push(v);
    }
  }
  const names = [...new Set(published.map((v) => v.analyzer))].sort();
  return {
    published,
    retained,
    backfill: names.map((n) => `recount backfill ${n} --where engine-version=${engineVersion}`),
  };
}
