// Builders of the Spark Connect plans recount sends: SQL, Parquet reads of exact file lists, key-hashed
// repartitioning, sorting within partitions, Parquet writes and temp views. Relations are plain protobuf
// messages; each gets a fresh plan id, as Spark's own clients give them.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { PlanSchema, type Plan } from './gen/spark/connect/base_pb.ts';
import { CommandSchema, WriteOperation_SaveMode, type Command } from './gen/spark/connect/commands_pb.ts';
import {
  ExpressionSchema,
  Expression_AliasSchema,
  Expression_SortOrder_NullOrdering,
  Expression_SortOrder_SortDirection,
  type Expression,
} from './gen/spark/connect/expressions_pb.ts';
import { RelationSchema, type Relation } from './gen/spark/connect/relations_pb.ts';

let nextPlanId = 0n;

function relation(relType: MessageInitShape<typeof RelationSchema>['relType']): Relation {
  return create(RelationSchema, { common: { planId: nextPlanId++ }, relType });
}

/** A column by name: quoted with backticks, so any name (dots, spaces) stays one column. */
export function column(name: string): Expression {
  return create(ExpressionSchema, {
    exprType: { case: 'unresolvedAttribute', value: { unparsedIdentifier: quoteIdentifier(name) } },
  });
}

/** A Spark SQL expression as text, e.g. `pmod(hash(ad_id), 4)`. */
export function expr(text: string): Expression {
  return create(ExpressionSchema, { exprType: { case: 'expressionString', value: { expression: text } } });
}

