import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { diffVersions } from '../../diff/diffVersions.ts';
import { renderDiff } from '../diffReport.ts';
import { toleranceOf, toleranceOptions } from '../toleranceOptions.ts';
import { action, jsonUsageErrors, positiveInt, wholeNumber } from '../command.ts';
import { withSession } from '../session.ts';
import { plannedOf } from '../../commit/recoveryPlan.ts';

/** `recount diff <analyzer> --partition ID [--from V] [--to V]`: row-level diff of two versions joined on the keys. */
export function registerDiff(program: Command): void {
  const cmd = jsonUsageErrors(program.command('diff'))
    .description(
      'compare two versions of a partition row by row, joined on the keys (default: the one published before, and the published one)',
    )
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--partition <id>', 'partition id')
    .option(
      '--from <v>',
      'version to compare from (default: the one published before the published one, e.g. the one rolled back from; with --to, the newest kept one before it)',
      wholeNumber('--from', 1),
    )
    .option('--to <v>', 'newer version (default: the published one)', wholeNumber('--to', 1));
  toleranceOptions(cmd)
    .option('--samples <n>', 'sample rows per kind of difference', positiveInt('--samples'), 5)
    .action(
      action(
        async (
          out,
          g,
          name: string,
          opts: { partition: string; from?: number; to?: number; abs?: number; rel?: number; samples: number },
        ) =>
          withSession(
            g.project,
            async (s) => {
              const analyzer = getAnalyzer(s.project, name);
              const p = parsePartition(opts.partition, analyzer.grain);
              const tolerance = toleranceOf(opts);
              // diff only reads (no recovery): say when this partition has a publish recovery would still finish.
              for (const { intent: i } of s.pendingRecovery ? plannedOf(s.pendingRecovery, 'finish-publish') : []) {
                if (i.analyzer === analyzer.name && i.partition_id === p.id)
                  out.warn(
                    `an interrupted ${i.kind} of v${i.target_seq} is pending; this diff compares what is recorded now (published: ${i.from_seq === null ? 'nothing' : `v${i.from_seq}`}); 'recount recover' finishes it`,
                  );
              }
              const r = await diffVersions(
                s.store,
                { engine: s.engine, spillDir: s.project.spillDir },
                analyzer.name,
                p.id,
                { from: opts.from, to: opts.to, tolerance, samples: opts.samples },
              );
              out.result({ ok: !r.differs, analyzer: analyzer.name, partition: p.id, ...r }, () => {
                const why =
                  r.basis === 'previously-published'
                    ? ` (v${r.versions.from} was published before v${r.versions.to}${r.versions.from > r.versions.to ? ': the version rolled back from' : ''})`
                    : r.basis === 'kept-before'
                      ? ` (the newest kept version before v${r.versions.to})`
                      : '';
                out.info(
                  `${analyzer.name} ${p.id}: v${r.versions.from} -> v${r.versions.to}${why}${r.differs ? '' : ': no differences beyond the tolerance'}`,
                );
                for (const l of renderDiff(r)) out.info(l);
              });
              return r.differs ? 1 : 0;
            },
            { readOnly: true },
          ),
      ),
    );
}
