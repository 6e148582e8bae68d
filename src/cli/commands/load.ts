import type { Command } from 'commander';
import { thousands } from '../../config/size.ts';
import { getAnalyzer, type Analyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { asRecountError, RecountError } from '../../errors.ts';
import type { VersionRow } from '../../state/types.ts';
import {
  loadStatusFor,
  loadTarget,
  loadVersions,
  MAX_LOADS_PER_TRANSACTION,
  openProjectWarehouse,
  partitionsBehind,
  withLoadNote,
  type LoadOutcome,
} from '../../warehouse/loader.ts';
import { redactError } from '../../warehouse/url.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { action } from '../command.ts';
import { duration, loadJson, status, wrap } from '../format.ts';
import type { Output } from '../output.ts';
import { describeRecovery, withSession, type CliSession } from '../session.ts';
import { tableOf } from '../tableOf.ts';

/** The options of `recount load`. */
interface LoadOptions {
  partition?: string;
  pending?: boolean;
  force?: boolean;
}

/** A published version to load into its analyzer's warehouse table. */
interface LoadTodo {
  analyzer: Analyzer;
  version: VersionRow;
}

// What to load: one partition, the owed loads (--pending), or every published partition the table lacks.
async function targets(s: CliSession, analyzers: Analyzer[], opts: LoadOptions): Promise<LoadTodo[]> {
  const out: LoadTodo[] = [];
  for (const a of analyzers) {
    if (opts.partition) {
      const p = parsePartition(opts.partition, a.grain);
      const v = await s.store.publishedVersion(a.name, p.id);
      if (!v) {
        throw new RecountError(
          'VERSION_NOT_FOUND',
          `${a.name} ${p.id}: nothing is published, so there is nothing to load`,
          { subject: `${a.name} ${p.id}`, hint: `run it first: recount run ${a.name} --partition ${p.id}` },
        );
      }
      out.push({ analyzer: a, version: v });
    } else if (opts.pending) {
      for (const [partition, seq] of await owedOrFailed(s, a)) {
        const v = await s.store.getVersion(a.name, partition, seq);
        if (v) out.push({ analyzer: a, version: v });
      }
    } else if (opts.force) {
      for (const p of await s.store.listPartitions(a.name)) {
        const v =
          p.published_seq === null
            ? undefined
            : await s.store.getVersion(a.name, p.partition_id, Number(p.published_seq));
        if (v) out.push({ analyzer: a, version: v });
      }
    }
  }
  return out;
}

/**
 * The published versions of an analyzer whose load is owed (pending; never begun, as after a publish that recovery
 * completed for a process killed before it recorded its load; republished by a rollback) or failed, by partition.
 */
async function owedOrFailed(s: CliSession, a: Analyzer): Promise<Map<string, number>> {
  const failed = await s.store.loads.pending({ analyzer: a.name, includeFailed: true });
  const owed = await s.store.loads.owed([a.name]);
  const all = [
    ...failed.map((l) => [l.partition_id, Number(l.version_seq)] as const),
    ...owed.map((l) => [l.partitionId, l.versionSeq] as const),
  ];
  return new Map(all.sort(([x], [y]) => x.localeCompare(y)));
}

/** `recount load [analyzer] [--partition ID | --pending] [--force]`: load published versions into the warehouse by hand. */
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load published versions into the warehouse table of an analyzer (each partition in one transaction)')
    .argument('[analyzer]', 'analyzer name (default: every analyzer with a load table)')
    .option('--partition <id>', 'load the published version of this partition')
    .option(
      '--pending',
      'retry the loads that failed or were interrupted (recorded pending or failed, or never begun after a crash)',
    )
    .option('--force', 'reload even partitions that already hold the published version (repairs rows changed by hand)')
    .action(
      action(async (out, g, name: string | undefined, opts: LoadOptions) =>
        withSession(g.project, (s) => load(out, s, name, opts, g.json)),
      ),
    );
}

