// AnalyzePlan: what a plan would return (its schema) and what the server is (its Spark version), without running anything.
import { AnalyzePlanRequestSchema, AnalyzePlanResponseSchema, type Plan } from './gen/spark/connect/base_pb.ts';
import type { DataType } from './gen/spark/connect/types_pb.ts';
import type { SparkTransport } from './transport.ts';

/** A column of a Spark schema, its type in Spark SQL's own words (`bigint`, `string`, `decimal(18,2)`, `array<int>`). */
export interface SparkField {
  name: string;
  type: string;
  nullable: boolean;
}

/** The columns a plan would return. */
export async function schemaOf(client: SparkTransport, plan: Plan): Promise<SparkField[]> {
  const res = await client.unary('AnalyzePlan', AnalyzePlanRequestSchema, AnalyzePlanResponseSchema, {
    ...client.requestBase(),
    analyze: { case: 'schema', value: { plan } },
  });
  if (res.result.case !== 'schema' || !res.result.value.schema)
    throw new Error(`AnalyzePlan on ${client.endpoint} returned no schema`);
  return structFields(res.result.value.schema);
}

/** The fields of a struct type (a result schema); a non-struct type becomes one column named `value`. */
export function structFields(type: DataType): SparkField[] {
  if (type.kind.case === 'struct') {
    return type.kind.value.fields.map((f) => ({
      name: f.name,
      type: f.dataType ? typeName(f.dataType) : 'unknown',
      nullable: f.nullable,
    }));
  }
  return [{ name: 'value', type: typeName(type), nullable: true }];
}

/** A Spark type in Spark SQL's words, as `DataType.simpleString` writes it. */
export function typeName(type: DataType): string {
  const k = type.kind;
  switch (k.case) {
    case 'null':
      return 'void';
    case 'byte':
      return 'tinyint';
    case 'short':
      return 'smallint';
    case 'integer':
      return 'int';
    case 'long':
      return 'bigint';
    case 'decimal':
      return `decimal(${k.value.precision ?? 10},${k.value.scale ?? 0})`;
    case 'char':
      return `char(${k.value.length})`;
    case 'varChar':
      return `varchar(${k.value.length})`;
    case 'timestampNtz':
      return 'timestamp_ntz';
    case 'calendarInterval':
      return 'interval';
    case 'yearMonthInterval':
      return 'interval year to month';
    case 'dayTimeInterval':
      return 'interval day to second';
    case 'array':
      return `array<${k.value.elementType ? typeName(k.value.elementType) : 'unknown'}>`;
    case 'map':
      return `map<${k.value.keyType ? typeName(k.value.keyType) : 'unknown'},${k.value.valueType ? typeName(k.value.valueType) : 'unknown'}>`;
    case 'struct':
      return `struct<${k.value.fields.map((f) => `${f.name}:${f.dataType ? typeName(f.dataType) : 'unknown'}`).join(',')}>`;
    case 'unparsed':
      return k.value.dataTypeString;
    case undefined:
      return 'unknown';
    default:
      return k.case.toLowerCase();
  }
}

/** The Spark version of the server, e.g. `4.1.3`. */
export async function sparkVersion(client: SparkTransport): Promise<string> {
  const res = await client.unary('AnalyzePlan', AnalyzePlanRequestSchema, AnalyzePlanResponseSchema, {
    ...client.requestBase(),
    analyze: { case: 'sparkVersion', value: {} },
  });
  if (res.result.case !== 'sparkVersion')
    throw new Error(`AnalyzePlan on ${client.endpoint} returned no Spark version`);
  return res.result.value.version;
}

/** Spark's plan for a relation as text (`EXPLAIN FORMATTED` by default): for debugging and tests of the layout. */
export async function explain(
  client: SparkTransport,
  plan: Plan,
  mode: 'simple' | 'extended' | 'formatted' = 'formatted',
): Promise<string> {
  const modes = { simple: 1, extended: 2, formatted: 5 } as const;
  const res = await client.unary('AnalyzePlan', AnalyzePlanRequestSchema, AnalyzePlanResponseSchema, {
    ...client.requestBase(),
    analyze: { case: 'explain', value: { plan, explainMode: modes[mode] } },
  });
  if (res.result.case !== 'explain') throw new Error(`AnalyzePlan on ${client.endpoint} returned no plan`);
  return res.result.value.explainString;
}
