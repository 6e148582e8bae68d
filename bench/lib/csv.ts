import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './paths.ts';

/** One CSV cell value. */
export type Cell = string | number | boolean | null | undefined;

function cell(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Write `rows` as bench/results/<name>.csv with `columns` as the header (columns fix the order); returns the path. */
export function writeCsv(name: string, columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.csv`);
  const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
