import pc from 'picocolors';
import { table } from './format.ts';
import type { DiffReport } from '../diff/diffRelations.ts';

function short(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One column's counts in a column table: how many keys differ, two ways, and the largest difference. */
export interface ColumnCounts {
  readonly column: string;
  readonly type: string;
  readonly counts: readonly [number, number];
  readonly maxAbsDiff: number | null;
}

/** A table of columns that differ: name, type, the two counts under `headers`, and the largest |difference|. */
export function columnTable(headers: readonly [string, string], columns: readonly ColumnCounts[]): string {
  const t = table(['column', 'type', ...headers, 'max |difference|']);
  for (const c of columns)
    t.push([
      c.column,
      c.type,
      String(c.counts[0]),
      String(c.counts[1]),
      c.maxAbsDiff === null ? '-' : c.maxAbsDiff.toPrecision(3),
    ]);
  return t.toString();
}

/** A one-line verdict: `+3 added, -2 removed, ~5 changed, 120 unchanged`. */
export function diffLine(r: DiffReport): string {
  const parts = [`+${r.added} added`, `-${r.removed} removed`, `~${r.changed} changed`, `${r.unchanged} unchanged`];
  const dups = r.from.extraRows + r.to.extraRows;
  if (dups) parts.push(`${dups} duplicate row(s)`);
  return parts.join(', ');
}

/** The lines a person reads for one diff: summary table, per-column changes, the bad-retry verdict and samples. */
export function renderDiff(r: DiffReport): string[] {
  const lines: string[] = [];
  const sides = table(['', r.from.label, r.to.label]);
  sides.push(
    ['rows', String(r.from.rows), String(r.to.rows)],
    ['distinct keys', String(r.from.distinctKeys), String(r.to.distinctKeys)],
    ['duplicate rows', String(r.from.extraRows), String(r.to.extraRows)],
  );
  lines.push(sides.toString());
  lines.push(`keys (${r.keys.join(', ')}): ${diffLine(r)}`);
  const s = r.schema;
  if (s.onlyFrom.length)
    lines.push(`columns only in ${r.from.label}: ${s.onlyFrom.map((c) => `${c.name} ${c.type}`).join(', ')}`);
  if (s.onlyTo.length)
    lines.push(`columns only in ${r.to.label}: ${s.onlyTo.map((c) => `${c.name} ${c.type}`).join(', ')}`);
  for (const t of s.typeChanged) lines.push(`column ${t.column} changed type: ${t.from} -> ${t.to}`);
  const moved = r.columns.filter((c) => c.differentBits > 0);
  if (moved.length) {
    lines.push(
      columnTable(
        ['changed', 'differs in any bit'],
        moved.map((c) => ({ ...c, counts: [c.changed, c.differentBits] })),
      ),
    );
    if (moved.some((c) => c.float && c.changed === 0))
      lines.push(
        `float differences within tolerance (abs ${r.tolerance.abs}, rel ${r.tolerance.rel}) are not counted as changes`,
      );
  }
  if (r.badRetry) lines.push(pc.red(r.badRetry.message));
  const sample = (title: string, rows: readonly unknown[]) => {
    if (rows.length)
      lines.push(`${title}:`, ...rows.map((x) => `  ${typeof x === 'string' ? x : JSON.stringify(x).slice(0, 160)}`));
  };
  sample('added (sample)', r.samples.added);
  sample('removed (sample)', r.samples.removed);
  sample('duplicated keys (sample)', r.samples.duplicated);
  sample(
    'changed values (sample)',
    r.samples.changed.map((c) => `${JSON.stringify(c.key)} ${c.column}: ${short(c.from)} -> ${short(c.to)}`),
  );
  return lines;
}
