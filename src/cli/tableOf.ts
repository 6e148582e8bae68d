import type Table from 'cli-table3';
import { table } from './format.ts';

/** A whole table as text, in recount's look: the header, then one row of cells per item. */
export function tableOf<T>(head: string[], items: readonly T[], row: (item: T) => Table.Cell[]): string {
  const t = table(head);
  for (const item of items) t.push(row(item));
  return t.toString();
}
