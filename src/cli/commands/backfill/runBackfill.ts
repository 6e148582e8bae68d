import type { Partition } from '../../../catalog/partition.ts';
import type { Analyzer } from '../../../config/project.ts';
import { layoutChange, isUpToDate } from '../../../run/fingerprint.ts';
import { checkHold } from '../../../run/hold.ts';
import { type AttemptResult, runPartition } from '../../../run/runPartition.ts';
import { inLanes } from '../../../inLanes.ts';
import { openWarehouse } from '../../../warehouse/open.ts';
import {
  type LoadContext,
  loadAfterPublish,
  loadVersions,
  loadWarning,
  MAX_LOADS_PER_TRANSACTION,
} from '../../../warehouse/loader.ts';
import { BatchQueue } from '../../../batchQueue.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { attemptLine, loadLine, warnCheckLines } from '../../format.ts';
import type { Output } from '../../output.ts';
import { partitionProgressBar } from '../../progressBar.ts';
import type { CliSession } from '../../session.ts';

/** How to run a backfill: rerun what is up to date or held (--force, --where), with how many threads. */
export interface BackfillRunOptions {
  readonly force: boolean;
  readonly threads?: number;
  readonly json: boolean;
  /** Partitions run at once (default 1), each attempt within its own memory budget. */
  readonly parallel?: number;
}

/** What a backfill did: the attempts it ran, and the partitions it left alone as up to date or held by a rollback. */
export interface BackfillOutcome {
  readonly results: AttemptResult[];
  readonly skipped: string[];
  readonly held: string[];
  readonly failed: number;
}

/**
 * Run every partition, `parallel` at a time (in order of their ids, one after another by default), continuing past
 * failures; a line per partition in partition order as it ends, or a progress bar on a terminal.
 *
 * With a warehouse load, a partition's load runs while the next partitions run: each attempt publishes and records
 * its load as owed (as a worker of `serve` does), and one queue loads the versions through the backfill's one
 * warehouse, in batches of those that waited (one transaction each on a DuckDB file). At most
 * MAX_LOADS_PER_TRANSACTION loads wait: then a lane waits for them. A backfill killed meanwhile leaves those loads
 * owed: `recount load --pending` (or `serve`) does them.
 */
export async function runBackfill(
  out: Output,
  s: CliSession,
  analyzer: Analyzer,
  partitions: Partition[],
  opts: BackfillRunOptions,
): Promise<BackfillOutcome> {
  const bar = partitionProgressBar(opts.json, 'failed');
  bar?.start(partitions.length, 0, { partition: '', failed: 0 });
  const outcome = { results: [] as AttemptResult[], skipped: [] as string[], held: [] as string[], failed: 0 };
  // One warehouse for the whole backfill, not one open (and, for a DuckDB file, one checkpoint on close) per
  // partition. A DuckDB warehouse file is then held for the backfill's duration. If it cannot be opened now,
  // each load tries on its own and is recorded as pending when it fails, as without this.
  let warehouse: Warehouse | undefined;
  if (analyzer.load && partitions.length > 1)
    warehouse = await openWarehouse(s.project.warehouseUrl, s.project.dir).catch(() => undefined);
  const ctx = { ...s, warehouse };
  const done: Done[] = new Array(partitions.length);
  const report = inOrder(done, (r) => {
    if (typeof r === 'string') return;
    if (r.status === 'failed') outcome.failed++;
    if (!bar && !opts.json) {
      out.info(attemptLine(r));
      for (const l of warnCheckLines(r)) out.info(l);
      if (r.load) out.info(loadLine(r.load));
    }
    bar?.increment(1, { failed: outcome.failed });
  });
  // Loads queue behind the attempts and go in batches: one warehouse transaction and one commit for the loads that
  // waited while the one before ran. Past that many waiting, a lane waits for them before it runs another partition.
  const loads = new BatchQueue<AttemptResult, AttemptResult>(
    (rs) => withLoads(ctx, analyzer, rs),
    MAX_LOADS_PER_TRANSACTION,
  );
  const queued: Promise<void>[] = [];
  const deferLoad = warehouse !== undefined;
  // A partition's failure is its result, never the lane's: a lane stops only on an error of the backfill itself.
  const runOne = async (i: number, lane: number) => {
    const p = partitions[i]!;
    bar?.update({ partition: p.id });
    const r = await backfillPartition(out, ctx, analyzer, p, { ...opts, deferLoad });
    if (!deferLoad || typeof r === 'string' || r.status !== 'succeeded') return report(i, r);
    while (queued.length >= MAX_LOADS_PER_TRANSACTION) await queued.shift();
    queued.push(loads.add(r).then((withLoad) => report(i, withLoad)));
  };
  try {
    await inLanes(partitions.length, opts.parallel ?? 1, runOne);
  } finally {
    await Promise.allSettled(queued);
    await loads.idle();
    await warehouse?.close();
  }
  bar?.stop();
  for (const [i, r] of done.entries()) {
    if (r === 'up-to-date') outcome.skipped.push(partitions[i]!.id);
    else if (r === 'held') outcome.held.push(partitions[i]!.id);
    else if (r) outcome.results.push(r);
  }
  return outcome;
}

