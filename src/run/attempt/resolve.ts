import type { Partition } from '../../catalog/partition.ts';
import type { ResolvedInput } from '../../catalog/dataset.ts';
import type { Analyzer, Project } from '../../config/project.ts';
import { exhaustHeapFault, transientFault } from '../../fault.ts';
import { combinedFingerprint, resolveInputs } from '../fingerprint.ts';

/** The input files of an attempt and their combined fingerprint (I8). */
export interface ResolvedInputs {
  readonly resolved: ResolvedInput[];
  readonly inputFingerprint: string;
}

/** Phase 1: the exact input files of the partition, each input's ready snapshot, and their fingerprint. */
export function resolveAttemptInputs(project: Project, analyzer: Analyzer, partition: Partition): ResolvedInputs {
  // The injected faults of retry and heap tests strike here, the first step after the attempt is recorded.
  transientFault(analyzer.name);
  exhaustHeapFault();
  const resolved = resolveInputs(project, analyzer, partition);
  return { resolved, inputFingerprint: combinedFingerprint(resolved) };
}
