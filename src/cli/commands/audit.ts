import type { Command } from 'commander';
import pc from 'picocolors';
import { InvalidArgumentError } from 'commander';
import { runAudit, type AuditReport, type AuditRun } from '../../audit/runAudit.ts';
import { action, jsonUsageErrors, usageParser, wholeNumber, type GlobalOptions } from '../command.ts';
import { auditEngines } from '../../audit/engineAudit.ts';
import { RecountError } from '../../errors.ts';
import { parseEngineList, type EngineName } from '../../shadow/otherEngine.ts';
import { enginePartitionLine, printEngineAudit } from '../engineAuditReport.ts';
import { columnTable } from '../diffReport.ts';
import type { Output } from '../output.ts';
import { toleranceOf, toleranceOptions, type ToleranceCliOptions } from '../toleranceOptions.ts';
import { withSession, type CliSession } from '../session.ts';

interface AuditCliOptions extends ToleranceCliOptions {
  partition?: string;
  runs: number;
  keep?: boolean;
  engines?: EngineName[];
  sample: number;
  details?: boolean;
}

function runCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 16)
    throw new InvalidArgumentError(`--runs must be a whole number from 2 to 16, got '${value}'`);
  return n;
}

function runLine(run: AuditRun): string {
  return run.status === 'succeeded'
    ? `run ${run.run}: threads ${run.threads}, ${run.rows} rows in ${run.files?.length} file(s)`
    : pc.red(`run ${run.run}: threads ${run.threads}: [${run.error?.code}] ${run.error?.message}`);
}

/** The comparison of the runs: per column, the keys that moved file and the byte-identical files. */
function printComparison(out: Output, r: AuditReport): void {
  const c = r.comparison;
  if (!c) return;
  out.info(
    columnTable(
      ['keys differing (any bit)', 'beyond tolerance'],
      c.columns.map((col) => ({ ...col, counts: [col.keysDiffering, col.keysBeyondTolerance] })),
    ),
  );
  out.info(
    `columns that differ between runs: ${r.varyingColumns.length ? r.varyingColumns.join(', ') : 'none'}${r.varyingColumns.length && !r.unstableColumns.length ? ' (within tolerance)' : ''}`,
  );
  out.info(`keys that moved file: ${c.keyMoves} (each key must land in the same output file in every run, I3)`);
  const why = c.identicalFiles.differing.length
    ? ` — differ: ${c.identicalFiles.differing.join(', ')}; a file's bytes change whenever any value in it does, e.g. a float sum's last bits, even with every key in its place`
    : '';
  out.info(`byte-identical files: ${c.identicalFiles.identical} of ${c.identicalFiles.total}${why}`);
}

/** The lint findings, then the verdict: the problems (lint errors counted, not repeated) or why it is deterministic. */
function printVerdict(out: Output, r: AuditReport): void {
  for (const f of r.lint)
    out.info(
      `${f.severity === 'error' ? pc.red('lint error') : pc.yellow('lint warning')} ${f.rule}${f.line ? ` (line ${f.line})` : ''}: ${f.message}`,
    );
  if (!r.lint.length) out.info('lint: nothing found');
  // Lint errors are problems too, but were just printed: list the others, and count those.
  const lintErrors = r.lint.filter((f) => f.severity === 'error').length;
  const others = r.problems.slice(0, r.problems.length - lintErrors);
  const runs = `${r.runs.length} run(s) with ${r.runs.map((x) => x.threads).join(', ')} threads`;
  if (r.problems.length) {
    const lines = [`${r.problems.length} problem(s):`, ...others.map((p) => `  ${p}`)];
    if (lintErrors) lines.push(`  ${lintErrors} lint error(s), above`);
    out.info(pc.red(lines.join('\n')));
  } else if (r.varyingColumns.length) {
    out.info(
      pc.green(
        `${r.analyzer} ${r.partition}: deterministic within the tolerance over ${runs}: the same keys and rows, every key in the same file; ${r.varyingColumns.join(', ')} differ(s) only in the last bits (float sums added in another order), so no file is guaranteed byte-identical`,
      ),
    );
  } else {
    out.info(pc.green(`${r.analyzer} ${r.partition}: identical values over ${runs}`));
  }
  if (r.scratch) out.info(`scratch runs kept at ${r.scratch}`);
}

