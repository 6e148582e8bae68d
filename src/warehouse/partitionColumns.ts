import type { Grain, Partition } from '../catalog/partition.ts';
import { RecountError } from '../errors.ts';
import { ident, lit } from '../engine/sql.ts';

/**
 * A warehouse table holds every partition of one analyzer; the partition lives in its own columns, as in
 * the Hive path of the published Parquet: `dt DATE` for both grains plus `hour SMALLINT` (0–23) for hourly
 * analyzers. Users filter with `WHERE dt = '2023-10-12' AND hour = 9`, and a load deletes exactly that.
 */
export interface PartitionColumn {
  readonly name: 'dt' | 'hour';
  readonly duckdb: string;
  readonly postgres: string;
}

/** The partition columns of a grain. */
export function partitionColumns(grain: Grain): PartitionColumn[] {
  const dt: PartitionColumn = { name: 'dt', duckdb: 'DATE', postgres: 'date' };
  return grain === 'hour' ? [dt, { name: 'hour', duckdb: 'SMALLINT', postgres: 'smallint' }] : [dt];
}

/** Literal values of a partition's columns, in partitionColumns order (SQL shared by DuckDB and PostgreSQL). */
export function partitionValues(p: Partition): string[] {
  const day = `DATE ${lit(p.id.slice(0, 10))}`;
  return p.grain === 'hour' ? [day, String(Number(p.id.slice(11, 13)))] : [day];
}

/** `dt = DATE '…' AND "hour" = 9`: the rows of one partition. */
export function partitionPredicate(p: Partition): string {
  const values = partitionValues(p);
  return partitionColumns(p.grain)
    .map((c, i) => `${ident(c.name)} = ${values[i]}`)
    .join(' AND ');
}

/** SQL giving the partition id of a row from its partition columns (`2023-10-12T09` or `2023-10-12`); `text` is the dialect's text type. */
export function partitionIdSql(grain: Grain, text: 'VARCHAR' | 'text'): string {
  const day = `CAST(${ident('dt')} AS ${text})`;
  return grain === 'hour' ? `${day} || 'T' || lpad(CAST(${ident('hour')} AS ${text}), 2, '0')` : day;
}

/** Refuse an output column that has a partition column's name: the table could not hold both. */
export function assertNoPartitionClash(table: string, grain: Grain, columns: readonly { name: string }[]): void {
  for (const pc of partitionColumns(grain)) {
    const clash = columns.find((c) => c.name.toLowerCase() === pc.name);
    if (clash) {
      throw new RecountError(
        'WAREHOUSE_SCHEMA',
        `table ${table}: output column ${clash.name} has the name of the partition column ${pc.name}`,
        {
          subject: `${table}.${clash.name}`,
          hint: `rename the column in the analyzer's SQL (e.g. AS ${clash.name}_value); recount adds ${partitionColumns(
            grain,
          )
            .map((c) => c.name)
            .join(' and ')} to every row itself`,
        },
      );
    }
  }
}
