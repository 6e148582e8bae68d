import type { DuckDBConnection } from '@duckdb/node-api';
import type { Project } from '../config/project.ts';
import type { StateStore } from '../state/store.ts';
import type { Finding, MonitorReport, SweepOptions, TableSummary } from './monitorReport.ts';
import { openScratchDuckDB, type ScratchDuckDB } from './scratchDuckdb.ts';
import { SweepContext } from './sweepContext.ts';
import { sweepTable } from './tableSweep.ts';
import type { Warehouse } from './warehouse.ts';

export {
  type Finding,
  findingLine,
  type MonitorReport,
  type Problem,
  type SweepOptions,
  type TableSummary,
} from './monitorReport.ts';

/**
 * Sweep every loaded table of the project, per partition: rows, key checksum and value checksum in one scan
 * per table, against recount_loads and against the loaded version's own files (their checksums cached in the
 * state store); the loaded version against the published one; columns changed by hand. For a partition that
 * differs: which keys are duplicated, missing, extra or hold other values, or whether its rows are exactly
 * another kept version's (a stale version written behind recount's back). Every finding says what repairs it.
 * Read-only on the warehouse.
 */
export async function sweepWarehouse(
  project: Project,
  store: StateStore,
  wh: Warehouse,
  opts: SweepOptions = {},
): Promise<MonitorReport> {
  const o = { sample: opts.sample ?? 5, detailRowLimit: opts.detailRowLimit ?? 2_000_000 };
  const findings: Finding[] = [];
  const tables: TableSummary[] = [];
  const records = await wh.tables();
  let scratch: ScratchDuckDB | undefined;
  let conn: DuckDBConnection | undefined;
  const duckConn = async () => (conn ??= await (scratch ??= await openScratchDuckDB()).connect());
  try {
    for (const analyzer of project.analyzers.values()) {
      if (!analyzer.load || (opts.analyzer && analyzer.name !== opts.analyzer)) continue;
      const before = findings.length;
      const ctx = new SweepContext(analyzer, store, wh, findings, { ...o, duckConn });
      const summary = await sweepTable(
        ctx,
        records.find((r) => r.table === analyzer.load!.table),
      );
      tables.push({ ...summary, problems: findings.length - before });
    }
  } finally {
    scratch?.close();
  }
  return { ok: findings.length === 0, warehouse: wh.display, tables, findings };
}
