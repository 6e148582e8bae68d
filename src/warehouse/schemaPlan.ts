import { RecountError } from '../errors.ts';
import { alterBackSql } from './schemaDrift.ts';
import type { WarehouseColumn } from './warehouse.ts';

/** A column a load needs, typed for the warehouse. */
export interface WantedColumn {
  readonly name: string;
  readonly type: string;
}

/** What a load must change in its table before it copies rows. */
export interface SchemaPlan {
  readonly create: boolean;
  /** New nullable columns (ALTER TABLE … ADD COLUMN); old partitions read NULL there. */
  readonly add: readonly WantedColumn[];
}

/** The tables and columns a plan looks at. */
export interface SchemaPlanInput {
  readonly table: string;
  readonly existing: readonly WarehouseColumn[] | undefined;
  readonly columns: readonly WantedColumn[];
  readonly partitionColumns: readonly WantedColumn[];
  readonly keys: readonly string[];
  /** Keys recorded by earlier loads of this table (recount_tables), if any. */
  readonly recordedKeys: readonly string[] | undefined;
  /** Columns as the last load wrote them (recount_tables), typed for the warehouse, if any. */
  readonly recordedColumns?: readonly WantedColumn[];
  /** Whether a column of type `existing` takes values of type `wanted` without loss. */
  readonly compatible: (existing: string, wanted: string) => boolean;
}

function schemaError(table: string, column: string, message: string, hint: string): RecountError {
  return new RecountError('WAREHOUSE_SCHEMA', `table ${table}: ${message}`, {
    subject: `${table}.${column}`,
    hint: `${hint}; nothing was loaded and the table's rows are as they were`,
  });
}

/**
 * Compare a table with what a version needs: create it, add new nullable columns, or refuse an incompatible
 * change (a type change, a dropped or changed key, a NOT NULL column the version lacks) naming the column.
 */
export function planSchema(p: SchemaPlanInput): SchemaPlan {
  if (!p.existing) return { create: true, add: [] };
  const byName = new Map(p.existing.map((c) => [c.name, c]));
  for (const pc of p.partitionColumns) {
    const have = byName.get(pc.name);
    if (!have || !p.compatible(have.type, pc.type)) {
      throw schemaError(
        p.table,
        pc.name,
        have
          ? `partition column ${pc.name} is ${have.type}, recount needs ${pc.type}`
          : `has no partition column ${pc.name}, so it was not made by recount for this analyzer`,
        'point load.table at a new table name, or drop this table so recount creates it',
      );
    }
  }
  if (p.recordedKeys) {
    const dropped = p.recordedKeys.find((k) => !p.keys.includes(k));
    if (dropped) {
      throw schemaError(
        p.table,
        dropped,
        `key column ${dropped} of the table is not a key of this version (keys were ${p.recordedKeys.join(', ')}, now ${p.keys.join(', ')})`,
        'restore the key in the analyzer, or load into a new table (load.table)',
      );
    }
    const added = p.keys.find((k) => !p.recordedKeys!.includes(k));
    if (added) {
      throw schemaError(
        p.table,
        added,
        `column ${added} became a key (keys were ${p.recordedKeys.join(', ')}, now ${p.keys.join(', ')}); rows loaded before are keyed differently`,
        'load into a new table (load.table), or drop this one so every partition is reloaded with the new keys',
      );
    }
  }
  const add: WantedColumn[] = [];
  for (const c of p.columns) {
    const have = byName.get(c.name);
    if (!have) add.push(c);
    else if (!p.compatible(have.type, c.type)) {
      // The version has the type the last load wrote, so the table is what changed: it goes back, not the analyzer.
      const loaded = p.recordedColumns?.find((r) => r.name === c.name);
      const byHand = loaded !== undefined && p.compatible(loaded.type, c.type);
      throw schemaError(
        p.table,
        c.name,
        `column ${c.name} is ${have.type} in the table but ${c.type} in this version${byHand ? ` (recount loaded it as ${loaded.type}: the table was changed by hand)` : ''}`,
        byHand
          ? `change the table back: ${alterBackSql(p.table, c.name, c.type)}; then retry the load`
          : `change the column back in the analyzer's SQL (e.g. CAST(... AS ${have.type})), or load into a new table`,
      );
    }
  }
  const wanted = new Set([...p.columns, ...p.partitionColumns].map((c) => c.name));
  for (const have of p.existing) {
    if (wanted.has(have.name)) continue;
    if (p.keys.includes(have.name) || p.recordedKeys?.includes(have.name)) {
      throw schemaError(
        p.table,
        have.name,
        `key column ${have.name} is missing from this version`,
        'restore the column in the analyzer, or load into a new table',
      );
    }
    if (!have.nullable) {
      throw schemaError(
        p.table,
        have.name,
        `column ${have.name} is NOT NULL but this version has no such column`,
        `restore the column, or make it nullable (ALTER TABLE ${p.table} ALTER COLUMN ${have.name} DROP NOT NULL)`,
      );
    }
  }
  return { create: false, add };
}
