import type { DuckDBConnection } from '@duckdb/node-api';
import { thousands } from '../config/size.ts';
import type { Analyzer, Project } from '../config/project.ts';
import { parsePartition } from '../catalog/partition.ts';
import type { StateStore } from '../state/store.ts';
import { keyPlan, valuePlan, type HashPlanEntry, type RowsChecksums } from './checksum.ts';
import { keptVersionChecksums, keptVersions, versionDiffSide, type KeptVersion } from './keptVersions.ts';
import { formatKey } from './formatKey.ts';
import { diffPartition, type DiffSide } from './monitorDiff.ts';
import { partitionPredicate } from './partitionColumns.ts';
import { schemaDrift } from './schemaDrift.ts';
import { openScratchDuckDB, type ScratchDuckDB } from './scratchDuckdb.ts';
import { quoteTable } from './typeMap.ts';
import type { KeyCount, LoadRecord, PartitionStats, TableRecord, Warehouse } from './warehouse.ts';

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
      const summary = await new TableSweep(analyzer, store, wh, findings, { ...o, duckConn }).run(
        records.find((r) => r.table === analyzer.load!.table),
      );
      tables.push({ ...summary, problems: findings.length - before });
    }
  } finally {
    scratch?.close();
  }
  return { ok: findings.length === 0, warehouse: wh.display, tables, findings };
}

// The sweep of one analyzer's table.
class TableSweep {
  private readonly table: string;
  private readonly name: string;

  constructor(
    private readonly analyzer: Analyzer,
    private readonly store: StateStore,
    private readonly wh: Warehouse,
    private readonly findings: Finding[],
    private readonly o: { sample: number; detailRowLimit: number; duckConn: () => Promise<DuckDBConnection> },
  ) {
    this.table = analyzer.load!.table;
    this.name = analyzer.name;
  }

