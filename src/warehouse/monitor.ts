import { existsSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import type { Analyzer, Project } from '../config/project.ts';
import { parsePartition } from '../catalog/partition.ts';
import { MANIFEST_FILE, readManifest } from '../commit/manifest.ts';
import type { StateStore } from '../state/store.ts';
import { keyPlan, rowHashesOf } from './checksum.ts';
import { formatKey } from './loadProtocol.ts';
import { openScratchDuckDB, readVersion, versionChecksum, type ScratchDuckDB } from './scratchDuckdb.ts';
import type { KeyCount, LoadRecord, TableRecord, Warehouse } from './warehouse.ts';

/** What can be wrong with a partition of a loaded table. */
export type Problem =
  | 'duplicate_keys'
  | 'missing_rows'
  | 'extra_rows'
  | 'stale_version'
  | 'not_loaded'
  | 'load_failed'
  | 'table_missing';

/** One thing wrong, named by table, partition and sample keys. */
export interface Finding {
  readonly table: string;
  readonly analyzer: string;
  readonly partition: string;
  readonly problem: Problem;
  readonly detail: string;
  /** Up to `sample` keys showing it (with how many rows carry each, for duplicates). */
  readonly sampleKeys: KeyCount[];
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
  /** Partitions with more rows than this are diagnosed by counts only, without naming missing or extra keys. */
  readonly detailRowLimit?: number;
}

interface VersionFiles {
  readonly version: number;
  readonly files: string[];
}

// Retained version folders of a partition that still hold their files, newest first.
async function keptVersions(store: StateStore, analyzer: string, partition: string): Promise<VersionFiles[]> {
  const out: VersionFiles[] = [];
  for (const v of await store.listVersions(analyzer, partition)) {
    if (v.status === 'deleted' || !existsSync(join(v.dir, MANIFEST_FILE))) continue;
    const m = readManifest(v.dir)!;
    const files = m.files.map((f) => join(v.dir, f.path));
    if (files.every((f) => existsSync(f))) out.push({ version: Number(v.seq), files });
  }
  return out;
}

/**
 * Sweep every loaded table of the project, per partition: rows and key checksum against recount_loads (one
 * scan per table), the loaded version against the published one, and for a partition that differs, which
 * keys are duplicated, missing or extra — and whether its rows are those of another version (a stale
 * version written behind recount's back). Read-only.
 */
export async function sweepWarehouse(project: Project, store: StateStore, wh: Warehouse, opts: SweepOptions = {}): Promise<MonitorReport> {
  const sample = opts.sample ?? 5;
  const detailRowLimit = opts.detailRowLimit ?? 2_000_000;
  const findings: Finding[] = [];
  const tables: TableSummary[] = [];
  const records = await wh.tables();
  let scratch: ScratchDuckDB | undefined;
  const duckConn = async () => (scratch ??= await openScratchDuckDB()).connect();
  try {
    for (const analyzer of project.analyzers.values()) {
      if (!analyzer.load || (opts.analyzer && analyzer.name !== opts.analyzer)) continue;
      const before = findings.length;
      const summary = await sweepTable(analyzer, store, wh, records.find((r) => r.table === analyzer.load!.table), findings, { sample, detailRowLimit, duckConn });
      tables.push({ ...summary, problems: findings.length - before });
    }
  } finally {
    scratch?.close();
  }
  return { ok: findings.length === 0, warehouse: wh.display, tables, findings };
}

async function sweepTable(
  analyzer: Analyzer,
  store: StateStore,
  wh: Warehouse,
  record: TableRecord | undefined,
  findings: Finding[],
  o: { sample: number; detailRowLimit: number; duckConn: () => Promise<DuckDBConnection> },
): Promise<Omit<TableSummary, 'problems'>> {
  const table = analyzer.load!.table;
  const add = (partition: string, problem: Problem, detail: string, sampleKeys: KeyCount[] = []) => findings.push({ table, analyzer: analyzer.name, partition, problem, detail, sampleKeys: sampleKeys.slice(0, o.sample) });
  const published = new Map<string, number>();
  for (const p of await store.listPartitions(analyzer.name)) if (p.published_seq !== null) published.set(p.partition_id, Number(p.published_seq));
  const owed = new Map((await store.loads.pending({ analyzer: analyzer.name, includeFailed: true })).map((l) => [l.partition_id, l]));
  const why = (p: string) => {
    const l = owed.get(p);
    return l?.status === 'pending' ? `; its load is pending${l.error_code ? `: [${l.error_code}] ${l.error_message}` : ' (started, never finished)'}` : '';
  };
  // A load that needs a fix first is a finding of its own, with the error that stopped it.
  for (const l of owed.values()) {
    if (l.status === 'failed') add(l.partition_id, 'load_failed', `loading v${l.version_seq} failed: [${l.error_code}] ${l.error_message}`);
  }

  if (!record || !(await wh.columns(table))) {
    if (record) add('*', 'table_missing', `table ${table} is recorded in recount_tables but does not exist (dropped by hand?); reload with recount load ${analyzer.name} --force`);
    for (const [p, v] of published) add(p, 'not_loaded', `v${v} is published but not in ${table}${why(p)}`);
    return { table, analyzer: analyzer.name, partitions: 0, rows: 0 };
  }

  const loads = new Map((await wh.loads(table)).map((l) => [l.partition, l]));
  const stats = new Map((await wh.partitionStats(record)).map((s) => [s.partition, s]));
  const plan = keyPlan(record.columns, record.keys);
  const all = [...new Set([...published.keys(), ...loads.keys(), ...stats.keys()])].sort();
  let rows = 0;
  for (const p of all) {
    const pub = published.get(p) ?? null;
    const rec: LoadRecord | undefined = loads.get(p);
    const st = stats.get(p) ?? { partition: p, rows: 0, checksum: '0' };
    rows += st.rows;
    if (!rec) {
      if (pub !== null) add(p, 'not_loaded', `v${pub} is published but ${table} has no load of this partition${why(p)}`);
      if (st.rows > 0) add(p, 'extra_rows', `${st.rows} rows in a partition recount never loaded (written behind recount's back)`, await sampleOf(wh, record, p, o.detailRowLimit, st.rows));
      continue;
    }
    if (pub === null) add(p, 'stale_version', `holds v${rec.version}, but no version of this partition is published`);
    else if (rec.version !== pub) add(p, 'stale_version', `holds v${rec.version}, but v${pub} is published${why(p)}`);
    if (st.rows === rec.rows && st.checksum === rec.checksum) continue;

    // The rows are not those recount loaded: name the duplicated, missing and extra keys.
    const partition = parsePartition(p, analyzer.grain);
    const dups = await wh.duplicateKeys(record, partition, o.sample);
    if (dups.length) add(p, 'duplicate_keys', `keys held by more than one row (${st.rows} rows, v${rec.version} has ${rec.rows})`, dups);
    const kept = await keptVersions(store, analyzer.name, p);
    const loaded = kept.find((k) => k.version === rec.version);
    if (loaded && st.rows <= o.detailRowLimit) {
      const expected = await rowHashesOf(await o.duckConn(), readVersion(loaded.files), plan);
      const actual = await wh.rowHashes(record, partition);
      const missing = [...expected].filter(([h]) => !actual.has(h)).map(([, k]) => k);
      const extra = [...actual].filter(([h]) => !expected.has(h)).map(([, k]) => k);
      if (missing.length) add(p, 'missing_rows', `${missing.length} key(s) of v${rec.version} are not in the table`, missing);
      if (extra.length) add(p, 'extra_rows', `${extra.length} key(s) in the table are not in v${rec.version}`, extra);
    } else if (!dups.length) {
      const diff = st.rows - rec.rows;
      add(p, diff < 0 ? 'missing_rows' : 'extra_rows', `${st.rows} rows, v${rec.version} loaded ${rec.rows}${diff === 0 ? ' (same count, other keys)' : ''}${loaded ? '' : '; its files are no longer kept, so keys are not named'}`);
    }
    // Rows that are exactly another kept version's: a stale version written behind recount's back.
    for (const k of kept) {
      if (k.version === rec.version) continue;
      const c = await versionChecksum(await o.duckConn(), k.files, plan);
      if (c.rows === st.rows && c.checksum === st.checksum) {
        add(p, 'stale_version', `its rows are those of v${k.version}, not of v${rec.version} as recount_loads records${pub !== null ? ` (v${pub} is published)` : ''}: a stale version was written behind recount's back`);
        break;
      }
    }
  }
  return { table, analyzer: analyzer.name, partitions: stats.size, rows };
}

async function sampleOf(wh: Warehouse, record: TableRecord, p: string, limit: number, rows: number): Promise<KeyCount[]> {
  if (rows > limit) return [];
  const hashes = await wh.rowHashes(record, parsePartition(p, record.grain));
  return [...hashes.values()];
}

/** A finding as one line: table partition problem: detail, e.g. (ad_id=1, segment=seg_0). */
export function findingLine(f: Finding): string {
  const keys = f.sampleKeys.map((k) => `${formatKey(k.key)}${k.count > 1 ? ` x${k.count}` : ''}`).join(', ');
  return `${f.table} ${f.partition} ${f.problem}: ${f.detail}${keys ? `; e.g. ${keys}` : ''}`;
}
