import pc from 'picocolors';
import type { EngineAuditReport, EnginePartition } from '../audit/engineAudit.ts';
import { diffLine, renderDiff } from './diffReport.ts';
import { table } from './format.ts';
import type { Output } from './output.ts';

/** One line per partition as it is compared: `= ad_impressions_hourly 2023-10-12T09: duckdb vs spark: …`. */
export function enginePartitionLine(analyzer: string, p: EnginePartition): string {
  const failed = p.runs.filter((r) => r.status === 'failed');
  const parts = [
    ...failed.map((r) => `${r.engine} failed: [${r.error?.code}] ${r.error?.message}`),
    ...p.comparisons.map((c) => `${c.from} vs ${c.to}: ${diffLine(c.diff)}`),
  ];
  return `${p.agree ? pc.green('=') : pc.red('≠')} ${analyzer} ${p.partition}: ${parts.join('; ')}`;
}

/** The verdict per analyzer as a table, then the diff of every partition where the engines disagree. */
export function printEngineAudit(out: Output, r: EngineAuditReport, opts: { details?: boolean } = {}): void {
  const t = table(['analyzer', 'partitions', `${r.engines.join(' vs ')}`, 'verdict']);
  for (const a of r.analyzers) {
    const differing = a.partitions.filter((p) => !p.agree).length;
    const verdict = a.skipped ? `skipped: ${a.skipped}` : a.agree ? pc.green('agree') : pc.red('DISAGREE');
    const counts = a.partitions.length ? `${differing} of ${a.partitions.length} differ` : '-';
    t.push([a.analyzer, a.partitions.map((p) => p.partition).join(' ') || '-', counts, verdict]);
  }
  out.info(t.toString());
  for (const a of r.analyzers)
    for (const p of a.partitions.filter((x) => !x.agree)) {
      out.info(enginePartitionLine(a.analyzer, p));
      if (opts.details) for (const c of p.comparisons.filter((x) => x.differs)) out.info(renderDiff(c.diff).join('\n'));
    }
  const disagreeing = r.analyzers.filter((a) => !a.agree).map((a) => a.analyzer);
  out.info(
    disagreeing.length
      ? pc.red(
          `the engines disagree on ${disagreeing.join(', ')} (tolerance abs ${r.tolerance.abs}, rel ${r.tolerance.rel})`,
        )
      : pc.green(`${r.engines.join(' and ')} agree on every analyzer compared`),
  );
  if (r.scratch) out.info(`scratch runs kept at ${r.scratch}`);
}
