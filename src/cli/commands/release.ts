import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { RecountError } from '../../errors.ts';
import { action } from '../command.ts';
import { withSession } from '../session.ts';

/** `recount release <analyzer> --partition ID`: end a rollback's hold, so recount serve and backfill may rerun the partition. */
export function registerRelease(program: Command): void {
  program
    .command('release')
    .description(
      'release a partition a rollback holds: recount serve and backfill rerun it again when its definition changed',
    )
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--partition <id>', 'partition id')
    .action(
      action(async (out, g, name: string, opts: { partition: string }) =>
        withSession(g.project, async (s) => {
          const analyzer = getAnalyzer(s.project, name);
          const p = parsePartition(opts.partition, analyzer.grain);
          const released = await s.store.releaseHold(analyzer.name, p.id);
          if (released === null) {
            throw new RecountError('PARTITION_NOT_HELD', `${analyzer.name} ${p.id} is not held by a rollback`, {
              subject: `${analyzer.name} ${p.id}`,
              hint: `recount status ${analyzer.name} shows which partitions are held; a rollback holds one`,
            });
          }
          out.result({ ok: true, analyzer: analyzer.name, partition: p.id, released: { version: released } }, () => {
            out.info(
              `${analyzer.name} ${p.id}: released the hold at v${released}; recount serve reruns it if its definition or input changed`,
            );
          });
        }),
      ),
    );
}
