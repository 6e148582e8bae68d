import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { parseSize } from '../../config/size.ts';
import { runPartition } from '../../run/runPartition.ts';
import { action, wholeNumber } from '../command.ts';
import { attemptJson, attemptLine, warnCheckLines, loadLine } from '../format.ts';
import { describeRecovery, withSession } from '../session.ts';

/** `recount run <analyzer> --partition ID`: run one partition now and publish it. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run an analyzer on one partition and publish the result atomically')
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--partition <id>', 'partition id: 2023-10-12T09 (hour) or 2023-10-12 (day)')
    .option('--threads <n>', 'DuckDB threads (default: the analyzer’s)', wholeNumber('--threads', 1))
    .option('--memory <size>', 'DuckDB memory limit, e.g. 512MB (default: the analyzer’s)')
    .option('--accept-schema-change', 'accept an input column whose type changed since the published version')
    .action(
      action(
        async (
          out,
          g,
          name: string,
          opts: { partition: string; threads?: number; memory?: string; acceptSchemaChange?: boolean },
        ) =>
          withSession(g.project, async (s) => {
            for (const l of describeRecovery(s.recovery)) out.warn(l);
            const analyzer = getAnalyzer(s.project, name);
            const r = await runPartition(s, analyzer, opts.partition, {
              trigger: 'run',
              threads: opts.threads,
              memoryBytes: opts.memory ? parseSize(opts.memory, '--memory') : undefined,
              acceptSchemaChange: opts.acceptSchemaChange,
            });
            for (const w of r.warnings) out.warn(w);
            if (r.error && !g.json) return out.error(r.error);
            out.result({ ok: r.status !== 'failed', ...attemptJson(r) }, () => {
              out.info(attemptLine(r));
              for (const l of warnCheckLines(r)) out.info(l);
              if (r.publishedPath) out.info(`  published at ${r.publishedPath}`);
              if (r.load) out.info(loadLine(r.load));
            });
            return r.status === 'failed' ? r.error!.exitCode : 0;
          }),
      ),
    );
}
