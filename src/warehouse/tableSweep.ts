import { parsePartition } from '../catalog/partition.ts';
import type { LoadRow } from '../state/types.ts';
import { keyPlan, valuePlan } from './checksum.ts';
import type { TableSummary } from './monitorReport.ts';
import { checkLoadedPartition } from './partitionCheck.ts';
import { partitionPredicate } from './partitionColumns.ts';
import { schemaDrift } from './schemaDrift.ts';
import type { SweepContext } from './sweepContext.ts';
import { quoteTable } from './typeMap.ts';
import type { LoadRecord, PartitionStats, TableRecord, WarehouseColumn } from './warehouse.ts';

type Swept = Omit<TableSummary, 'problems'>;

/** What the state store says of the analyzer's partitions: published versions and loads owed or failed. */
class StoreView {
  constructor(
    readonly published: Map<string, number>,
    readonly owed: Map<string, LoadRow>,
  ) {}

  static async read(ctx: SweepContext): Promise<StoreView> {
    const published = new Map<string, number>();
    for (const p of await ctx.store.listPartitions(ctx.name))
      if (p.published_seq !== null) published.set(p.partition_id, Number(p.published_seq));
    const owed = await ctx.store.loads.pending({ analyzer: ctx.name, includeFailed: true });
    return new StoreView(published, new Map(owed.map((l) => [l.partition_id, l])));
  }

  /** Why a partition is not (yet) loaded, when its load is pending: appended to a finding's detail. */
  why(p: string): string {
    const l = this.owed.get(p);
    return l?.status === 'pending'
      ? `; its load is pending${l.error_code ? `: [${l.error_code}] ${l.error_message}` : ' (started, never finished)'}`
      : '';
  }
}

// A load that needs a fix first is a finding of its own, with the error that stopped it.
function reportFailedLoads(ctx: SweepContext, view: StoreView): void {
  for (const l of view.owed.values()) {
    if (l.status === 'failed')
      ctx.add(
        l.partition_id,
        'load_failed',
        `loading v${l.version_seq} failed: [${l.error_code}] ${l.error_message}`,
        `${l.error_hint ? `${l.error_hint.replace(/[.;\s]+$/, '')}; then: ` : 'after the fix: '}${ctx.load(l.partition_id)}`,
      );
  }
}

// No table to sweep: recorded but dropped, or never loaded; every published version is owed to it.
function reportNoTable(ctx: SweepContext, view: StoreView, recorded: boolean): Swept {
  if (recorded)
    ctx.add(
      '*',
      'table_missing',
      `table ${ctx.table} is recorded in recount_tables but does not exist (dropped by hand?)`,
      `recount load ${ctx.name} --force`,
    );
  for (const [p, v] of view.published)
    ctx.add(p, 'not_loaded', `v${v} is published but not in ${ctx.table}${view.why(p)}`, ctx.load(p));
  return { table: ctx.table, analyzer: ctx.name, partitions: 0, rows: 0 };
}

// Columns changed by hand: named, and left out of the value checksum (its hashes expect the loaded types).
function reportDrift(ctx: SweepContext, record: TableRecord, columns: WarehouseColumn[]) {
  const drift = schemaDrift(record, columns, ctx.wh.dialect);
  for (const d of drift) {
    const what = d.found
      ? `is ${d.found}, but recount loads it as ${d.wanted}`
      : `is gone, but recount loads it as ${d.wanted}`;
    ctx.add(
      '*',
      'schema_changed',
      `column ${d.column} ${what} (changed by hand?): the next load fails${d.key ? '; rows are not checked until the key column is back' : ''}`,
      d.repair,
    );
  }
  return drift;
}

/** The DELETE that removes a partition's rows from the table. */
function deleteRowsSql(ctx: SweepContext, record: TableRecord, p: string): string {
  return `DELETE FROM ${quoteTable(ctx.table)} WHERE ${partitionPredicate(parsePartition(p, record.grain))}`;
}

// A partition with rows or a published version but no load recorded.
async function reportUnloaded(ctx: SweepContext, view: StoreView, record: TableRecord, st: PartitionStats) {
  const p = st.partition;
  const pub = view.published.get(p) ?? null;
  if (pub !== null)
    ctx.add(
      p,
      'not_loaded',
      `v${pub} is published but ${ctx.table} has no load of this partition${view.why(p)}`,
      ctx.load(p),
    );
  if (st.rows === 0) return;
  const partition = parsePartition(p, record.grain);
  const keys = await ctx.wh.keyCounts(record, partition, { atLeast: 1, limit: ctx.o.sample });
  ctx.add(
    p,
    'extra_rows',
    `${st.rows} rows (${keys.keys} keys) in a partition recount never loaded (written behind recount's back)`,
    pub !== null ? ctx.load(p) : deleteRowsSql(ctx, record, p),
    keys.sample,
    keys.keys,
  );
}

// A loaded partition whose version is not the published one.
function reportStaleLoad(ctx: SweepContext, view: StoreView, record: TableRecord, rec: LoadRecord): void {
  const p = rec.partition;
  const pub = view.published.get(p) ?? null;
  if (pub === null)
    ctx.add(
      p,
      'stale_version',
      `holds v${rec.version}, but no version of this partition is published`,
      `recount rollback ${ctx.name} --partition ${p} --version ${rec.version} (to publish it again), or remove its rows: ${deleteRowsSql(ctx, record, p)}`,
    );
  else if (rec.version !== pub)
    ctx.add(p, 'stale_version', `holds v${rec.version}, but v${pub} is published${view.why(p)}`, ctx.load(p));
}

/** Sweep one analyzer's table (its recount_tables row, if any): every partition published, loaded or present. */
export async function sweepTable(ctx: SweepContext, record: TableRecord | undefined): Promise<Swept> {
  const view = await StoreView.read(ctx);
  reportFailedLoads(ctx, view);
  const columns = record && (await ctx.wh.columns(ctx.table));
  if (!record || !columns) return reportNoTable(ctx, view, record !== undefined);
  const drift = reportDrift(ctx, record, columns);
  if (drift.some((d) => d.key)) return { table: ctx.table, analyzer: ctx.name, partitions: 0, rows: 0 };

  const key = keyPlan(record.columns, record.keys);
  const value = valuePlan(record.columns, new Set(drift.map((d) => d.column)));
  const loads = new Map((await ctx.wh.loads(ctx.table)).map((l) => [l.partition, l]));
  const stats = new Map((await ctx.wh.partitionStats(record, value)).map((s) => [s.partition, s]));
  let rows = 0;
  for (const p of [...new Set([...view.published.keys(), ...loads.keys(), ...stats.keys()])].sort()) {
    const rec = loads.get(p);
    const st: PartitionStats = stats.get(p) ?? { partition: p, rows: 0, checksum: '0', valueChecksum: '0' };
    rows += st.rows;
    if (!rec) {
      await reportUnloaded(ctx, view, record, st);
      continue;
    }
    reportStaleLoad(ctx, view, record, rec);
    const published = view.published.get(p) ?? null;
    await checkLoadedPartition(ctx, { record, id: p, published, loaded: rec, stats: st, key, value });
  }
  return { table: ctx.table, analyzer: ctx.name, partitions: stats.size, rows };
}
