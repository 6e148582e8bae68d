/** Row counts of one side. */
export interface SideSummary {
  readonly label: string;
  readonly rows: number;
  readonly distinctKeys: number;
  /** Keys that appear more than once. */
  readonly duplicatedKeys: number;
  /** Rows beyond the first of each key: rows - distinctKeys. */
  readonly extraRows: number;
}

/**
 * The tell-tale of a bad retry (SPARK-23207, the second seed): one side holds as many extra copies of keys
 * as it lacks keys of the other, so its row count can even look right. Rows were recomputed on retry, dealt
 * to other files than the first time, and only some files were rewritten.
 */
export interface BadRetry {
  /** The side that holds the duplicates and lacks the keys. */
  readonly side: 'from' | 'to';
  readonly label: string;
  /** Rows beyond the first of each duplicated key. */
  readonly duplicated: number;
  /** Keys of the other side that this side lacks. */
  readonly missing: number;
  /** Whether both sides hold the same number of rows (they do when nothing else changed). */
  readonly sameRowCount: boolean;
  readonly message: string;
}

/** Name the bad-retry pattern when one side's extra rows equal the keys it lacks (and both are more than zero). */
export function detectBadRetry(
  from: SideSummary,
  to: SideSummary,
  added: number,
  removed: number,
): BadRetry | undefined {
  const candidates: [BadRetry['side'], SideSummary, SideSummary, number][] = [
    ['to', to, from, removed],
    ['from', from, to, added],
  ];
  for (const [side, bad, other, missing] of candidates) {
    if (bad.extraRows > 0 && bad.extraRows === missing) {
      const sameRowCount = bad.rows === other.rows;
      return {
        side,
        label: bad.label,
        duplicated: bad.extraRows,
        missing,
        sameRowCount,
        message:
          `bad-retry pattern: ${bad.label} holds ${bad.extraRows} duplicate row(s) and lacks ${missing} key(s) of ${other.label}` +
          `${sameRowCount ? ', with the same row count' : ''} — as many duplicated as missing, the signature of a retry that recomputed rows, ` +
          `dealt them to other files and rewrote only some files (SPARK-23207)`,
      };
    }
  }
  return undefined;
}
