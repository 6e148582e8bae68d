// Config: a session's Spark settings (`spark.sql.shuffle.partitions`, …), set and read over Spark Connect.
import { ConfigRequestSchema, ConfigResponseSchema } from './gen/spark/connect/base_pb.ts';
import type { SparkConnectClient } from './client.ts';

/** Sets session settings; a setting that cannot change at run time (a static one) fails with its name. */
export async function setConf(client: SparkConnectClient, pairs: Record<string, string>): Promise<void> {
  await client.unary('Config', ConfigRequestSchema, ConfigResponseSchema, {
    ...client.requestBase(),
    operation: { opType: { case: 'set', value: { pairs: Object.entries(pairs).map(([key, value]) => ({ key, value })) } } },
  });
}

/** Reads session settings; a key without a value (unset, no default) maps to undefined. */
export async function getConf(client: SparkConnectClient, keys: string[]): Promise<Record<string, string | undefined>> {
  const res = await client.unary('Config', ConfigRequestSchema, ConfigResponseSchema, {
    ...client.requestBase(),
    operation: { opType: { case: 'getOption', value: { keys } } },
  });
  const out: Record<string, string | undefined> = {};
  for (const k of keys) out[k] = undefined;
  for (const p of res.pairs) out[p.key] = p.value;
  return out;
}
