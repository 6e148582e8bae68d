import { type LoadOutcome, loadAfterPublish, loadWarning } from '../../warehouse/loader.ts';
import type { Attempt } from './attempt.ts';
import type { SealedVersion } from './seal.ts';

/**
 * Phase 9: load the published version into the warehouse (analyzers with `load`). A load that fails leaves the
 * publish in place, is a warning of the attempt, and stays owed for `recount load --pending`.
 */
export async function loadPublished(
  attempt: Attempt,
  sealed: SealedVersion,
  owedTable: string | undefined,
): Promise<LoadOutcome | undefined> {
  // The files were hashed from the bytes this attempt wrote: the load does not read them again for that.
  const load = await loadAfterPublish(attempt.ctx, attempt.analyzer, attempt.partition.id, {
    known: { version: sealed.seq, sha256: new Map(sealed.files.map((f) => [f.path, f.sha256])) },
    begun: owedTable ? sealed.seq : undefined,
  });
  if (load?.error) attempt.warnings.push(loadWarning(load));
  return load;
}
