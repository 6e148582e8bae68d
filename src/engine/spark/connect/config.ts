// Config: a session's Spark settings (`spark.sql.shuffle.partitions`, …), set and read over Spark Connect.
import { ConfigRequestSchema, ConfigResponseSchema } from './gen/spark/connect/base_pb.ts';
import type { SparkTransport } from './transport.ts';

/** Sets session settings; a setting that cannot change at run time (a static one) fails with its name. */
export async function setConf(client: SparkTransport, pairs: Record<string, string>): Promise<void> {
  await client.unary('Config', ConfigRequestSchema, ConfigResponseSchema, {
    ...client.requestBase(),
    operation: {
      opType: { case: 'set', value: { pairs: Object.entries(pairs).map(([key, value]) => ({ key, value })) } },
    },
  });
}

/** Reads session settings; a key without a value (unset, no default) maps to undefined. */
export async function getConf(client: SparkTransport, keys: string[]): Promise<Record<string, string | undefined>> {
  const res = await client.unary('Config', ConfigRequestSchema, ConfigResponseSchema, {
    ...client.requestBase(),
    operation: { opType: { case: 'getOption', value: { keys } } },
  });
  const out: Record<string, string | undefined> = {};
  for (const k of keys) out[k] = undefined;
  for (const p of res.pairs) out[p.key] = p.value;
  return out;
}

/** Adaptive execution's partition coalescing: what a key-hashed write must turn off (see KEY_LAYOUT_CONF). */
export const COALESCE_PARTITIONS = 'spark.sql.adaptive.coalescePartitions.enabled';

/**
 * Settings a session needs for a key-hashed write (`repartitionByKeys` + `writeParquet`) to give exactly n files.
 * When the query already shuffles by the same keys into as many partitions (a GROUP BY on the keys with
 * spark.sql.shuffle.partitions = n), Spark's planner drops the repartition as redundant, and adaptive execution
 * then coalesces the remaining shuffle into fewer partitions: keys end in the wrong files (seen on Spark 4.1.3,
 * test/engine/spark/layout.test.ts). Without coalescing, the shuffle left keeps n partitions and the same hash.
 */
export const KEY_LAYOUT_CONF: Readonly<Record<string, string>> = Object.freeze({
  [COALESCE_PARTITIONS]: 'false',
});
