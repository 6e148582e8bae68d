import { ADVISORY_PARTITION_BYTES, parseSparkBytes, SHUFFLE_PARTITIONS } from './oomRetry.ts';

/** Spark's setting of the fewest input partitions a file scan is cut into (its default: the cores). */
export const MIN_SCAN_PARTITIONS = 'spark.sql.files.minPartitionNum';

/** Spark's switch of adaptive query execution. */
const ADAPTIVE = 'spark.sql.adaptive.enabled';

/** Spark 4.1's default target size of a shuffle partition under adaptive execution. */
const DEFAULT_ADVISORY_BYTES = 64 * 2 ** 20;

/**
 * The session settings the checks' read-back of the staged files runs with, for `stagedBytes` in `files` files:
 * as many shuffle partitions as files (the query's, 200 by default, would be seconds of empty tasks). When the files
 * together are no larger than one shuffle partition of adaptive execution (the session's advisory size, which an
 * out-of-memory retry makes smaller), adaptive execution would coalesce the read-back's shuffle into about one
 * partition anyway: it is then planned as one from the start, read by one scan task. A window over one partition
 * satisfies the count over it, so the plan has one shuffle (by file, for the window) instead of two and its job one
 * stage less. With one partition adaptive execution has nothing to adapt, and is off: it would run every shuffle's
 * stage as a job of its own and plan again between them (measured: about 0.1 s of the read-back's 0.5 s). Every row
 * is read and checked as before; only the number of tasks changes.
 */
export function readBackConf(
  stagedBytes: number,
  files: number,
  session: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const oneTask = stagedBytes <= (parseSparkBytes(session[ADVISORY_PARTITION_BYTES]) ?? DEFAULT_ADVISORY_BYTES);
  return oneTask
    ? { [SHUFFLE_PARTITIONS]: '1', [MIN_SCAN_PARTITIONS]: '1', [ADAPTIVE]: 'false' }
    : { [SHUFFLE_PARTITIONS]: String(Math.max(1, files)) };
}

/** The session settings readBackConf reads. */
export const READ_BACK_CONF_KEYS = [ADVISORY_PARTITION_BYTES];
