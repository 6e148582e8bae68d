import type { WarehouseDialect } from './dialect.ts';
import type { LoadTransaction } from './loadTransaction.ts';
import { assertNoPartitionClash, partitionColumns } from './partitionColumns.ts';
import { planSchema, type SchemaPlan, type WantedColumn } from './schemaPlan.ts';
import type { TargetTable, VersionSource } from './warehouse.ts';

/** The columns a recorded schema wants, those the dialect cannot type left out (they were typed by an older recount). */
function recordedColumns(dialect: WarehouseDialect, table: string, columns: readonly { name: string; type: string }[]) {
  return columns.flatMap((c) => {
    try {
      return [{ name: c.name, type: dialect.columnType(table, c.name, c.type) }];
    } catch {
      return [];
    }
  });
}

/**
 * Make the table fit the version inside the load's transaction: plan against the table as it is, and when it must
 * be created or widened, take the table's DDL lock and plan again (another load may have changed it meanwhile)
 * before creating it or adding the columns. Refuses an incompatible change (planSchema) before touching anything.
 */
export async function applySchema(
  tx: LoadTransaction,
  dialect: WarehouseDialect,
  table: TargetTable,
  source: VersionSource,
): Promise<SchemaPlan> {
  assertNoPartitionClash(table.name, table.grain, source.columns);
  const columns: WantedColumn[] = source.columns.map((c) => ({
    name: c.name,
    type: dialect.columnType(table.name, c.name, c.type),
  }));
  const partCols = partitionColumns(table.grain).map((c) => ({ name: c.name, type: dialect.partitionType(c) }));
  const plan = async () => {
    const recorded = await tx.tableRecord(table.name);
    return planSchema({
      table: table.name,
      existing: await tx.columns(table.name),
      columns,
      partitionColumns: partCols,
      keys: source.keys,
      recordedKeys: recorded?.keys,
      recordedColumns: recorded && recordedColumns(dialect, table.name, recorded.columns),
      compatible: dialect.compatible,
    });
  };
  let schema = await plan();
  if (schema.create || schema.add.length) {
    await tx.lockTable(table.name);
    schema = await plan();
    if (schema.create) await tx.createTable(table.name, columns, partCols);
    if (schema.add.length) await tx.addColumns(table.name, schema.add);
  }
  return schema;
}
