import type { Partition } from '../catalog/partition.ts';
import type { Analyzer, Project } from '../config/project.ts';
import { resolveInputs } from './fingerprint.ts';

/** An input smaller than this, in all, runs on one DuckDB thread when the threads were not set (attemptThreads). */
export const ONE_THREAD_INPUT_BYTES = 8 * 1024 * 1024;

/**
 * The DuckDB threads of an attempt. Threads someone set are kept: the analyzer's own `threads`, `--threads`, the
 * halved threads of a retry after out of memory. The project's default is the most an attempt uses: an input
 * under ONE_THREAD_INPUT_BYTES runs on one. DuckDB splits a Parquet scan by row group, and a few MB of events are
 * one or two row groups, so a second thread adds only its scheduling: on 100 hourly partitions of 4,000 events a
 * backfill took 20-30 % less time and 15 % less CPU on one thread than on two (2-core machine). An input that
 * cannot be resolved keeps the default (the attempt then fails on it, where it names what is missing). DuckDB
 * attempts only: a Spark attempt's parallelism is the cluster's.
 */
export function attemptThreads(
  project: Project,
  analyzer: Analyzer,
  partition: Partition,
  opts: { threads?: number; fitThreads?: boolean },
): number {
  const threads = opts.threads ?? analyzer.threadCount;
  const fit = analyzer.threads === undefined && (opts.threads === undefined || opts.fitThreads === true);
  if (!fit || threads === 1) return threads;
  try {
    const bytes = resolveInputs(project, analyzer, partition)
      .flatMap((r) => r.files)
      .reduce((sum, f) => sum + f.size, 0);
    return bytes < ONE_THREAD_INPUT_BYTES ? 1 : threads;
  } catch {
    return threads;
  }
}
