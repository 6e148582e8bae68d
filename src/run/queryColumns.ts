import { KeptByKey } from '../keptByKey.ts';
import type { Column, EngineSession } from '../engine/engine.ts';
import type { CheckedInput } from './checkedInput.ts';

/** Query columns by engine version, SQL text and the columns of the views it reads. */
const known = new KeptByKey<Column[]>(64);

/**
 * The columns an analyzer's query returns over these inputs. A query's column types follow from its text and the
 * columns (names and types) of the views it reads, never from their rows: partitions whose inputs have the schema
 * of one before are not described again (a statement each, on Spark a round trip). A query that fails to describe
 * is not kept, so its error comes again, and a changed input schema is described anew.
 */
export async function queryColumns(
  session: EngineSession,
  sql: string,
  inputs: readonly CheckedInput[],
): Promise<Column[]> {
  const views = inputs.map((i) => [i.dataset.name, i.schema.map((c) => [c.name, c.type])]);
  const key = JSON.stringify([session.engine, session.version, sql, views]);
  const columns = await known.get(key, () => session.describe(sql));
  return columns.map((c) => ({ ...c }));
}
