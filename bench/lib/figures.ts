import Table from 'cli-table3';
import { verdict } from './stats.ts';

/** One row of a figures table: a metric, what was measured, and the target it is held to (if any). */
export interface Figure {
  readonly metric: string;
  readonly value: string;
  readonly target?: string;
  /** Whether the target was met; undefined for a figure without a target. */
  readonly ok?: boolean;
  /** How the value was measured or how noisy it was. */
  readonly note?: string;
}

/**
 * Figures as the first seed's postmortem table: one metric a row, the measured value beside its target and
 * whether it was met, so a reader compares recount with the Spark figures line by line.
 */
export function figuresTable(figures: readonly Figure[], valueHead = 'recount serve'): string {
  const t = new Table({
    head: ['Metric', valueHead, 'Target', 'Met', 'How measured / noise'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [44, 22, 12, 6, 58],
  });
  for (const f of figures)
    t.push([f.metric, f.value, f.target ?? '', f.ok === undefined ? '' : verdict(f.ok), f.note ?? '']);
  return t.toString();
}
