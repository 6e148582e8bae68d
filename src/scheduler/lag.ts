import type { Analyzer, Project } from '../config/project.ts';
import { parsePartition } from '../catalog/partition.ts';
import type { StateStore } from '../state/store.ts';
import { candidatePartitions } from './discovery.ts';
import { resolveInputs } from '../run/fingerprint.ts';

/** How far an analyzer's published output trails its ready input. */
export interface Lag {
  readonly analyzer: string;
  /** Newest partition whose inputs are all ready. */
  readonly newestReady: string | null;
  /** Newest partition with a published version. */
  readonly newestPublished: string | null;
  /** End of the newest ready partition minus end of the newest published one, in seconds (0 when caught up). */
  readonly seconds: number;
}

/** Compute an analyzer's lag from the files on disk and the state store. */
export async function analyzerLag(project: Project, store: StateStore, analyzer: Analyzer): Promise<Lag> {
  const candidates = candidatePartitions(project, analyzer, new Date(0));
  let newestReady: (typeof candidates)[number] | undefined;
  for (let i = candidates.length - 1; i >= 0 && i >= candidates.length - 72; i--) {
    try {
      resolveInputs(project, analyzer, candidates[i]!);
      newestReady = candidates[i];
      break;
    } catch {
      // not ready: look one partition further back
    }
  }
  const published = (await store.listPartitions(analyzer.name)).filter((p) => p.published_seq !== null).map((p) => p.partition_id).sort();
  const newestPublishedId = published.at(-1) ?? null;
  const newestPublished = newestPublishedId ? parsePartition(newestPublishedId, analyzer.grain) : undefined;
  let seconds = 0;
  if (newestReady) {
    const behindFrom = newestPublished ? newestPublished.end : candidates[0]!.start;
    seconds = Math.max(0, (newestReady.end.getTime() - behindFrom.getTime()) / 1000);
  }
  return { analyzer: analyzer.name, newestReady: newestReady?.id ?? null, newestPublished: newestPublishedId, seconds };
}
