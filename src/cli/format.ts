import { isFailedStatus } from '../state/types.ts';
import Table from 'cli-table3';
import pc from 'picocolors';
import { formatBytes, thousands } from '../config/size.ts';
import type { AttemptResult } from '../run/runPartition.ts';
import type { LoadOutcome } from '../warehouse/loader.ts';

/** A table with recount's look. */
export function table(head: string[]): Table.Table {
  return new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [] } });
}

/**
 * Text broken into lines of at most `width` characters for a table cell: at spaces where it can, inside a word
 * only when the word alone is longer (a URL, a path), so nothing is cut off.
 */
export function wrap(text: string, width: number): string {
  return text
    .split('\n')
    .map((para) => {
      const lines: string[] = [];
      let line = '';
      for (let word of para.split(' ')) {
        while (word.length > width) {
          if (line) lines.push(line);
          lines.push(word.slice(0, width));
          word = word.slice(width);
          line = '';
        }
        if (line && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

/** Colour a status word. */
export function status(s: string): string {
  if (s === 'succeeded' || s === 'published') return pc.green(s);
  if (isFailedStatus(s)) return pc.red(s);
  if (s === 'running' || s === 'superseded') return pc.yellow(s);
  return s;
}

/** Milliseconds for people. */
export function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** JSON form of an attempt result. */
export function attemptJson(r: AttemptResult): Record<string, unknown> {
  return {
    analyzer: r.analyzer,
    partition: r.partition,
    attemptId: r.attemptId,
    status: r.status,
    version: r.version,
    rows: r.rows,
    files: r.files,
    bytes: r.bytes,
    keys: r.keys,
    durationMs: r.durationMs,
    peakRssBytes: r.peakRssBytes,
    publishedPath: r.publishedPath,
    warnings: r.warnings,
    checks: r.checks,
    error: r.error?.toJSON(),
    load: r.load && loadJson(r.load),
  };
}

/** JSON form of a warehouse load's outcome. */
export function loadJson(o: LoadOutcome): Record<string, unknown> {
  return { ...o, ms: Math.round(o.ms), error: o.error?.toJSON() };
}

/**
 * Where a load went, for the lines after a run: table, version and rows, or why it did not happen (the warning
 * printed before it has the error and the command that retries it).
 */
export function loadLine(o: LoadOutcome): string {
  const rows = o.rows !== undefined ? `${thousands(o.rows)} rows` : '';
  if (o.status === 'loaded')
    return `  loaded into ${o.table} (${o.warehouse}): v${o.version}, ${rows}${o.previousVersion ? ` (replaced v${o.previousVersion})` : ''}, ${duration(Math.round(o.ms))}`;
  if (o.status === 'unchanged') return `  ${o.table} (${o.warehouse}) already holds v${o.version}, ${rows}`;
  if (o.status === 'superseded')
    return `  not loaded into ${o.table}: a newer version was published meanwhile, and its load follows it`;
  return `  ${pc.yellow('not loaded')} into ${o.table} (${o.warehouse}): [${o.error?.code}], recorded ${o.status} (see the warning)`;
}

/**
 * Lines for the non-blocking (`severity: 'warn'`) checks that failed: the output was published anyway, so say so,
 * with the count and a first failing row, instead of leaving them to `recount status --partition`.
 */
export function warnCheckLines(r: AttemptResult): string[] {
  return r.checks
    .filter((c) => !c.passed && c.severity === 'warn')
    .map((c) => {
      const first = c.sample[0]
        ? `; first: ${JSON.stringify(c.sample[0], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`
        : '';
      return `  ${pc.yellow('!')} check ${c.name} (warn) failed on ${thousands(c.failing)} row(s), published anyway${first}`;
    });
}

/** One-line human summary of an attempt. */
export function attemptLine(r: AttemptResult): string {
  if (r.status === 'succeeded') {
    return `${pc.green('✓')} ${r.analyzer} ${r.partition}: published v${r.version} — ${r.rows} rows in ${r.files} file(s), ${formatBytes(r.bytes ?? 0)}, ${duration(r.durationMs)}`;
  }
  if (r.status === 'superseded')
    return `${pc.yellow('•')} ${r.analyzer} ${r.partition}: not published (${r.warnings.at(-1)})`;
  return `${pc.red('✗')} ${r.analyzer} ${r.partition}: [${r.error?.code}] ${r.error?.message}`;
}