  private add(
    partition: string,
    problem: Problem,
    detail: string,
    repair: string,
    sampleKeys: KeyCount[] = [],
    keys?: number,
  ): void {
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

  private reload(p: string): string {
    return `recount load ${this.name} --partition ${p} --force`;
  }

  async run(record: TableRecord | undefined): Promise<Omit<TableSummary, 'problems'>> {
    const { table, name } = this;
    const published = new Map<string, number>();
    for (const p of await this.store.listPartitions(name))
      if (p.published_seq !== null) published.set(p.partition_id, Number(p.published_seq));
    const owed = new Map(
      (await this.store.loads.pending({ analyzer: name, includeFailed: true })).map((l) => [l.partition_id, l]),
    );
    const why = (p: string) => {
      const l = owed.get(p);
      return l?.status === 'pending'
        ? `; its load is pending${l.error_code ? `: [${l.error_code}] ${l.error_message}` : ' (started, never finished)'}`
        : '';
    };
    // A load that needs a fix first is a finding of its own, with the error that stopped it.
    for (const l of owed.values()) {
      if (l.status === 'failed')
        this.add(
          l.partition_id,
          'load_failed',
          `loading v${l.version_seq} failed: [${l.error_code}] ${l.error_message}`,
          `${l.error_hint ? `${l.error_hint.replace(/[.;\s]+$/, '')}; then: ` : 'after the fix: '}recount load ${name} --partition ${l.partition_id}`,
        );
    }

    const columns = record && (await this.wh.columns(table));
    if (!record || !columns) {
      if (record)
        this.add(
          '*',
          'table_missing',
          `table ${table} is recorded in recount_tables but does not exist (dropped by hand?)`,
          `recount load ${name} --force`,
        );
      for (const [p, v] of published)
        this.add(
          p,
          'not_loaded',
          `v${v} is published but not in ${table}${why(p)}`,
          `recount load ${name} --partition ${p}`,
        );
      return { table, analyzer: name, partitions: 0, rows: 0 };
    }

    // Columns changed by hand: named, and left out of the value checksum (its hashes expect the loaded types).
    const drift = schemaDrift(record, columns, this.wh.dialect);
    for (const d of drift) {
      const what = d.found
        ? `is ${d.found}, but recount loads it as ${d.wanted}`
        : `is gone, but recount loads it as ${d.wanted}`;
      this.add(
        '*',
        'schema_changed',
        `column ${d.column} ${what} (changed by hand?): the next load fails${d.key ? '; rows are not checked until the key column is back' : ''}`,
        d.repair,
      );
    }
    if (drift.some((d) => d.key)) return { table, analyzer: name, partitions: 0, rows: 0 };

    const key = keyPlan(record.columns, record.keys);
    const value = valuePlan(record.columns, new Set(drift.map((d) => d.column)));
    const loads = new Map((await this.wh.loads(table)).map((l) => [l.partition, l]));
    const stats = new Map((await this.wh.partitionStats(record, value)).map((s) => [s.partition, s]));
    const all = [...new Set([...published.keys(), ...loads.keys(), ...stats.keys()])].sort();
    let rows = 0;
    for (const p of all) {
      const pub = published.get(p) ?? null;
      const rec = loads.get(p);
      const st: PartitionStats = stats.get(p) ?? { partition: p, rows: 0, checksum: '0', valueChecksum: '0' };
      rows += st.rows;
      if (!rec) {
        if (pub !== null)
          this.add(
            p,
            'not_loaded',
            `v${pub} is published but ${table} has no load of this partition${why(p)}`,
            `recount load ${name} --partition ${p}`,
          );
        if (st.rows > 0) {
          const keys = await this.wh.keyCounts(record, parsePartition(p, record.grain), {
            atLeast: 1,
            limit: this.o.sample,
          });
          const repair =
            pub !== null
              ? `recount load ${name} --partition ${p}`
              : `DELETE FROM ${quoteTable(table)} WHERE ${partitionPredicate(parsePartition(p, record.grain))}`;
          this.add(
            p,
            'extra_rows',
            `${st.rows} rows (${keys.keys} keys) in a partition recount never loaded (written behind recount's back)`,
            repair,
            keys.sample,
            keys.keys,
          );
        }
        continue;
      }
      if (pub === null)
        this.add(
          p,
          'stale_version',
          `holds v${rec.version}, but no version of this partition is published`,
          `recount rollback ${name} --partition ${p} --version ${rec.version} (to publish it again), or remove its rows: DELETE FROM ${quoteTable(table)} WHERE ${partitionPredicate(parsePartition(p, record.grain))}`,
        );
      else if (rec.version !== pub)
        this.add(
          p,
          'stale_version',
          `holds v${rec.version}, but v${pub} is published${why(p)}`,
          `recount load ${name} --partition ${p}`,
        );
      await this.partition(record, p, pub, rec, st, key, value);
    }
    return { table, analyzer: name, partitions: stats.size, rows };
  }

  // A partition recount loaded: are its rows those of the version recount_loads records?
  private async partition(
    record: TableRecord,
    p: string,
    pub: number | null,
    rec: LoadRecord,
    st: PartitionStats,
    key: HashPlanEntry[],
    value: HashPlanEntry[],
  ): Promise<void> {
    const keysOk = st.rows === rec.rows && st.checksum === rec.checksum;
    const kept = await keptVersions(this.store, this.name, p);
    const loaded = kept.find((k) => k.version === rec.version);
    const sums = async (k: KeptVersion): Promise<RowsChecksums | undefined> => {
      try {
        return await keptVersionChecksums(this.store, await this.o.duckConn(), k, key, value);
      } catch {
        // Files that cannot be read (changed since publish) compare with nothing; a load of them says why.
        return undefined;
      }
    };
    const expected = loaded && (await sums(loaded));
    if (keysOk && (!expected || expected.valueChecksum === st.valueChecksum)) return;

    // Rows that are exactly another kept version's: a stale version written behind recount's back.
    for (const k of kept) {
      if (k.version === rec.version) continue;
      const c = await sums(k);
      if (c && c.rows === st.rows && c.checksum === st.checksum && c.valueChecksum === st.valueChecksum) {
        this.add(
          p,
          'stale_version',
          `its rows are those of v${k.version}, not of v${rec.version} as recount_loads records${pub !== null ? ` (v${pub} is published)` : ''}: a stale version was written behind recount's back`,
          this.reload(p),
        );
        return;
      }
    }

    const partition = parsePartition(p, record.grain);
    let dups = 0;
    if (!keysOk) {
      const d = await this.wh.keyCounts(record, partition, { atLeast: 2, limit: this.o.sample });
      dups = d.keys;
      if (d.keys)
        this.add(
          p,
          'duplicate_keys',
          `${d.keys} key(s) held by more than one row (${d.rows} rows for them; the partition has ${st.rows} rows, v${rec.version} has ${rec.rows})`,
          this.reload(p),
          d.sample,
          d.keys,
        );
    }
    if (loaded && expected && Math.max(st.rows, expected.rows) <= this.o.detailRowLimit) {
      const tableSide: DiffSide = {
        scan: (sink) => this.wh.scanRowHashes(record, partition, value, sink),
        keysOf: (hashes) => this.wh.keysOfHashes(record, partition, hashes),
      };
      const diff = await diffPartition(
        await versionDiffSide(await this.o.duckConn(), loaded, key, value),
        tableSide,
        expected.rows,
        this.o.sample,
      );
      const v = `v${rec.version}`;
      if (diff.missing.count)
        this.add(
          p,
          'missing_rows',
          `${diff.missing.count} key(s) of ${v} are not in the table`,
          this.reload(p),
          diff.missing.sample,
          diff.missing.count,
        );
      if (diff.extra.count)
        this.add(
          p,
          'extra_rows',
          `${diff.extra.count} key(s) in the table are not in ${v}`,
          this.reload(p),
          diff.extra.sample,
          diff.extra.count,
        );
      if (diff.changed.count)
        this.add(
          p,
          'changed_values',
          `${diff.changed.count} key(s) hold other values than in ${v} (changed behind recount's back)`,
          this.reload(p),
          diff.changed.sample,
          diff.changed.count,
        );
      return;
    }
    const why = loaded
      ? `the partition has more than ${thousands(this.o.detailRowLimit)} rows, so keys are not named`
      : 'its files are no longer kept, so keys are not named';
    if (keysOk) {
      this.add(
        p,
        'changed_values',
        `the keys are those of v${rec.version} but the values differ (changed behind recount's back); ${why}`,
        this.reload(p),
      );
    } else if (!dups) {
      const diff = st.rows - rec.rows;
      this.add(
        p,
        diff < 0 ? 'missing_rows' : 'extra_rows',
        `${st.rows} rows, v${rec.version} loaded ${rec.rows}${diff === 0 ? ' (same count, other keys)' : ''}; ${why}`,
        this.reload(p),
      );
    }
  }
}

/** A finding as one line: table partition problem: detail, e.g. (ad_id=1, segment=seg_0); repair: … */
export function findingLine(f: Finding): string {
  const keys = f.sampleKeys.map((k) => `${formatKey(k.key)}${k.count > 1 ? ` x${k.count}` : ''}`).join(', ');
  return `${f.table} ${f.partition} ${f.problem}: ${f.detail}${keys ? `; e.g. ${keys}` : ''}; repair: ${f.repair}`;
}
