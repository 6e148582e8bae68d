import type { Project } from '../../config/project.ts';
import type { StateStore } from '../../state/store.ts';
import type { MonitorReport, Problem } from '../../warehouse/monitor.ts';
import type { Logger } from '../../log.ts';
import { alerterFromConfig } from './fromConfig.ts';

/** Every problem the monitor can find, as an alert title says it (a Record over Problem, so a new kind cannot go untitled). */
const PROBLEM_TEXT: Record<Problem, string> = {
  duplicate_keys: 'duplicate keys in the warehouse',
  missing_rows: 'rows missing from the warehouse',
  extra_rows: 'extra rows in the warehouse',
  changed_values: 'warehouse rows hold other values than the published version',
  schema_changed: 'the warehouse table was changed incompatibly',
  stale_version: 'the warehouse holds a version that is no longer published',
  not_loaded: 'published but never loaded',
  load_failed: 'its warehouse load failed',
  table_missing: 'the warehouse table is missing',
};

/**
 * Turn a `recount monitor` sweep into alerts: one per (analyzer, partition, problem) found, and the open monitor
 * alerts of the swept tables that the sweep no longer finds are resolved. Sinks get `flushMs` to deliver.
 */
export async function alertMonitorFindings(
  project: Project,
  store: StateStore,
  log: Logger,
  report: MonitorReport,
  flushMs = 3_000,
): Promise<void> {
  const alerter = alerterFromConfig(project.config.alerts, store, log);
  const found = new Set<string>();
  for (const f of report.findings) {
    const key = `monitor:${f.analyzer}/${f.partition}/${f.problem}`;
    found.add(key);
    const keys = f.sampleKeys.map((k) => `${JSON.stringify(k.key)}${k.count > 1 ? ` x${k.count}` : ''}`).join(', ');
    await alerter.raise({
      kind: 'monitor',
      severity: 'critical',
      key,
      analyzer: f.analyzer,
      partition: f.partition,
      title: `${f.analyzer} ${f.partition === '*' ? '(whole table)' : f.partition}: ${PROBLEM_TEXT[f.problem]} (${f.table})`,
      detail: [f.detail, keys ? `sample keys: ${keys}` : '', f.repair ? `repair: ${f.repair}` : '']
        .filter(Boolean)
        .join('\n'),
    });
  }
  for (const t of report.tables) {
    await alerter.resolveWhere(`monitor:${t.analyzer}/`, 'recount monitor found it fixed', (a) => found.has(a.key));
  }
  await alerter.flush(flushMs);
}
