import { RecountError } from '../errors.ts';
import { ident } from '../engine/sql.ts';

/** How far two FLOAT/DOUBLE values may differ and still count as equal: |a-b| <= abs + rel * max(|a|, |b|). */
export interface Tolerance {
  readonly abs: number;
  readonly rel: number;
}

/** The default: a float sum recomputed in another order may differ in its last bits (about 1e-15 relative), nothing more. */
export const DEFAULT_TOLERANCE: Tolerance = { abs: 0, rel: 1e-9 };

/** No tolerance at all: every bit counts. */
export const EXACT: Tolerance = { abs: 0, rel: 0 };

/** Parse a tolerance option (`--abs`, `--rel`): a finite, non-negative number. */
export function parseToleranceValue(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new RecountError('USAGE', `${name} must be a non-negative number, got '${value}'`, {
        subject: name,
        hint: `for example ${name} 1e-9`,
      });
    }
    return n;
  };
}

/**
 * SQL that is true when the float columns `a` and `b` differ beyond the tolerance. NULL equals NULL and
 * NaN equals NaN (a NaN that stays NaN is not a change).
 */
export function floatDiffersSql(a: string, b: string, tol: Tolerance): string {
  const same = `(${a} IS NULL AND ${b} IS NULL) OR (${a} IS NOT NULL AND ${b} IS NOT NULL AND (${a} = ${b} OR (isnan(${a}) AND isnan(${b})) OR abs(${a} - ${b}) <= ${tol.abs} + ${tol.rel} * greatest(abs(${a}), abs(${b}))))`;
  return `NOT coalesce(${same}, false)`;
}

/** A column reference on one side of a join: `a."total_bid"`. */
export function sideRef(side: string, column: string): string {
  return `${side}.${ident(column)}`;
}
