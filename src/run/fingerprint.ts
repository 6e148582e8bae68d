import { createHash } from 'node:crypto';
import type { Analyzer, Project } from '../config/project.ts';
import { resolveInput, type ResolvedInput } from '../catalog/dataset.ts';
import type { Partition } from '../catalog/partition.ts';
import type { StateStore } from '../state/store.ts';
import { readManifest } from '../commit/manifest.ts';
import { layoutEngineChange } from '../layout/engineScheme.ts';
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
export async function isUpToDate(
  store: StateStore,
  project: Project,
  analyzer: Analyzer,
  partition: Partition,
): Promise<boolean> {
  const v = await store.publishedVersion(analyzer.name, partition.id);
  if (!v || v.sql_hash !== analyzer.sqlHash) return false;
  try {
    return (
      combinedFingerprint(resolveInputs(project, analyzer, partition)) === v.input_fingerprint &&
      layoutMatches(analyzer, v.dir)
    );
  } catch {
    return false;
  }
}

/**
 * Why a published version's layout is not the one the analyzer asks for now, or undefined if it is: other declared
 * keys, another fixed file count (`auto` follows the data, so any count matches), another layout rule (another
 * engine hashes keys to other files), or another engine version (whose hash may place keys elsewhere). A changed
 * layout is a rerun even on the same input.
 */
export function layoutChange(analyzer: Analyzer, versionDir: string): string | undefined {
  const m = readManifest(versionDir);
  if (!m) return 'it has no manifest';
  if (analyzer.keys && JSON.stringify(analyzer.keys) !== JSON.stringify(m.keys))
    return `its keys are (${m.keys.join(', ')}), the analyzer declares (${analyzer.keys.join(', ')})`;
  if (typeof analyzer.fileCount === 'number' && analyzer.fileCount !== m.layout.files)
    return `it has ${m.layout.files} files, the analyzer asks for ${analyzer.fileCount}`;
  const engine = analyzer.engineChoice?.name ?? 'duckdb';
  const rule = layoutSchemeOf(engine);
  if (m.layout.rule !== rule) return `its files follow the rule ${m.layout.rule}, the analyzer's engine writes ${rule}`;
  return layoutEngineChange(m, engine);
}

/** True when a published version's layout is the one the analyzer asks for now (see layoutChange). */
export function layoutMatches(analyzer: Analyzer, versionDir: string): boolean {
  return layoutChange(analyzer, versionDir) === undefined;
}
