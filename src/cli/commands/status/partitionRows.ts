import type { StateStore } from '../../../state/store.ts';
import { isFailedStatus } from '../../../state/types.ts';

/** One partition of an analyzer as `recount status <analyzer>` lists it: its published version and latest attempt. */
export interface PartitionRow {
  partition: string;
  publishedVersion: number | null;
  heldVersion: number | null;
  rows: number | null;
  files: number | null;
  bytes: number | null;
  publishedAt: string | null;
  lastAttempt: {
    id: string;
    status: string;
    startedAt: string;
    errorCode: string | null;
    error: string | null;
  } | null;
}

/** A partition whose latest attempt failed, for a reason other than its input not being there yet. */
export function isFailing(r: { lastAttempt: { status: string; errorCode: string | null } | null }): boolean {
  return !!r.lastAttempt && isFailedStatus(r.lastAttempt.status) && r.lastAttempt.errorCode !== 'PARTITION_NOT_READY';
}

/** Every partition of an analyzer the state store knows, with its published version and its latest attempt. */
export async function partitionRows(store: StateStore, analyzer: string): Promise<PartitionRow[]> {
  const partitions = await store.listPartitions(analyzer);
  const attempts = await store.listAttempts({ analyzer, limit: 100_000 });
  const latest = new Map<string, (typeof attempts)[number]>();
  for (const a of attempts) if (!latest.has(a.partition_id)) latest.set(a.partition_id, a);
  const rows: PartitionRow[] = [];
  for (const p of partitions) {
    const v = p.published_seq === null ? undefined : await store.getVersion(analyzer, p.partition_id, p.published_seq);
    const last = latest.get(p.partition_id);
    rows.push({
      partition: p.partition_id,
      publishedVersion: p.published_seq,
      heldVersion: p.held_seq ?? null,
      rows: v ? Number(v.rows) : null,
      files: v ? Number(v.files) : null,
      bytes: v ? Number(v.bytes) : null,
      publishedAt: v?.published_at ?? null,
      lastAttempt: last
        ? {
            id: last.attempt_id,
            status: last.status,
            startedAt: last.started_at,
            errorCode: last.error_code,
            error: last.error_message,
          }
        : null,
    });
  }
  return rows;
}
