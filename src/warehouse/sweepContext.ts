import type { DuckDBConnection } from '@duckdb/node-api';
import type { Analyzer } from '../config/project.ts';
import type { StateStore } from '../state/store.ts';
import type { Finding, Problem } from './monitorReport.ts';
import type { KeyCount, Warehouse } from './warehouse.ts';

/** A sweep's settings: sample keys per finding, the row limit for naming keys, and the scratch DuckDB it reads versions on. */
export interface SweepSettings {
  readonly sample: number;
  readonly detailRowLimit: number;
  readonly duckConn: () => Promise<DuckDBConnection>;
}

/** What the sweep of one analyzer's table works with, and where its findings go. */
export class SweepContext {
  readonly table: string;
  readonly name: string;

  constructor(
    analyzer: Analyzer,
    readonly store: StateStore,
    readonly wh: Warehouse,
    private readonly findings: Finding[],
    readonly o: SweepSettings,
  ) {
    this.table = analyzer.load!.table;
    this.name = analyzer.name;
  }

  /** Record a finding of this table (at most `sample` sample keys). */
  add(partition: string, problem: Problem, detail: string, repair: string, sampleKeys: KeyCount[] = [], keys?: number) {
    this.findings.push({
      table: this.table,
      analyzer: this.name,
      partition,
      problem,
      detail,
      sampleKeys: sampleKeys.slice(0, this.o.sample),
      ...(keys !== undefined ? { keys } : {}),
      repair,
    });
  }

  /** The command that reloads a partition's published version over whatever the table holds. */
  reload(p: string): string {
    return `recount load ${this.name} --partition ${p} --force`;
  }

  /** The command that loads a partition's published version. */
  load(p: string): string {
    return `recount load ${this.name} --partition ${p}`;
  }
}
