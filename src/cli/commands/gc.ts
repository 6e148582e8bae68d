import type { Command } from 'commander';
import pc from 'picocolors';
import { formatBytes } from '../../config/size.ts';
import { runGc, type GcItem } from '../../gc/runGc.ts';
import { action, jsonUsageErrors, wholeNumber } from '../command.ts';
import { describeRecovery, withSession } from '../session.ts';
import { describeRecoveryPlan, planAsReport } from '../../doctor/describeRecovery.ts';

function label(i: GcItem): string {
  return i.kind === 'version' || i.kind === 'deleted-version-folder'
    ? `${i.analyzer} ${i.partition} v${i.version}`
    : `${i.kind} ${i.dir}`;
}

/** `recount gc [--keep K] [--dry-run] [--broken]`: retention of versions, shadow namespaces, audit runs and staging. */
export function registerGc(program: Command): void {
  jsonUsageErrors(program.command('gc'))
    .description(
      'remove versions beyond K per partition, old shadow namespaces, kept audit runs and stale staging; never the published or loaded version',
    )
    .option(
      '--keep <k>',
      'versions to keep per partition, the published one included (default: each analyzer’s keepVersions)',
      wholeNumber('--keep', 1),
    )
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option(
      '--broken',
      "also forget kept versions whose files are gone or truncated (what 'recount doctor' reports as version-files-missing); never the published one",
    )
    .action(
      action(async (out, g, opts: { keep?: number; dryRun?: boolean; broken?: boolean }) =>
        withSession(
          g.project,
          async (s) => {
            // A dry run changes nothing, recovery included: it says what recovery would do instead.
            const plan = s.pendingRecovery;
            const r = await runGc(s, {
              keep: opts.keep,
              dryRun: opts.dryRun,
              broken: opts.broken,
              recovery: plan,
            });
            const recovery = plan ? { ran: false, ...planAsReport(plan) } : { ran: true, ...s.recovery };
            out.result({ ok: r.errors.length === 0, ...r, recovery }, () => {
              // Staging recovery would remove is listed below with what gc would remove.
              const lines = plan ? describeRecoveryPlan(plan, { staging: false }) : describeRecovery(s.recovery);
              if (!plan && s.recovery.removedStaging.length)
                lines.push(
                  `recovery removed ${s.recovery.removedStaging.length} staging folder(s) no live attempt owned: ${s.recovery.removedStaging.join(', ')}`,
                );
              for (const l of lines) out.info(l);
              for (const i of r.removed)
                out.info(`${r.dryRun ? 'would remove' : 'removed'} ${label(i)} (${formatBytes(i.bytes)}): ${i.reason}`);
              for (const p of r.protected)
                out.info(pc.dim(`kept ${p.analyzer} ${p.partition} v${p.version}: ${p.why}`));
              for (const e of r.errors) out.warn(`could not remove ${e.dir}: ${e.message}`);
              if (r.loadRecords !== 'read') out.warn(`load records ${r.loadRecords}`);
              out.info(
                `${r.dryRun ? 'would free' : 'freed'} ${formatBytes(r.freedBytes)} in ${r.removed.length} item(s)`,
              );
            });
            return r.errors.length ? 1 : 0;
          },
          { readOnly: Boolean(opts.dryRun) },
        ),
      ),
    );
}
