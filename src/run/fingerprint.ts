import { createHash } from 'node:crypto';
import type { Analyzer, Project } from '../config/project.ts';
import { resolveInput, type ResolvedInput } from '../catalog/dataset.ts';
import type { Partition } from '../catalog/partition.ts';
import type { StateStore } from '../state/store.ts';
import { readManifest } from '../commit/manifest.ts';
import { layoutSchemeOf } from '../layout/schemes.ts';

/** Resolve every input of an analyzer partition (PARTITION_NOT_READY if one is missing). */
export function resolveInputs(project: Project, analyzer: Analyzer, partition: Partition): ResolvedInput[] {
  return analyzer.inputs.map((name) => resolveInput(project.datasets.get(name)!, partition));
}

/** The input fingerprint of a version (I8): one sha256 over every input dataset's file fingerprint. */
export function combinedFingerprint(inputs: readonly ResolvedInput[]): string {
  return createHash('sha256')
    .update(inputs.map((r) => `${r.dataset.name}:${r.fingerprint}`).join('\n'))
    .digest('hex');
}

/** True when the published version was made from the same input files and the same SQL: a rerun would change nothing. */
export async function isUpToDate(store: StateStore, project: Project, analyzer: Analyzer, partition: Partition): Promise<boolean> {
  const v = await store.publishedVersion(analyzer.name, partition.id);
  if (!v || v.sql_hash !== analyzer.sqlHash) return false;
  try {
    return combinedFingerprint(resolveInputs(project, analyzer, partition)) === v.input_fingerprint && layoutMatches(analyzer, v.dir);
  } catch {
    return false;
  }
}

/**
 * True when a published version's layout is the one the analyzer asks for now: the declared keys and a fixed
 * file count (`auto` follows the data, so any count matches), and the layout rule of the analyzer's engine (another
 * engine hashes keys to other files). A changed layout is a rerun even on the same input.
 */
export function layoutMatches(analyzer: Analyzer, versionDir: string): boolean {
  const m = readManifest(versionDir);
  if (!m) return false;
  if (analyzer.keys && JSON.stringify(analyzer.keys) !== JSON.stringify(m.keys)) return false;
  if (typeof analyzer.fileCount === 'number' && analyzer.fileCount !== m.layout.files) return false;
  if (m.layout.rule !== layoutSchemeOf(analyzer.engineChoice?.name ?? 'duckdb')) return false;
  return true;
}
