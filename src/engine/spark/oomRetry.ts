// How a Spark attempt adapts after its partition ran out of memory: smaller tasks. Executor and driver memory are
// static settings of the Spark application (fixed when its JVMs started), so a Spark Connect session cannot raise
// them; what it can change at run time is how much data each task holds.

/** Spark's settings an out-of-memory retry changes. */
export const SHUFFLE_PARTITIONS = 'spark.sql.shuffle.partitions';
export const ADVISORY_PARTITION_BYTES = 'spark.sql.adaptive.advisoryPartitionSizeInBytes';
export const MAX_PARTITION_BYTES = 'spark.sql.files.maxPartitionBytes';
export const BROADCAST_THRESHOLD = 'spark.sql.autoBroadcastJoinThreshold';

/** Spark 4.1's defaults of those, for an analyzer that sets none. */
const DEFAULTS = {
  [SHUFFLE_PARTITIONS]: 200,
  [ADVISORY_PARTITION_BYTES]: 64 * 2 ** 20,
  [MAX_PARTITION_BYTES]: 128 * 2 ** 20,
} as const;

/** Bounds: past them more, smaller tasks cost more than they save. */
export const MAX_SHUFFLE_PARTITIONS = 8192;
const MIN_PARTITION_BYTES = 4 * 2 ** 20;
/** Out-of-memory attempts in a row that still change anything (2^4 = 16 times the partitions). */
const MAX_STEPS = 4;

const UNITS: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Bytes of a Spark size setting (`134217728`, `128m`, `64MB`, `1g`); undefined when it is not one. */
export function parseSparkBytes(text: string | undefined): number | undefined {
  const m = /^\s*(\d+)\s*([bkmgt])?b?\s*$/i.exec(text ?? '');
  return m ? Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]! : undefined;
}

/**
 * How many of a partition's latest attempts, newest first, ran out of memory in a row (an attempt still running
 * is skipped): the retry's step of adaptation. Any other outcome ends the streak.
 */
export function outOfMemoryStreak(newestFirst: readonly { status: string; error_code: string | null }[]): number {
  let n = 0;
  for (const a of newestFirst) {
    if (a.status === 'running') continue;
    if (a.error_code !== 'OUT_OF_MEMORY') break;
    n++;
  }
  return n;
}

/**
 * The session settings of a Spark attempt after `streak` out-of-memory attempts of its partition in a row
 * (undefined when there were none): 2^streak times the shuffle partitions, shuffle and input partitions
 * 2^streak times smaller (adaptive execution would otherwise coalesce the partitions back to the same size),
 * and no broadcast joins (a broadcast table is held whole by the driver and every executor). `conf` is the
 * analyzer's own Spark conf, which the adaptation starts from.
 */
export function sparkConfAfterOutOfMemory(
  streak: number,
  conf: Readonly<Record<string, string>> = {},
): Record<string, string> | undefined {
  if (streak <= 0) return undefined;
  const factor = 2 ** Math.min(streak, MAX_STEPS);
  const partitions = Number(conf[SHUFFLE_PARTITIONS]) || DEFAULTS[SHUFFLE_PARTITIONS];
  const smaller = (key: typeof ADVISORY_PARTITION_BYTES | typeof MAX_PARTITION_BYTES) => {
    const bytes = parseSparkBytes(conf[key]) ?? DEFAULTS[key];
    return String(Math.max(Math.min(bytes, MIN_PARTITION_BYTES), Math.floor(bytes / factor)));
  };
  return {
    [SHUFFLE_PARTITIONS]: String(Math.max(partitions, Math.min(MAX_SHUFFLE_PARTITIONS, partitions * factor))),
    [ADVISORY_PARTITION_BYTES]: smaller(ADVISORY_PARTITION_BYTES),
    [MAX_PARTITION_BYTES]: smaller(MAX_PARTITION_BYTES),
    [BROADCAST_THRESHOLD]: '-1',
  };
}

/** One line for the attempt's warnings and logs: what the retry changed and why. */
export function describeSparkAdaptation(streak: number, conf: Readonly<Record<string, string>>): string {
  const settings = Object.entries(conf)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `after ${streak} out-of-memory attempt${streak === 1 ? '' : 's'} of this partition, Spark runs with smaller tasks: ${settings}`;
}
