import type { Command } from 'commander';
import { partitionProgressBar } from '../progressBar.ts';
import pc from 'picocolors';
import { RecountError } from '../../errors.ts';
import { diffLine, renderDiff } from '../diffReport.ts';
import { dropShadow, listShadows } from '../../shadow/namespace.ts';
import { runShadow, type ShadowPartition, type ShadowReport } from '../../shadow/runShadow.ts';
import { action, jsonUsageErrors, usageParser, wholeNumber, type GlobalOptions } from '../command.ts';
import { parseEngineName, type EngineName } from '../../shadow/otherEngine.ts';
import { table } from '../format.ts';
import type { Output } from '../output.ts';
import { toleranceOf, toleranceOptions, type ToleranceCliOptions } from '../toleranceOptions.ts';
import { withSession, type CliSession } from '../session.ts';

interface ShadowCliOptions extends ToleranceCliOptions {
  definition?: string;
  engine?: EngineName;
  partition?: string;
  from?: string;
  to?: string;
  name?: string;
  drop?: string;
  list?: boolean;
  threads?: number;
  details?: boolean;
}

function line(analyzer: string, r: ShadowPartition): string {
  if (r.status === 'failed') return `${pc.red('✗')} ${analyzer} ${r.partition}: [${r.error?.code}] ${r.error?.message}`;
  const mark = r.differs ? pc.yellow('≠') : pc.green('=');
  const vs = `production ${r.productionVersion === null ? '(none)' : `v${r.productionVersion}`} vs shadow v${r.shadowVersion}`;
  return `${mark} ${r.partition}: ${r.diff ? diffLine(r.diff) : ''} (${vs})${r.diff?.badRetry ? ` — ${pc.red('bad-retry pattern')}` : ''}`;
}

/** `shadow --list`: every namespace, with its analyzer, partitions and when it was last used. */
function listNamespaces(out: Output, s: CliSession): number {
  const all = listShadows(s.layout).map((l) => ({
    name: l.ns.name,
    analyzer: l.meta?.analyzer ?? null,
    definition: l.meta?.definition ?? null,
    engine: l.meta?.engine ?? null,
    partitions: l.meta?.partitions ?? [],
    lastUsed: l.lastUsed.toISOString(),
    dir: l.ns.dir,
  }));
  out.result({ ok: true, shadows: all }, () => {
    const t = table(['name', 'analyzer', 'engine', 'partitions', 'last used']);
    for (const x of all) t.push([x.name, x.analyzer ?? '-', x.engine ?? '-', String(x.partitions.length), x.lastUsed]);
    out.info(all.length ? t.toString() : 'no shadow namespaces');
  });
  return 0;
}

/** The partitions to run, from `--partition ID` or `--from ID --to ID`; a USAGE error naming what is missing or extra. */
function runArguments(
  name: string | undefined,
  opts: ShadowCliOptions,
): { analyzer: string; from: string; to: string } {
  const from = opts.from ?? opts.partition;
  const to = opts.to ?? opts.partition;
  const missing = [
    !name && '<analyzer>',
    !opts.definition && !opts.engine && '--definition or --engine',
    !from && '--from (or --partition)',
    !to && '--to (or --partition)',
  ].filter(Boolean);
  const hint =
    'recount shadow <analyzer> --definition FILE --from ID --to ID, or --engine spark|duckdb --partition ID (or --drop NAME, --list)';
  if (opts.partition && (opts.from || opts.to))
    throw new RecountError('USAGE', 'shadow takes --partition or --from/--to, not both', {
      subject: '--partition',
      hint,
    });
  if (missing.length)
    throw new RecountError('USAGE', `shadow needs ${missing.join(', ')}`, { subject: 'recount shadow', hint });
  return { analyzer: name!, from: from!, to: to! };
}