/** `name` as a Spark SQL identifier: in backticks, inner backticks doubled. */
export function quoteIdentifier(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** The relation of one SQL query (named `:params` bound as SQL literals by the caller are the safe way to pass values). */
export function sql(query: string): Relation {
  return relation({ case: 'sql', value: { query } });
}

/** A table or (temp) view by name. */
export function table(name: string): Relation {
  return relation({
    case: 'read',
    value: { readType: { case: 'namedTable', value: { unparsedIdentifier: name, options: {} } } },
  });
}

/** Characters a Hadoop glob gives a meaning to (Spark globs a path holding any of them). */
export const GLOB_CHARS = /[{}[\]*?\\,]/g;

/**
 * `path` as a Hadoop glob that matches only itself: every glob character escaped. Spark globs every path it is
 * given to read (the data source option that would turn that off, `__globPaths__`, does not reach the reader
 * through Spark Connect 4.1), so a folder named `we[i]rd` must be written `we\[i\]rd`.
 */
export function literalGlob(path: string): string {
  return path.replace(GLOB_CHARS, (c) => `\\${c}`);
}

/** Options of readParquet. */
export interface ReadParquetOptions {
  /** A DDL schema (`a BIGINT, b STRING`) to read with instead of inferring it from the files. */
  schema?: string;
  /** Data source options, e.g. `{ mergeSchema: 'true' }`. */
  options?: Record<string, string>;
}

/**
 * Parquet read of exactly these files (absolute paths or URIs), nothing listed around them: recount
 * resolves a partition once and reads that version's files, so a folder swap cannot mix versions. The paths are
 * taken as written, never as Hadoop globs (literalGlob): a folder named `we[i]rd` is that folder.
 */
export function readParquet(paths: string[], opts: ReadParquetOptions = {}): Relation {
  if (paths.length === 0) throw new Error('readParquet needs at least one file');
  return relation({
    case: 'read',
    value: {
      readType: {
        case: 'dataSource',
        value: {
          format: 'parquet',
          paths: paths.map(literalGlob),
          options: opts.options ?? {},
          ...(opts.schema ? { schema: opts.schema } : {}),
        },
      },
    },
  });
}

/**
 * `repartition(n, keys)`: rows go to partition `pmod(murmur3_hash(keys, seed 42), n)` — Spark SQL's
 * `hash(keys)` — so a key lands in the same partition on every run; never round-robin. Run it in a session
 * with KEY_LAYOUT_CONF (config.ts), or adaptive execution may merge partitions and break the layout.
 */
export function repartitionByKeys(input: Relation, numPartitions: number, keys: string[]): Relation {
  if (keys.length === 0)
    throw new Error('repartitionByKeys needs at least one key (without keys Spark deals rows round-robin)');
  return relation({
    case: 'repartitionByExpression',
    value: { input, numPartitions, partitionExprs: keys.map(column) },
  });
}

/** `sortWithinPartitions(keys)`: each partition sorted by the keys ascending (nulls first, Spark's default), no shuffle. */
export function sortWithinPartitions(input: Relation, keys: string[]): Relation {
  return relation({
    case: 'sort',
    value: {
      input,
      isGlobal: false,
      order: keys.map((k) => ({
        child: column(k),
        direction: Expression_SortOrder_SortDirection.ASCENDING,
        nullOrdering: Expression_SortOrder_NullOrdering.SORT_NULLS_FIRST,
      })),
    },
  });
}

/** Keeps only these columns (or expressions), in this order. */
export function select(input: Relation, columns: (string | Expression)[]): Relation {
  return relation({
    case: 'project',
    value: { input, expressions: columns.map((c) => (typeof c === 'string' ? column(c) : c)) },
  });
}

/** `withColumns`: every column of `input`, plus one column per name, computed by its Spark SQL expression. */
export function withColumns(input: Relation, columns: Readonly<Record<string, string>>): Relation {
  return relation({
    case: 'withColumns',
    value: {
      input,
      aliases: Object.entries(columns).map(([name, text]) =>
        create(Expression_AliasSchema, { expr: expr(text), name: [name] }),
      ),
    },
  });
}

/** How a write treats an existing path. */
export type SaveMode = 'errorIfExists' | 'overwrite' | 'append' | 'ignore';

const saveModes: Record<SaveMode, WriteOperation_SaveMode> = {
  errorIfExists: WriteOperation_SaveMode.ERROR_IF_EXISTS,
  overwrite: WriteOperation_SaveMode.OVERWRITE,
  append: WriteOperation_SaveMode.APPEND,
  ignore: WriteOperation_SaveMode.IGNORE,
};

/** Options of writeParquet. */
export interface WriteParquetOptions {
  /** Default `errorIfExists`: an attempt writes into its own fresh folder, never over another's. */
  mode?: SaveMode;
  /** Writer options, e.g. `{ compression: 'zstd' }`. */
  options?: Record<string, string>;
}

/** Command writing a relation as Parquet into a folder, one file per partition of the relation. */
export function writeParquet(input: Relation, path: string, opts: WriteParquetOptions = {}): Command {
  return create(CommandSchema, {
    commandType: {
      case: 'writeOperation',
      value: {
        input,
        source: 'parquet',
        saveType: { case: 'path', value: path },
        mode: saveModes[opts.mode ?? 'errorIfExists'],
        options: opts.options ?? {},
      },
    },
  });
}

/** Command `createOrReplaceTempView(name)`: the relation becomes a view of this session. */
export function createOrReplaceTempView(input: Relation, name: string): Command {
  return create(CommandSchema, {
    commandType: { case: 'createDataframeView', value: { input, name, isGlobal: false, replace: true } },
  });
}

/** Command running one SQL statement eagerly (DDL, SET, INSERT, …); its result relation comes back in the response. */
export function sqlCommand(query: string): Command {
  return create(CommandSchema, { commandType: { case: 'sqlCommand', value: { input: sql(query) } } });
}

/** A plan whose root is this relation (its rows come back as Arrow batches). */
export function relationPlan(root: Relation): Plan {
  return create(PlanSchema, { opType: { case: 'root', value: root } });
}

/** A plan running this command. */
export function commandPlan(command: Command): Plan {
  return create(PlanSchema, { opType: { case: 'command', value: command } });
}
