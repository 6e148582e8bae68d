/** Errors that another attempt on the same input and SQL would hit again: never retried blindly. */
export const PERMANENT_ERRORS = new Set([
  'SQL_INVALID',
  'CHECK_FAILED',
  'KEY_FLOAT',
  'KEY_UNKNOWN',
  'INPUT_MISSING_COLUMN',
  'INPUT_SCHEMA_CHANGED',
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'ANALYZER_UNKNOWN',
  'PARTITION_INVALID',
]);

/** True when an error code is worth another attempt. */
export function isRetryable(code: string): boolean {
  return !PERMANENT_ERRORS.has(code);
}

/** Retry settings of an analyzer. */
export interface RetryPolicy {
  readonly max: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** Defaults when an analyzer sets none. */
export const DEFAULT_RETRY: RetryPolicy = { max: 3, backoffMs: 5_000, maxBackoffMs: 300_000 };

/** Delay before attempt n+1 after n failed ones: exponential, capped, half of it random ("equal jitter") so retries of many partitions spread out. */
export function backoffDelay(policy: RetryPolicy, attemptsMade: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
