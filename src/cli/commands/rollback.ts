import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { rollbackPartition } from '../../commit/rollback.ts';
import { currentInputFingerprint } from '../../run/hold.ts';
import { action, wholeNumber } from '../command.ts';
import { withSession } from '../session.ts';
import { loadAfterPublish, loadWarning } from '../../warehouse/loader.ts';

/** `recount rollback <analyzer> --partition ID [--version V]`: publish a kept older version again. */
export function registerRollback(program: Command): void {
  program
    .command('rollback')
    .description('publish an older kept version of a partition again (atomically)')
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--partition <id>', 'partition id')
    .option(
      '--version <v>',
      'version number to publish (default: the one before the published one)',
      wholeNumber('--version', 1),
    )
    .action(
      action(async (out, g, name: string, opts: { partition: string; version?: number }) =>
        withSession(g.project, async (s) => {
          const analyzer = getAnalyzer(s.project, name);
          const p = parsePartition(opts.partition, analyzer.grain);
          // The rollback holds the partition (recount serve and backfill leave it there) until new input or recount release.
          const r = await rollbackPartition(s.store, s.layout, analyzer.name, p.id, opts.version, {
            holdInput: currentInputFingerprint(s.project, analyzer, p),
          });
          const held = (await s.store.getPartition(analyzer.name, p.id))?.held_seq ?? null;
          // The warehouse mirrors the published version (I5): load the version rolled back to.
          const load = await loadAfterPublish(s, analyzer, p.id);
          if (load?.error) out.warn(loadWarning(load));
          out.result(
            {
              ok: true,
              analyzer: analyzer.name,
              partition: p.id,
              from: r.from,
              to: r.to,
              held: held !== null ? { version: held } : null,
              load: load ? { status: load.status, table: load.table, error: load.error?.toJSON() } : undefined,
            },
            () => {
              out.info(
                r.from === r.to
                  ? `${analyzer.name} ${p.id}: v${r.to} is already published`
                  : `${analyzer.name} ${p.id}: published v${r.to} (was v${r.from})`,
              );
              if (load && !load.error) out.info(`  ${load.table} holds v${r.to} (${load.status})`);
              if (held !== null)
                out.info(
                  `  held at v${held}: recount serve and backfill leave it there until its input changes or: recount release ${analyzer.name} --partition ${p.id}`,
                );
            },
          );
        }),
      ),
    );
}