type Result = AttemptResult | 'up-to-date' | 'held';
type Done = Result | undefined;

/** `done[i] = r`, then `show` every result from the first not yet shown up to the first still missing: in order of i. */
function inOrder(done: Done[], show: (r: Result) => void): (i: number, r: Result) => void {
  let shown = 0;
  const ready = new Set<number>();
  return (i, r) => {
    done[i] = r;
    ready.add(i);
    while (ready.has(shown)) {
      ready.delete(shown);
      show(done[shown++]!);
    }
  };
}

/** Published attempts with the loads their publish left owed, done now in one batch (never throws: a failed load is its outcome). */
async function withLoads(ctx: LoadContext, analyzer: Analyzer, rs: AttemptResult[]): Promise<AttemptResult[]> {
  const versions = await Promise.all(rs.map((r) => ctx.store.publishedVersion(analyzer.name, r.partition)));
  // The files were hashed from the bytes the attempt wrote: the load does not read them again for that.
  const known = (r: AttemptResult) =>
    r.fileSha256 && { version: r.version!, sha256: new Map(Object.entries(r.fileSha256)) };
  const batch = rs.flatMap((r, i) => {
    const version = versions[i];
    return version ? [{ analyzer, version, opts: { begun: r.version, known: known(r) } }] : [];
  });
  const outcomes = await loadVersions(ctx, batch);
  const out: AttemptResult[] = [];
  for (const [i, r] of rs.entries()) {
    // Nothing published any more (rolled back meanwhile): the load says so, as after any publish.
    const load = versions[i]
      ? outcomes.shift()
      : await loadAfterPublish(ctx, analyzer, r.partition, { begun: r.version, known: known(r) });
    out.push({ ...r, load, warnings: load?.error ? [...r.warnings, loadWarning(load)] : r.warnings });
  }
  return out;
}

/** Run one partition unless it is up to date or held by a rollback (never, with force). */
async function backfillPartition(
  out: Output,
  s: CliSession & { warehouse?: Warehouse },
  analyzer: Analyzer,
  p: Partition,
  opts: BackfillRunOptions & { deferLoad: boolean },
): Promise<AttemptResult | 'up-to-date' | 'held'> {
  // Up to date comes first: a held partition is reported as held only when it would otherwise rerun.
  const upToDate = !opts.force && (await isUpToDate(s.store, s.project, analyzer, p));
  const hold = opts.force || upToDate ? undefined : await checkHold(s.store, s.project, analyzer, p);
  if (hold?.state === 'released' && !opts.json)
    out.info(`${analyzer.name} ${p.id}: hold of the rollback to v${hold.seq} released: ${hold.reason}`);
  if (upToDate) return 'up-to-date';
  if (hold?.state === 'held') return 'held';
  const published = opts.force ? undefined : await s.store.publishedVersion(analyzer.name, p.id);
  const change = published && layoutChange(analyzer, published.dir);
  if (change)
    out.warn(
      `${analyzer.name} ${p.id}: a layout change, rerun although its input and SQL are unchanged: v${published.seq} ${change}`,
    );
  return runPartition(s, analyzer, p.id, {
    trigger: 'backfill',
    threads: opts.threads,
    respectHold: !opts.force,
    deferLoad: opts.deferLoad,
  });
}
