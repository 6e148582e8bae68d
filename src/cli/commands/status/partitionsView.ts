import type { Analyzer } from '../../../config/project.ts';
import { formatBytes, thousands } from '../../../config/size.ts';
import { status } from '../../format.ts';
import type { Output } from '../../output.ts';
import type { CliSession } from '../../session.ts';
import { tableOf } from '../../tableOf.ts';
import { isFailing, type PartitionRow, partitionRows } from './partitionRows.ts';

const HEAD = ['partition', 'version', 'rows', 'files', 'size', 'last attempt', 'error'];

/** `recount status <analyzer>`: its partitions, their published versions and latest attempts. Exit 1 when one fails. */
export async function showPartitions(out: Output, s: CliSession, analyzer: Analyzer): Promise<number> {
  const rows = await partitionRows(s.store, analyzer.name);
  const failing = rows.filter((r) => isFailing(r));
  out.result({ ok: failing.length === 0, analyzer: analyzer.name, partitions: rows }, () => {
    for (const line of partitionsText(analyzer, rows, failing)) out.info(line);
  });
  return failing.length === 0 ? 0 : 1;
}

function partitionCells(r: PartitionRow) {
  return [
    r.partition,
    r.publishedVersion === null ? '-' : `v${r.publishedVersion}${r.heldVersion !== null ? ' (held)' : ''}`,
    r.rows === null ? '-' : thousands(Number(r.rows)),
    r.files ?? '-',
    r.bytes === null ? '-' : formatBytes(r.bytes),
    r.lastAttempt ? status(r.lastAttempt.status) : '-',
    r.lastAttempt?.errorCode ? `[${r.lastAttempt.errorCode}]` : '',
  ];
}

function partitionsText(analyzer: Analyzer, rows: PartitionRow[], failing: PartitionRow[]): string[] {
  const lines = [rows.length ? tableOf(HEAD, rows, partitionCells) : `${analyzer.name}: nothing has run yet`];
  for (const r of failing.slice(0, 10))
    lines.push(
      `  ${status(r.lastAttempt!.status)} ${r.partition}: [${r.lastAttempt!.errorCode}] ${r.lastAttempt!.error ?? ''}`,
    );
  if (failing.length > 10) lines.push(`  … and ${failing.length - 10} more failing partitions (--json lists them all)`);
  const held = rows.filter((r) => r.heldVersion !== null);
  if (held.length)
    lines.push(
      `held by a rollback (recount serve and backfill leave them until new input or recount release): ${held.map((r) => `${r.partition} at v${r.heldVersion}`).join(', ')}`,
    );
  return lines;
}
