import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { getAnalyzer } from '../../config/project.ts';
import { partitionRange } from '../../catalog/partition.ts';
import { runPartition, type AttemptResult } from '../../run/runPartition.ts';
import { isUpToDate } from '../../run/fingerprint.ts';
import { action, positiveInt } from '../command.ts';
import { attemptJson, attemptLine, duration, table } from '../format.ts';
import { describeRecovery, withSession } from '../session.ts';

/** `recount backfill <analyzer> --from ID --to ID`: run a range, continuing past failures, and report them. */
export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('run an analyzer over a range of partitions; a failed partition is reported, the rest still run')
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--from <id>', 'first partition (inclusive)')
    .requiredOption('--to <id>', 'last partition (inclusive)')
    .option('--force', 'rerun partitions already published from the same input and SQL')
    .option('--threads <n>', 'DuckDB threads per run', positiveInt('--threads'))
    .action(
      action(async (out, g, name: string, opts: { from: string; to: string; force?: boolean; threads?: number }) =>
        withSession(g.project, async (s) => {
          describeRecovery(s.recovery).forEach((l) => out.warn(l));
          const analyzer = getAnalyzer(s.project, name);
          const partitions = partitionRange(opts.from, opts.to, analyzer.grain);
          const bar = !g.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: ' {bar} {value}/{total} partitions | {partition} | failed: {failed}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
          bar?.start(partitions.length, 0, { partition: '', failed: 0 });
          const results: AttemptResult[] = [];
          const skipped: string[] = [];
          let failed = 0;
          const started = Date.now();
          for (const p of partitions) {
            bar?.update({ partition: p.id });
            if (!opts.force && (await isUpToDate(s.store, s.project, analyzer, p))) {
              skipped.push(p.id);
            } else {
              const r = await runPartition(s, analyzer, p.id, { trigger: 'backfill', threads: opts.threads });
              results.push(r);
              if (r.status === 'failed') failed++;
              if (!bar && !g.json) out.info(attemptLine(r));
            }
            bar?.increment(1, { failed });
          }
          bar?.stop();
          const failures = results.filter((r) => r.status === 'failed');
          out.result({ ok: failed === 0, analyzer: analyzer.name, partitions: partitions.length, succeeded: results.filter((r) => r.status === 'succeeded').length, failed, skipped, results: results.map(attemptJson) }, () => {
            out.info(
              `${analyzer.name}: ${partitions.length} partitions in ${duration(Date.now() - started)} — ${results.length - failed} published, ${skipped.length} already up to date, ${failed} failed`,
            );
            if (failures.length) {
              const t = table(['partition', 'error', 'message']);
              for (const f of failures) t.push([f.partition, f.error!.code, f.error!.message.slice(0, 100)]);
              out.info(t.toString());
              out.info('rerun a failed partition with: recount run ' + analyzer.name + ' --partition <id>');
            }
          });
          return failed ? 1 : 0;
        }),
      ),
    );
}
