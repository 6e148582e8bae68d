import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { formatKey } from '../../warehouse/loadProtocol.ts';
import { openProjectWarehouse } from '../../warehouse/loader.ts';
import { sweepWarehouse } from '../../warehouse/monitor.ts';
import { action, positiveInt } from '../command.ts';
import { status, table } from '../format.ts';
import { withSession } from '../session.ts';
import { createLogger } from '../../observe/log.ts';
import { alertMonitorFindings } from '../../observe/alerts/monitorAlerts.ts';

/** `recount monitor [analyzer] [--json]`: sweep every loaded table for duplicated, missing, extra and stale rows. */
export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('check every loaded warehouse table, per partition: duplicate keys, missing or extra rows, versions that are no longer published; exit 1 when anything is wrong')
    .argument('[analyzer]', 'only this analyzer’s table')
    .option('--sample <n>', 'sample keys per finding', positiveInt('--sample'), 5)
    .action(
      action(async (out, g, name: string | undefined, opts: { sample: number }) =>
        withSession(g.project, async (s) => {
          if (name) getAnalyzer(s.project, name);
          const wh = await openProjectWarehouse(s.project);
          let report;
          try {
            report = await sweepWarehouse(s.project, s.store, wh, { analyzer: name, sample: opts.sample });
          } finally {
            await wh.close();
          }
          // Findings become alerts (stored, and sent to the configured webhooks); the table below is the log.
          await alertMonitorFindings(s.project, s.store, createLogger({ pretty: false, level: 'silent' }), report);
          out.result(report, () => {
            const t = table(['table', 'analyzer', 'partitions', 'rows', 'problems']);
            for (const r of report.tables) t.push([r.table, r.analyzer, r.partitions, r.rows.toLocaleString('en'), r.problems ? status('failed').replace('failed', String(r.problems)) : 'ok']);
            out.info(`warehouse ${report.warehouse}`);
            out.info(report.tables.length ? t.toString() : 'no analyzer has a load table');
            if (report.findings.length) {
              const f = table(['table', 'partition', 'problem', 'detail', 'sample keys']);
              for (const x of report.findings) f.push([x.table, x.partition, status('failed').replace('failed', x.problem), x.detail, x.sampleKeys.map((k) => `${formatKey(k.key)}${k.count > 1 ? ` x${k.count}` : ''}`).join('\n')]);
              out.info(f.toString());
            }
          });
          return report.ok ? 0 : 1;
        }),
      ),
    );
}
