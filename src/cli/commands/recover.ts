import type { Command } from 'commander';
import { action } from '../command.ts';
import { describeRecovery, withSession } from '../session.ts';

/** `recount recover`: finish interrupted publishes and clean orphaned staging (every command does this first). */
export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(
      'finish publishes interrupted by a crash and remove orphaned staging (every command does this on start)',
    )
    .action(
      action(async (out, g) =>
        withSession(g.project, async (s) => {
          out.result({ ok: true, ...s.recovery }, () => {
            const lines = describeRecovery(s.recovery);
            if (s.recovery.removedStaging.length)
              lines.push(`removed ${s.recovery.removedStaging.length} orphaned staging folder(s)`);
            if (s.recovery.removedSpill.length)
              lines.push(`removed the spill of ${s.recovery.removedSpill.length} dead attempt(s)`);
            out.info(lines.length ? lines.join('\n') : 'nothing to recover: every publish is complete');
          });
        }),
      ),
    );
}
