import type { StateStore } from './store.ts';

/** A version's identity within the state store. */
export function versionKey(analyzer: string, partitionId: string, seq: number): string {
  return `${analyzer}\0${partitionId}\0${seq}`;
}

/** The versions a warehouse holds or is loading, and whether load records could be read at all. */
export interface LoadedVersions {
  readonly keys: ReadonlySet<string>;
  /** Those of `keys` with a load recorded pending (retried by serve or `recount load --pending`), not loaded yet. */
  readonly pending: ReadonlySet<string>;
  /** Why no load records were read (older state store without them); then none count as loaded. */
  readonly unavailable?: string;
}

/**
 * The seam between retention and the warehouse: versions that are in a warehouse table (the newest loaded
 * version of each partition) or being loaded (pending), read from the state store's load records
 * (src/warehouse/loadStore.ts). gc never removes them. A store without load records has loaded nothing. `of`: only
 * those of one partition (a publish pruning its old versions reads its own records, not the whole store's).
 */
export async function loadedVersions(
  store: StateStore,
  of?: { analyzer: string; partitionId: string },
): Promise<LoadedVersions> {
  let rows: Awaited<ReturnType<typeof store.loads.list>>;
  try {
    rows = await store.loads.list(of ?? {});
  } catch (err) {
    return { keys: new Set(), pending: new Set(), unavailable: (err as Error).message };
  }
  const keys = new Set<string>();
  const pending = new Set<string>();
  const newestLoaded = new Map<string, { seq: number; at: string }>();
  for (const r of rows) {
    const seq = Number(r.version_seq);
    if (r.status === 'pending') {
      keys.add(versionKey(r.analyzer, r.partition_id, seq));
      pending.add(versionKey(r.analyzer, r.partition_id, seq));
    }
    if (r.status !== 'loaded') continue;
    const part = `${r.analyzer}\0${r.partition_id}`;
    const at = r.finished_at ?? r.started_at ?? r.requested_at;
    const best = newestLoaded.get(part);
    if (!best || at > best.at || (at === best.at && seq > best.seq)) newestLoaded.set(part, { seq, at });
  }
  for (const [part, v] of newestLoaded) {
    keys.add(`${part}\0${v.seq}`);
    pending.delete(`${part}\0${v.seq}`);
  }
  return { keys, pending };
}
