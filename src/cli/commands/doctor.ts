import type { Command } from 'commander';
import pc from 'picocolors';
import { parseSize } from '../../config/size.ts';
import { DuckDBEngine } from '../../engine/duckdb/duckdbEngine.ts';
import { runDoctor } from '../../doctor/runDoctor.ts';
import type { FindingStatus } from '../../doctor/finding.ts';
import { action, jsonUsageErrors } from '../command.ts';

const MARK: Record<FindingStatus, string> = {
  ok: pc.green('✓'),
  info: pc.dim('i'),
  warning: pc.yellow('!'),
  problem: pc.red('✗'),
};

/** `recount doctor`: check the project, its analyzers, disk, state store and engine versions; exit 1 on problems. */
export function registerDoctor(program: Command): void {
  jsonUsageErrors(program.command('doctor'))
    .description(
      'check the config, every analyzer (EXPLAIN and lint), free disk, state-store integrity and engine versions against known engine bugs; changes nothing',
    )
    .option('--min-free <size>', 'less free disk than this on the output or spill volume is a problem', '1GB')
    .option('--all', 'also list the checks that passed')
    .action(
      action(async (out, g, opts: { minFree: string; all?: boolean }) => {
        const report = await runDoctor({
          projectDir: g.project,
          engine: new DuckDBEngine(),
          minFreeBytes: parseSize(opts.minFree, '--min-free'),
        });
        out.result(report, () => {
          for (const f of report.findings) {
            if (f.status === 'ok' && !opts.all) continue;
            // The thing at fault (for lint, file:line), unless the message names it already.
            const at = f.subject && !f.message.includes(f.subject) ? ` ${pc.dim(`(${f.subject})`)}` : '';
            out.info(`${MARK[f.status]} ${pc.bold(f.check)}${at}: ${f.message}`);
            if (f.hint && f.status !== 'ok') out.info(`    ${pc.dim('hint:')} ${f.hint}`);
          }
          const c = report.counts;
          out.info(
            `recount ${report.versions.recount}, DuckDB ${report.versions.duckdb ?? '?'} — ${c.ok} ok, ${c.info} info, ${c.warning} warning(s), ${c.problem} problem(s)`,
          );
        });
        return report.ok ? 0 : 1;
      }),
    );
}
