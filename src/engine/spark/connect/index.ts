// A Spark Connect client for recount: sessions, plans, execution with reattach, schemas, settings, interrupts, typed errors.
export { SparkConnectClient, type ClientOptions } from './client.ts';
export { parseRemote, endpointOf, redactRemote, DEFAULT_SPARK_CONNECT_PORT, type Remote } from './remote.ts';
export {
  ExecuteStream,
  executePlan,
  collect,
  arrowTable,
  tableRows,
  type ExecuteOptions,
  type ExecuteResult,
} from './execute.ts';
export { schemaOf, sparkVersion, structFields, typeName, explain, type SparkField } from './analyze.ts';
export { setConf, getConf, COALESCE_PARTITIONS, KEY_LAYOUT_CONF } from './config.ts';
export { interrupt, type InterruptTarget } from './interrupt.ts';
export { sparkErrorInfo, toRecountError, type SparkErrorInfo, type SparkErrorContext } from './errors.ts';
export {
  sql,
  table,
  readParquet,
  repartitionByKeys,
  sortWithinPartitions,
  select,
  withColumns,
  writeParquet,
  createOrReplaceTempView,
  sqlCommand,
  relationPlan,
  commandPlan,
  column,
  expr,
  quoteIdentifier,
  type SaveMode,
  type ReadParquetOptions,
  type WriteParquetOptions,
} from './plan.ts';