async function load(out: Output, s: CliSession, name: string | undefined, opts: LoadOptions, json: boolean) {
  for (const l of describeRecovery(s.recovery)) out.warn(l);
  if (opts.partition && opts.pending)
    throw new RecountError('USAGE', '--partition and --pending do not go together', {
      subject: '--pending',
      hint: 'load one partition, or retry every owed load',
    });
  if (opts.partition && !name)
    throw new RecountError('USAGE', '--partition needs an analyzer', {
      subject: '--partition',
      hint: 'recount load <analyzer> --partition <id>',
    });
  const analyzers = name ? [getAnalyzer(s.project, name)] : [...s.project.analyzers.values()].filter((a) => a.load);
  analyzers.forEach(loadTarget);
  const started = Date.now();
  const wh = await openOrRecordUnreachable(s, analyzers, opts, name);
  const outcomes: LoadOutcome[] = [];
  try {
    // In batches: a DuckDB warehouse file commits each batch once (src/warehouse/loader.ts loadVersions).
    const todo = (await loadsToDo(s, analyzers, opts, wh)).map((t) => ({ ...t, opts: { force: opts.force } }));
    for (let i = 0; i < todo.length; i += MAX_LOADS_PER_TRANSACTION) {
      for (const o of await loadVersions({ ...s, warehouse: wh }, todo.slice(i, i + MAX_LOADS_PER_TRANSACTION))) {
        outcomes.push(o);
        if (!json) out.info(outcomeLine(o));
      }
    }
  } finally {
    await wh.close();
  }
  const bad = outcomes.filter((o) => o.error);
  out.result({ ok: bad.length === 0, warehouse: wh.display, loads: outcomes.map(loadJson) }, () =>
    reportLoads(out, wh.display, outcomes, bad, Date.now() - started),
  );
  return bad.length ? Math.max(...bad.map((b) => b.error!.exitCode)) : 0;
}

/**
 * Open the project's warehouse. When it cannot be opened nothing can load now: the reason is recorded on every
 * load owed (one partition, or --pending) so status and monitor show it, and the error is thrown.
 */
async function openOrRecordUnreachable(
  s: CliSession,
  analyzers: Analyzer[],
  opts: LoadOptions,
  name: string | undefined,
): Promise<Warehouse> {
  try {
    return await openProjectWarehouse(s.project);
  } catch (err) {
    const error = redactError(asRecountError(err, 'WAREHOUSE_UNREACHABLE'), s.project.warehouseUrl);
    const owed = opts.partition || opts.pending ? await targets(s, analyzers, opts) : [];
    for (const t of owed) {
      await s.store.loads.begin({
        analyzer: t.analyzer.name,
        partitionId: t.version.partition_id,
        versionSeq: Number(t.version.seq),
        table: t.analyzer.load!.table,
      });
      await s.store.loads.finish(t.analyzer.name, t.version.partition_id, Number(t.version.seq), {
        status: loadStatusFor(error),
        error: { code: error.code, message: error.message, hint: error.hint },
      });
    }
    // Exit code as for any error: 2 when the configuration is at fault (the URL, the credentials), else 1.
    throw owed.length ? withLoadNote(error, loadStatusFor(error), name) : error;
  }
}

/** The loads asked for, or by default every published partition each table lacks. */
async function loadsToDo(s: CliSession, analyzers: Analyzer[], opts: LoadOptions, wh: Warehouse): Promise<LoadTodo[]> {
  if (opts.partition || opts.pending || opts.force) return targets(s, analyzers, opts);
  const behind = await Promise.all(
    analyzers.map(async (a) => (await partitionsBehind(s.store, a, wh)).map((version) => ({ analyzer: a, version }))),
  );
  return behind.flat();
}

function outcomeLine(o: LoadOutcome): string {
  return `${o.error ? status('failed').replace('failed', '✗') : status('succeeded').replace('succeeded', '✓')} ${o.analyzer} ${o.partition} v${o.version} -> ${o.table}: ${o.status}${o.rows !== undefined ? ` (${thousands(o.rows)} rows, ${duration(Math.round(o.ms))})` : ''}${o.error ? ` [${o.error.code}] ${o.error.message}` : ''}`;
}

function reportLoads(out: Output, warehouse: string, outcomes: LoadOutcome[], bad: LoadOutcome[], elapsedMs: number) {
  if (!outcomes.length) {
    out.info(`nothing to load: recount_loads records the published version of every partition (${warehouse})`);
    out.info(
      `rows changed in the table behind recount's back are found by recount monitor and repaired with recount load <analyzer> --partition <id> --force`,
    );
  } else
    out.info(
      `${outcomes.length - bad.length} of ${outcomes.length} partition(s) done in ${duration(elapsedMs)} (${warehouse})`,
    );
  if (!bad.length) return;
  out.info(
    tableOf(['analyzer', 'partition', 'version', 'status', 'error'], bad, (b) => [
      b.analyzer,
      b.partition,
      `v${b.version}`,
      status(b.status),
      wrap(`[${b.error!.code}] ${b.error!.message}`, 72),
    ]),
  );
  out.info(`hints: ${[...new Set(bad.map((b) => b.error!.hint).filter(Boolean))].join(' | ')}`);
}
