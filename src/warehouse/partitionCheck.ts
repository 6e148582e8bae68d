import { parsePartition } from '../catalog/partition.ts';
import { thousands } from '../config/size.ts';
import type { HashPlanEntry, RowsChecksums } from './checksum.ts';
import { type KeptVersion, keptVersionChecksums, keptVersions, versionDiffSide } from './keptVersions.ts';
import { type DiffSide, diffPartition } from './monitorDiff.ts';
import type { SweepContext } from './sweepContext.ts';
import type { LoadRecord, PartitionStats, TableRecord } from './warehouse.ts';

/** A partition recount loaded, as the sweep found it. */
export interface LoadedPartition {
  readonly record: TableRecord;
  readonly id: string;
  /** The published version, or null. */
  readonly published: number | null;
  /** Its recount_loads row. */
  readonly loaded: LoadRecord;
  readonly stats: PartitionStats;
  readonly key: HashPlanEntry[];
  readonly value: HashPlanEntry[];
}

/** Checksums of a kept version's files; undefined when they cannot be read (changed since publish). */
async function keptChecksums(ctx: SweepContext, lp: LoadedPartition, k: KeptVersion) {
  try {
    return await keptVersionChecksums(ctx.store, await ctx.o.duckConn(), k, lp.key, lp.value);
  } catch {
    // Files that cannot be read compare with nothing; a load of them says why.
    return undefined;
  }
}

/** Whether the rows are exactly another kept version's (a stale version written behind recount's back); reported. */
async function foundStaleVersion(ctx: SweepContext, lp: LoadedPartition, kept: KeptVersion[]): Promise<boolean> {
  const { stats: st, loaded: rec, published: pub } = lp;
  for (const k of kept) {
    if (k.version === rec.version) continue;
    const c = await keptChecksums(ctx, lp, k);
    if (c && c.rows === st.rows && c.checksum === st.checksum && c.valueChecksum === st.valueChecksum) {
      ctx.add(
        lp.id,
        'stale_version',
        `its rows are those of v${k.version}, not of v${rec.version} as recount_loads records${pub !== null ? ` (v${pub} is published)` : ''}: a stale version was written behind recount's back`,
        ctx.reload(lp.id),
      );
      return true;
    }
  }
  return false;
}

/** Keys held by more than one row, reported; how many there are. */
async function reportDuplicateKeys(ctx: SweepContext, lp: LoadedPartition): Promise<number> {
  const partition = parsePartition(lp.id, lp.record.grain);
  const d = await ctx.wh.keyCounts(lp.record, partition, { atLeast: 2, limit: ctx.o.sample });
  if (d.keys)
    ctx.add(
      lp.id,
      'duplicate_keys',
      `${d.keys} key(s) held by more than one row (${d.rows} rows for them; the partition has ${lp.stats.rows} rows, v${lp.loaded.version} has ${lp.loaded.rows})`,
      ctx.reload(lp.id),
      d.sample,
      d.keys,
    );
  return d.keys;
}

/** Name the keys missing from, extra in, or changed in the table against the loaded version's files. */
async function reportKeyDiff(ctx: SweepContext, lp: LoadedPartition, loaded: KeptVersion, expectedRows: number) {
  const partition = parsePartition(lp.id, lp.record.grain);
  const tableSide: DiffSide = {
    scan: (sink) => ctx.wh.scanRowHashes(lp.record, partition, lp.value, sink),
    keysOf: (hashes) => ctx.wh.keysOfHashes(lp.record, partition, hashes),
  };
  const versionSide = await versionDiffSide(await ctx.o.duckConn(), loaded, lp.key, lp.value);
  const diff = await diffPartition(versionSide, tableSide, expectedRows, ctx.o.sample);
  const v = `v${lp.loaded.version}`;
  const reload = ctx.reload(lp.id);
  if (diff.missing.count)
    ctx.add(
      lp.id,
      'missing_rows',
      `${diff.missing.count} key(s) of ${v} are not in the table`,
      reload,
      diff.missing.sample,
      diff.missing.count,
    );
  if (diff.extra.count)
    ctx.add(
      lp.id,
      'extra_rows',
      `${diff.extra.count} key(s) in the table are not in ${v}`,
      reload,
      diff.extra.sample,
      diff.extra.count,
    );
  if (diff.changed.count)
    ctx.add(
      lp.id,
      'changed_values',
      `${diff.changed.count} key(s) hold other values than in ${v} (changed behind recount's back)`,
      reload,
      diff.changed.sample,
      diff.changed.count,
    );
}

/** What counts alone say, when keys cannot be named (too many rows, or the version's files are gone). */
function reportByCounts(ctx: SweepContext, lp: LoadedPartition, keysOk: boolean, dups: number, filesKept: boolean) {
  const { stats: st, loaded: rec } = lp;
  const why = filesKept
    ? `the partition has more than ${thousands(ctx.o.detailRowLimit)} rows, so keys are not named`
    : 'its files are no longer kept, so keys are not named';
  if (keysOk) {
    ctx.add(
      lp.id,
      'changed_values',
      `the keys are those of v${rec.version} but the values differ (changed behind recount's back); ${why}`,
      ctx.reload(lp.id),
    );
  } else if (!dups) {
    const diff = st.rows - rec.rows;
    ctx.add(
      lp.id,
      diff < 0 ? 'missing_rows' : 'extra_rows',
      `${st.rows} rows, v${rec.version} loaded ${rec.rows}${diff === 0 ? ' (same count, other keys)' : ''}; ${why}`,
      ctx.reload(lp.id),
    );
  }
}

/** A partition recount loaded: are its rows those of the version recount_loads records? */
export async function checkLoadedPartition(ctx: SweepContext, lp: LoadedPartition): Promise<void> {
  const { stats: st, loaded: rec } = lp;
  const keysOk = st.rows === rec.rows && st.checksum === rec.checksum;
  const kept = await keptVersions(ctx.store, ctx.name, lp.id);
  const loaded = kept.find((k) => k.version === rec.version);
  const expected: RowsChecksums | undefined = loaded && (await keptChecksums(ctx, lp, loaded));
  if (keysOk && (!expected || expected.valueChecksum === st.valueChecksum)) return;
  if (await foundStaleVersion(ctx, lp, kept)) return;
  const dups = keysOk ? 0 : await reportDuplicateKeys(ctx, lp);
  if (loaded && expected && Math.max(st.rows, expected.rows) <= ctx.o.detailRowLimit) {
    await reportKeyDiff(ctx, lp, loaded, expected.rows);
    return;
  }
  reportByCounts(ctx, lp, keysOk, dups, loaded !== undefined);
}