/** The report: per partition (unless printed as they came), the total, the full diffs asked for, where it lives. */
function printReport(out: Output, report: ShadowReport, opts: { perPartition: boolean; details?: boolean }): void {
  const t = report.totals;
  if (opts.perPartition) for (const r of report.partitions) out.info(line(report.analyzer, r));
  out.info(
    `total: ${t.partitions} partitions, ${t.differing} differ, ${t.failed} failed — +${t.added} added, -${t.removed} removed, ~${t.changed} changed, ${t.unchanged} unchanged`,
  );
  if (opts.details)
    for (const r of report.partitions.filter((x) => x.differs && x.diff))
      out.info([`${r.partition}:`, ...renderDiff(r.diff!)].join('\n'));
  out.info(`shadow output: ${report.namespace} (remove it with: recount shadow --drop ${report.name})`);
}

/** A shadow run from the command line, with a progress bar or a line per partition; exit 1 when anything differs. */
async function shadowRun(
  out: Output,
  g: GlobalOptions,
  s: CliSession,
  name: string | undefined,
  opts: ShadowCliOptions,
): Promise<number> {
  const args = runArguments(name, opts);
  const bar = partitionProgressBar(g.json, 'differing');
  let differing = 0;
  const report = await runShadow(s, {
    ...args,
    definitionFile: opts.definition,
    engine: opts.engine,
    name: opts.name,
    threads: opts.threads,
    tolerance: toleranceOf(opts),
    onProgress: (e) => {
      if (e.done === 0) bar?.start(e.total, 0, { partition: e.partition, differing });
      if (!e.result) return bar?.update({ partition: e.partition });
      if (e.result.differs) differing++;
      bar?.update(e.done, { partition: e.partition, differing });
      if (!bar && !g.json) out.info(line(args.analyzer, e.result));
    },
  });
  bar?.stop();
  for (const w of report.warnings) out.warn(w);
  out.result({ ok: !report.differs, ...report }, () =>
    printReport(out, report, { perPartition: Boolean(bar), details: opts.details }),
  );
  return report.differs ? 1 : 0;
}

/**
 * `recount shadow <analyzer> --definition FILE --from ID --to ID`: a candidate definition over production inputs,
 * diffed against production; `--engine spark|duckdb` runs it (or the current definition) on another engine.
 */
export function registerShadow(program: Command): void {
  const cmd = jsonUsageErrors(program.command('shadow'))
    .description(
      'run a candidate definition over production inputs into a shadow namespace and diff every partition against production',
    )
    .argument('[analyzer]', 'analyzer name')
    .option('--definition <file>', 'candidate analyzer file (export default defineAnalyzer({...}))')
    .option(
      '--engine <name>',
      "run on this engine (duckdb or spark) instead of the analyzer's own: without --definition, its current definition",
      usageParser((v) => parseEngineName(v, '--engine')),
    )
    .option('--partition <id>', 'one partition (for --from ID --to ID)')
    .option('--from <id>', 'first partition (inclusive)')
    .option('--to <id>', 'last partition (inclusive)')
    .option('--name <name>', 'shadow namespace (default: the definition file name, else the analyzer; then -<engine>)');
  toleranceOptions(cmd)
    .option('--threads <n>', 'DuckDB threads per run', wholeNumber('--threads', 1))
    .option('--details', 'print the full diff of every differing partition')
    .option('--drop <name>', 'remove a shadow namespace and everything in it')
    .option('--list', 'list shadow namespaces')
    .action(
      action(async (out, g, name: string | undefined, opts: ShadowCliOptions) =>
        withSession(
          g.project,
          async (s) => {
            if (opts.list) return listNamespaces(out, s);
            if (!opts.drop) return shadowRun(out, g, s, name, opts);
            dropShadow(s.layout, opts.drop);
            out.result({ ok: true, dropped: opts.drop }, () => out.info(`dropped shadow namespace ${opts.drop}`));
            return 0;
          },
          { readOnly: Boolean(opts.list || opts.drop) },
        ),
      ),
    );
}
