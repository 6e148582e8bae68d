import { ident } from '../engine/sql.ts';
import type { WarehouseDialect } from './dialect.ts';
import { quoteTable } from './typeMap.ts';
import type { TableRecord, WarehouseColumn } from './warehouse.ts';

/** A column of a loaded table that is no longer what recount made it: retyped or dropped by hand. */
export interface ColumnDrift {
  readonly column: string;
  /** The type recount's last load gave it, in the warehouse's spelling. */
  readonly wanted: string;
  /** Its type now, or undefined when it was dropped. */
  readonly found: string | undefined;
  readonly key: boolean;
  /** The statement that puts it back. */
  readonly repair: string;
}

/** The statement that gives a column back the type recount loads into it (both warehouses take this form). */
export function alterBackSql(table: string, column: string, type: string): string {
  return `ALTER TABLE ${quoteTable(table)} ALTER COLUMN ${ident(column)} TYPE ${type} USING ${ident(column)}::${type}`;
}

/**
 * Columns of a table that differ from what recount_tables says its last load wrote: the monitor reports them
 * (a load would fail on them) and leaves them out of the value checksum, whose hash expects the loaded type.
 */
export function schemaDrift(
  record: TableRecord,
  columns: readonly WarehouseColumn[],
  dialect: WarehouseDialect,
): ColumnDrift[] {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const out: ColumnDrift[] = [];
  for (const c of record.columns) {
    let wanted: string;
    try {
      wanted = dialect.columnType(record.table, c.name, c.type);
    } catch {
      continue;
    }
    const have = byName.get(c.name);
    if (have && dialect.compatible(have.type, wanted)) continue;
    out.push({
      column: c.name,
      wanted,
      found: have?.type,
      key: record.keys.includes(c.name),
      repair: have
        ? alterBackSql(record.table, c.name, wanted)
        : `ALTER TABLE ${quoteTable(record.table)} ADD COLUMN ${ident(c.name)} ${wanted}, then: recount load ${record.analyzer} --force`,
    });
  }
  return out;
}