/** `audit <analyzer> --partition ID`: the runs at different thread counts, compared and linted; exit 1 on a problem. */
async function determinismAudit(
  out: Output,
  g: GlobalOptions,
  s: CliSession,
  names: string[],
  opts: AuditCliOptions,
): Promise<number> {
  const hint =
    'recount audit <analyzer> --partition ID [--runs N], or recount audit [analyzer...] --engines duckdb,spark';
  if (names.length !== 1)
    throw new RecountError('USAGE', `audit without --engines takes one analyzer, got ${names.length}`, {
      subject: 'recount audit',
      hint,
    });
  if (!opts.partition)
    throw new RecountError('USAGE', "required option '--partition <id>' not specified", {
      subject: 'recount audit',
      hint,
    });
  const r = await runAudit(s, {
    analyzer: names[0]!,
    partition: opts.partition,
    runs: opts.runs,
    tolerance: toleranceOf(opts),
    keep: opts.keep,
    onRun: (run) => {
      if (!g.json) out.info(runLine(run));
    },
  });
  out.result({ ok: r.problems.length === 0, ...r }, () => {
    printComparison(out, r);
    printVerdict(out, r);
  });
  return r.problems.length ? 1 : 0;
}

/** `audit [analyzer...] --engines a,b`: each analyzer on every engine, diffed; exit 1 when the engines disagree. */
async function engineAudit(
  out: Output,
  g: GlobalOptions,
  s: CliSession,
  names: string[],
  opts: AuditCliOptions & { engines: EngineName[] },
): Promise<number> {
  const r = await auditEngines(s, {
    analyzers: names,
    engines: opts.engines,
    partition: opts.partition,
    sample: opts.sample,
    tolerance: toleranceOf(opts),
    keep: opts.keep,
    onPartition: (analyzer, p) => {
      if (!g.json) out.info(enginePartitionLine(analyzer, p));
    },
  });
  out.result({ ok: r.agree, ...r }, () => printEngineAudit(out, r, { details: opts.details }));
  return r.agree ? 0 : 1;
}

/**
 * `recount audit <analyzer> --partition ID [--runs N]`: is the analyzer deterministic? Runs, compares, lints.
 * `recount audit [analyzer...] --engines duckdb,spark`: do the engines agree on it?
 */
export function registerAudit(program: Command): void {
  const cmd = jsonUsageErrors(program.command('audit'))
    .description(
      'run a partition N times with different thread counts in a scratch namespace and report what differs between runs; lint the SQL. With --engines, run analyzers on each engine and report whether they agree',
    )
    .argument('[analyzers...]', 'analyzer name (with --engines: any number, default every analyzer)')
    .option('--partition <id>', 'partition id (with --engines: default the newest --sample published ones)')
    .option('--runs <n>', 'number of runs (2-16)', runCount, 3)
    .option(
      '--engines <list>',
      'compare engines instead: e.g. duckdb,spark (Spark at engine.spark.remote or RECOUNT_SPARK_REMOTE)',
      usageParser((v) => parseEngineList(v)),
    )
    .option('--sample <n>', 'with --engines: published partitions per analyzer', wholeNumber('--sample', 1), 2)
    .option('--details', 'with --engines: print the full diff where the engines disagree');
  toleranceOptions(cmd)
    .option('--keep', 'keep the scratch namespace under <output>/.recount/audit/ for inspection')
    .action(
      action(async (out, g, names: string[], opts: AuditCliOptions) =>
        withSession(g.project, (s) =>
          opts.engines
            ? engineAudit(out, g, s, names, { ...opts, engines: opts.engines })
            : determinismAudit(out, g, s, names, opts),
        ),
      ),
    );
}
