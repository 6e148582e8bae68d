import type { EngineSession, LayoutRequest, WrittenLayout } from '../engine/engine.ts';

export type { StagedFile } from '../engine/engine.ts';

/** Target size of one output file when `files: 'auto'`. */
export const AUTO_FILE_BYTES = 128 * 1024 * 1024;

/** Stable name of output file i: `part-00000.parquet`. Every engine names bucket i's file so. */
export function partFileName(i: number): string {
  return `part-${String(i).padStart(5, '0')}.parquet`;
}

/**
 * Pick the file count for `files: 'auto'` from a single sorted file of the whole output: about 128 MB a
 * file. A rerun keeps the previous count unless the size moved outside half to twice of it, so a float
 * that changes in its last bits cannot move keys between files at a size boundary.
 */
export function autoFileCount(bytes: number, previous?: number, target: number = AUTO_FILE_BYTES): number {
  const wanted = Math.max(1, Math.ceil(bytes / target));
  if (previous) {
    const low = previous === 1 ? 0 : (previous * target) / 2;
    if (bytes >= low && bytes <= previous * target * 2) return previous;
  }
  return wanted;
}

/**
 * Write the query's result into `dir` as `files` Parquet files: row -> file by the engine's stable hash of its
 * keys mod files, rows sorted by key within a file, names part-00000.parquet…; never round-robin.
 */
export function writeLayout(session: EngineSession, request: LayoutRequest): Promise<WrittenLayout> {
  return session.writeLayout(request);
}
