/** Median of a non-empty list (mean of the middle two for an even count); NaN for an empty one. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Milliseconds with one decimal, for printing and CSV (sub-ms noise is not information). */
export function ms(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Bytes as MB with one decimal. */
export function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

/** `value` against a target: "PASS" or "MISS", for the printed summary. */
export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}
