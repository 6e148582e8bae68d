/** The outcome of one check over staged output. */
export interface CheckResult {
  readonly name: string;
  readonly kind: 'builtin' | 'custom';
  /** `error` blocks the publish; `warn` does not. */
  readonly severity: 'error' | 'warn';
  readonly passed: boolean;
  /** How many rows (or keys) fail. */
  readonly failing: number;
  /** Up to 10 failing rows. */
  readonly sample: Record<string, unknown>[];
  readonly message?: string;
}

/** Most failing rows a check keeps as its sample. */
export const SAMPLE_ROWS = 10;

/** True when any blocking check failed. */
export function blocksPublish(results: readonly CheckResult[]): boolean {
  return results.some((r) => !r.passed && r.severity === 'error');
}
