import type { RecountError } from '../errors.ts';
import type { DiffReport } from '../diff/diffRelations.ts';

/** One partition of a shadow run: the candidate's version against production's. */
export interface ShadowPartition {
  readonly partition: string;
  readonly status: 'compared' | 'failed';
  readonly productionVersion: number | null;
  readonly shadowVersion: number | null;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly differs: boolean;
  readonly diff?: DiffReport;
  readonly error?: { code: string; message: string; hint?: string };
}

/** Counts over every partition of a shadow run. */
export interface ShadowTotals {
  partitions: number;
  compared: number;
  failed: number;
  differing: number;
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
}

/** The whole shadow run. */
export interface ShadowReport {
  readonly name: string;
  readonly analyzer: string;
  readonly definition: string;
  /** The engine the shadow ran on (`duckdb`, `spark`); each side of every diff is labelled with its own. */
  readonly engine: string;
  /** The namespace folder: `<output>/.recount/shadow/<name>`. */
  readonly namespace: string;
  readonly partitions: ShadowPartition[];
  readonly totals: ShadowTotals;
  /** True when some partition failed or differs from production beyond the tolerance. */
  readonly differs: boolean;
  /** What the user should know about how the candidate was run (e.g. its name was replaced). */
  readonly warnings: string[];
}

/** A partition that could not be compared: its run failed, or the diff did. It counts as differing. */
export function failedPartition(
  partition: string,
  versions: { production: number | null; shadow: number | null },
  e: RecountError,
): ShadowPartition {
  return {
    partition,
    status: 'failed',
    productionVersion: versions.production,
    shadowVersion: versions.shadow,
    added: 0,
    removed: 0,
    changed: 0,
    unchanged: 0,
    differs: true,
    error: { code: e.code, message: e.message, hint: e.hint },
  };
}

/** Add up the partitions of a shadow run. */
export function totalsOf(results: readonly ShadowPartition[]): ShadowTotals {
  const sum = (f: (r: ShadowPartition) => number) => results.reduce((s, r) => s + f(r), 0);
  return {
    partitions: results.length,
    compared: results.filter((r) => r.status === 'compared').length,
    failed: results.filter((r) => r.status === 'failed').length,
    differing: results.filter((r) => r.differs).length,
    added: sum((r) => r.added),
    removed: sum((r) => r.removed),
    changed: sum((r) => r.changed),
    unchanged: sum((r) => r.unchanged),
  };
}
