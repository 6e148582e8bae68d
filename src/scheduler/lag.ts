import type { Analyzer, Project } from '../config/project.ts';
import { parsePartition } from '../catalog/partition.ts';
import type { StateStore } from '../state/store.ts';
import { candidatePartitions, considerFrom } from './discovery.ts';
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
  /**
   * Partitions in `recount serve`'s window (from `start`, else the lookback) whose inputs are ready but that
   * have nothing published: gaps and backlog the newest-vs-newest figure hides. Counted up to READY_CHECK_LIMIT.
   */
  readonly readyUnpublished: number;
  /** Partitions with input on disk before that window and nothing published: serve never runs them by itself. */
  readonly beforeWindow: number;
  /** Start of serve's window for this analyzer (ISO). */
  readonly windowStart: string;
}

/** Most unpublished partitions checked for readiness per call (each check lists folders). */
export const READY_CHECK_LIMIT = 2000;

function isReady(project: Project, analyzer: Analyzer, p: Parameters<typeof resolveInputs>[2]): boolean {
  try {
    resolveInputs(project, analyzer, p);
    return true;
  } catch {
    return false;
  }
}

/** Compute an analyzer's lag from the files on disk and the state store. */
export async function analyzerLag(
  project: Project,
  store: StateStore,
  analyzer: Analyzer,
  now = new Date(),
): Promise<Lag> {
  const candidates = candidatePartitions(project, analyzer, new Date(0));
  let newestReady: (typeof candidates)[number] | undefined;
  for (let i = candidates.length - 1; i >= 0 && i >= candidates.length - 72; i--) {
    if (isReady(project, analyzer, candidates[i]!)) {
      newestReady = candidates[i];
      break;
    }
  }
  const publishedIds = new Set(
    (await store.listPartitions(analyzer.name)).filter((p) => p.published_seq !== null).map((p) => p.partition_id),
  );
  const published = [...publishedIds].sort();
  const newestPublishedId = published.at(-1) ?? null;
  const newestPublished = newestPublishedId ? parsePartition(newestPublishedId, analyzer.grain) : undefined;
  let seconds = 0;
  if (newestReady) {
    const behindFrom = newestPublished ? newestPublished.end : candidates[0]!.start;
    seconds = Math.max(0, (newestReady.end.getTime() - behindFrom.getTime()) / 1000);
  }
  const since = considerFrom(analyzer, project.config.serve.lookbackHours, now);
  let readyUnpublished = 0;
  let checked = 0;
  let beforeWindow = 0;
  for (const p of candidates) {
    if (publishedIds.has(p.id)) continue;
    if (p.start < since) {
      beforeWindow++;
      continue;
    }
    if (checked++ >= READY_CHECK_LIMIT) break;
    if (isReady(project, analyzer, p)) readyUnpublished++;
  }
  return {
    analyzer: analyzer.name,
    newestReady: newestReady?.id ?? null,
    newestPublished: newestPublishedId,
    seconds,
    readyUnpublished,
    beforeWindow,
    windowStart: since.toISOString(),
  };
}

/** Lag in words: 'caught up' only when nothing ready is unpublished. */
export function lagWords(l: Pick<Lag, 'seconds' | 'readyUnpublished'>): string {
  const behind =
    l.seconds === 0
      ? ''
      : l.seconds >= 2 * 86_400
        ? `${(l.seconds / 86_400).toFixed(1)} d behind`
        : l.seconds >= 3600
          ? `${(l.seconds / 3600).toFixed(1)} h behind`
          : `${Math.max(1, Math.round(l.seconds / 60))} min behind`;
  const gaps = l.readyUnpublished ? `${l.readyUnpublished} ready, unpublished` : '';
  return [behind, gaps].filter(Boolean).join('; ') || 'caught up';
}
