import { formatKey } from './formatKey.ts';
import type { KeyCount } from './warehouse.ts';

/** What can be wrong with a partition of a loaded table. */
export type Problem =
  | 'duplicate_keys'
  | 'missing_rows'
  | 'extra_rows'
  | 'changed_values'
  | 'stale_version'
  | 'not_loaded'
  | 'load_failed'
  | 'table_missing'
  | 'schema_changed';

/** One thing wrong, named by table, partition and sample keys, with what repairs it. */
export interface Finding {
  readonly table: string;
  readonly analyzer: string;
  /** The partition, or `*` for the whole table. */
  readonly partition: string;
  readonly problem: Problem;
  readonly detail: string;
  /** Up to `sample` keys showing it (with how many rows carry each, for duplicates). */
  readonly sampleKeys: KeyCount[];
  /** How many keys show it in all, when counted. */
  readonly keys?: number;
  /** The command (or statement) that repairs it. */
  readonly repair: string;
}

/** One table swept. */
export interface TableSummary {
  readonly table: string;
  readonly analyzer: string;
  readonly partitions: number;
  readonly rows: number;
  readonly problems: number;
}

/** The monitor's report: ok when no finding. */
export interface MonitorReport {
  readonly ok: boolean;
  readonly warehouse: string;
  readonly tables: TableSummary[];
  readonly findings: Finding[];
}

/** Options of a sweep. */
export interface SweepOptions {
  readonly analyzer?: string;
  /** Sample keys per finding. */
  readonly sample?: number;
  /**
   * Partitions with more rows than this are diagnosed by counts only, without naming missing, extra or changed
   * keys: the diff holds about 26 bytes per row of the version (2 M rows: about 50 MB).
   */
  readonly detailRowLimit?: number;
}

/** A finding as one line: table partition problem: detail, e.g. (ad_id=1, segment=seg_0); repair: … */
export function findingLine(f: Finding): string {
  const keys = f.sampleKeys.map((k) => `${formatKey(k.key)}${k.count > 1 ? ` x${k.count}` : ''}`).join(', ');
  return `${f.table} ${f.partition} ${f.problem}: ${f.detail}${keys ? `; e.g. ${keys}` : ''}; repair: ${f.repair}`;
}
