import type { Command } from 'commander';
import pc from 'picocolors';
import { InvalidArgumentError } from 'commander';
import { runAudit } from '../../audit/runAudit.ts';
import { DEFAULT_TOLERANCE, parseToleranceValue } from '../../diff/tolerance.ts';
import { action, jsonUsageErrors, usageParser } from '../command.ts';
import { table } from '../format.ts';
import { withSession } from '../session.ts';

function runCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 16)
    throw new InvalidArgumentError(`--runs must be a whole number from 2 to 16, got '${value}'`);
  return n;
}

/** `recount audit <analyzer> --partition ID [--runs N]`: is the analyzer deterministic? Runs, compares, lints. */
export function registerAudit(program: Command): void {
  jsonUsageErrors(program.command('audit'))
    .description(
      'run a partition N times with different thread counts in a scratch namespace and report what differs between runs; lint the SQL',
    )
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--partition <id>', 'partition id')
    .option('--runs <n>', 'number of runs (2-16)', runCount, 3)
    .option(
      '--abs <x>',
      `absolute tolerance for FLOAT/DOUBLE columns (default ${DEFAULT_TOLERANCE.abs})`,
      usageParser(parseToleranceValue('--abs')),
    )
    .option(
      '--rel <x>',
      `relative tolerance for FLOAT/DOUBLE columns (default ${DEFAULT_TOLERANCE.rel})`,
      usageParser(parseToleranceValue('--rel')),
    )
    .option('--keep', 'keep the scratch namespace under <output>/.recount/audit/ for inspection')
    .action(
      action(
        async (
          out,
          g,
          name: string,
          opts: { partition: string; runs: number; abs?: number; rel?: number; keep?: boolean },
        ) =>
          withSession(g.project, async (s) => {
            const tolerance = { abs: opts.abs ?? DEFAULT_TOLERANCE.abs, rel: opts.rel ?? DEFAULT_TOLERANCE.rel };
            const r = await runAudit(s, {
              analyzer: name,
              partition: opts.partition,
              runs: opts.runs,
              tolerance,
              keep: opts.keep,
              onRun: (run) => {
                if (!g.json)
                  out.info(
                    run.status === 'succeeded'
                      ? `run ${run.run}: threads ${run.threads}, ${run.rows} rows in ${run.files?.length} file(s)`
                      : pc.red(`run ${run.run}: threads ${run.threads}: [${run.error?.code}] ${run.error?.message}`),
                  );
              },
            });
            out.result({ ok: r.problems.length === 0, ...r }, () => {
              const c = r.comparison;
              if (c) {
                const t = table(['column', 'type', 'keys differing (any bit)', 'beyond tolerance', 'max |difference|']);
                for (const col of c.columns)
                  t.push([
                    col.column,
                    col.type,
                    String(col.keysDiffering),
                    String(col.keysBeyondTolerance),
                    col.maxAbsDiff === null ? '-' : col.maxAbsDiff.toPrecision(3),
                  ]);
                out.info(t.toString());
                out.info(
                  `columns that differ between runs: ${r.varyingColumns.length ? r.varyingColumns.join(', ') : 'none'}${r.varyingColumns.length && !r.unstableColumns.length ? ' (within tolerance)' : ''}`,
                );
                out.info(
                  `keys that moved file: ${c.keyMoves} (each key must land in the same output file in every run, I3)`,
                );
                const why = c.identicalFiles.differing.length
                  ? ` — differ: ${c.identicalFiles.differing.join(', ')}; a file's bytes change whenever any value in it does, e.g. a float sum's last bits, even with every key in its place`
                  : '';
                out.info(`byte-identical files: ${c.identicalFiles.identical} of ${c.identicalFiles.total}${why}`);
              }
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
                out.info(
                  pc.red(
                    [
                      `${r.problems.length} problem(s):`,
                      ...others.map((p) => `  ${p}`),
                      ...(lintErrors ? [`  ${lintErrors} lint error(s), above`] : []),
                    ].join('\n'),
                  ),
                );
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
            });
            return r.problems.length ? 1 : 0;
          }),
      ),
    );
}
