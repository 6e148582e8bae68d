import type { Command } from 'commander';
import { thousands } from '../../config/size.ts';
import { getAnalyzer } from '../../config/project.ts';
import { formatKey } from '../../warehouse/loadProtocol.ts';
import { openProjectWarehouse } from '../../warehouse/loader.ts';
import { sweepWarehouse, type MonitorReport } from '../../warehouse/monitor.ts';
import { action, positiveInt } from '../command.ts';
import { status, table, wrap } from '../format.ts';
import { withSession, type CliSession } from '../session.ts';
import { createLogger } from '../../log.ts';
import { alertMonitorFindings } from '../../observe/alerts/monitorAlerts.ts';

// What to say when no table was swept: the named analyzer has no table, or none has.
function nothingSwept(s: CliSession, name: string | undefined): string {
  const withTable = [...s.project.analyzers.values()].filter((a) => a.load).map((a) => a.name);
  if (name && withTable.length)
    return `analyzer ${name} has no load table, so there is nothing to check; analyzers with one: ${withTable.join(', ')}`;
  if (name) return `analyzer ${name} has no load table, and no other analyzer has one`;
  return 'no analyzer has a load table';
}

function render(s: CliSession, name: string | undefined, report: MonitorReport, info: (text: string) => void): void {
  const t = table(['table', 'analyzer', 'partitions', 'rows', 'problems']);
  for (const r of report.tables)
    t.push([
      r.table,
      r.analyzer,
      r.partitions,
      thousands(r.rows),
      r.problems ? status('failed').replace('failed', String(r.problems)) : 'ok',
    ]);
  info(`warehouse ${report.warehouse}`);
  info(report.tables.length ? t.toString() : nothingSwept(s, name));
  if (!report.findings.length) return;
  const f = table(['table', 'partition', 'problem', 'detail', 'sample keys']);
  for (const x of report.findings) {
    const keys = x.sampleKeys.map((k) => `${formatKey(k.key)}${k.count > 1 ? ` x${k.count}` : ''}`);
    if (x.keys !== undefined && x.keys > x.sampleKeys.length) keys.push(`… ${thousands(x.keys)} in all`);
    f.push([x.table, x.partition, status('failed').replace('failed', x.problem), wrap(x.detail, 56), keys.join('\n')]);
  }
  info(f.toString());
  // Whole lines, so a command can be copied as it is.
  info('to repair:');
  for (const x of report.findings) info(`  ${x.table} ${x.partition} ${x.problem}: ${x.repair}`);
}

/** `recount monitor [analyzer] [--json]`: sweep every loaded table for duplicated, missing, extra, changed and stale rows. */
export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description(
      'check every loaded warehouse table, per partition: duplicate keys, missing, extra or changed rows, versions that are no longer published, columns changed by hand; exit 1 when anything is wrong',
    )
    .argument('[analyzer]', 'only this analyzer’s table')
    .option('--sample <n>', 'sample keys per finding', positiveInt('--sample'), 5)
    .action(
      action(async (out, g, name: string | undefined, opts: { sample: number }) =>
        withSession(g.project, async (s) => {
          if (name) getAnalyzer(s.project, name);
          const wh = await openProjectWarehouse(s.project);
          let report: Awaited<ReturnType<typeof sweepWarehouse>>;
          try {
            report = await sweepWarehouse(s.project, s.store, wh, { analyzer: name, sample: opts.sample });
          } finally {
            await wh.close();
          }
          // Findings become alerts (stored, and sent to the configured webhooks); the table below is the log.
          await alertMonitorFindings(s.project, s.store, createLogger({ pretty: false, level: 'silent' }), report);
          out.result(report, () => render(s, name, report, (text) => out.info(text)));
          return report.ok ? 0 : 1;
        }),
      ),
    );
}
