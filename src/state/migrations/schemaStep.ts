import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';
import type { StateDialect } from '../stateDialect.ts';

/** One schema version's change, written with Kysely's schema builder so it runs on SQLite and PostgreSQL. */
export type SchemaStep = (db: Kysely<unknown>, dialect: StateDialect) => Promise<void>;

/** A column that must hold a value. */
export const notNull = (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder => c.notNull();

/** An integer primary key the database numbers: autoincrement on SQLite, an identity column on PostgreSQL. */
export function identityColumn(dialect: StateDialect): (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return dialect === 'sqlite'
    ? (c) => c.primaryKey().autoIncrement()
    : (c) => c.primaryKey().generatedByDefaultAsIdentity();
}

/** The two columns that name an analyzer's partition, first in every table keyed by partition. */
export function partitionKeyColumns<T extends string, C extends string>(
  t: CreateTableBuilder<T, C>,
): CreateTableBuilder<T, C | 'analyzer' | 'partition_id'> {
  return t.addColumn('analyzer', 'text', notNull).addColumn('partition_id', 'text', notNull);
}
