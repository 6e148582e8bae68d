import type { Analyzer, Project } from '../config/project.ts';
import type { Partition } from '../catalog/partition.ts';
import type { StateStore } from '../state/store.ts';
import { combinedFingerprint, resolveInputs } from './fingerprint.ts';

/**
 * A rollback holds its partition at the version rolled back to: `recount serve` and `recount backfill` (without
 * --force) leave it there although the definition changed. What releases a hold: `recount release`, an explicit
 * publish (`recount run`, `backfill --force`, a dashboard rerun), or new input (a changed input fingerprint),
 * which the daemon logs.
 */

/** Triggers whose runs leave a held partition alone (the daemon's own, and a backfill without --force). */
export const HOLD_RESPECTING_TRIGGERS: ReadonlySet<string> = new Set([
  'new-data',
  'changed-input',
  'changed-sql',
  'changed-layout',
  'schedule',
  'backfill',
]);

/** The partition's input fingerprint now, or null while an input is not ready. */
export function currentInputFingerprint(project: Project, analyzer: Analyzer, partition: Partition): string | null {
  try {
    return combinedFingerprint(resolveInputs(project, analyzer, partition));
  } catch {
    return null;
  }
}

/** A partition's hold as a scheduler sees it: none, held, or just released because its input changed. */
export type HoldState =
  | { state: 'none' }
  | { state: 'held'; seq: number }
  | { state: 'released'; seq: number; reason: string };

/**
 * Whether a held partition stays held: released (in the state store) when its input fingerprint differs from
 * the one the hold was placed on. `fingerprint` is the current one when the caller has it already.
 */
export async function checkHold(
  store: StateStore,
  project: Project,
  analyzer: Analyzer,
  partition: Partition,
  fingerprint?: string | null,
): Promise<HoldState> {
  const p = await store.getPartition(analyzer.name, partition.id);
  if (p?.held_seq == null) return { state: 'none' };
  const seq = Number(p.held_seq);
  const now = fingerprint === undefined ? currentInputFingerprint(project, analyzer, partition) : fingerprint;
  const placedOn =
    p.held_input ?? (await store.getVersion(analyzer.name, partition.id, seq))?.input_fingerprint ?? null;
  if (now === null || placedOn === null || now === placedOn) return { state: 'held', seq };
  const released = await store.releaseHold(analyzer.name, partition.id);
  if (released === null) return { state: 'none' };
  return { state: 'released', seq: released, reason: 'its input changed since the rollback' };
}
