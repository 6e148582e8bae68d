import type { Kysely } from 'kysely';
import type { MemorySampleRow, MemorySampleTable, StateSchema } from './types.ts';

/** A memory sample of the worker running an attempt. */
export interface AttemptMemorySample {
  readonly attemptId: string;
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly duckdbBytes?: number;
  readonly spillBytes?: number;
  readonly budgetBytes?: number;
  /** A Spark attempt's executors at that instant, summed over them. */
  readonly spark?: SparkExecutorTotals;
}

/** Memory of a Spark attempt's executors, summed: what its chart draws against their max. */
export interface SparkExecutorTotals {
  readonly onHeapBytes: number;
  readonly offHeapBytes: number;
  /** Peak execution memory (Spark's API has no current figure). */
  readonly executionBytes: number;
  readonly maxBytes: number;
}

/** Per-attempt memory samples in the state store: what an attempt's memory chart is drawn from. */
export class MemorySampleStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /** Append samples (a repeated instant of one attempt is kept once). */
  async add(samples: readonly AttemptMemorySample[]): Promise<void> {
    if (samples.length === 0) return;
    const rows: MemorySampleTable[] = samples.map((s) => ({
      attempt_id: s.attemptId,
      at_ms: Math.round(s.atMs),
      rss_bytes: s.rss,
      heap_bytes: s.heapUsed,
      external_bytes: s.external,
      duckdb_bytes: s.duckdbBytes ?? null,
      spill_bytes: s.spillBytes ?? null,
      budget_bytes: s.budgetBytes ?? null,
      spark_on_heap_bytes: s.spark?.onHeapBytes ?? null,
      spark_off_heap_bytes: s.spark?.offHeapBytes ?? null,
      spark_execution_bytes: s.spark?.executionBytes ?? null,
      spark_max_bytes: s.spark?.maxBytes ?? null,
    }));
    // Chunked: SQLite caps the number of bound parameters of one statement.
    for (let i = 0; i < rows.length; i += 100) {
      await this.db
        .insertInto('memory_samples')
        .values(rows.slice(i, i + 100))
        .onConflict((oc) => oc.columns(['attempt_id', 'at_ms']).doNothing())
        .execute();
    }
  }

  /** An attempt's samples in time order. */
  async forAttempt(attemptId: string): Promise<MemorySampleRow[]> {
    return this.db
      .selectFrom('memory_samples')
      .selectAll()
      .where('attempt_id', '=', attemptId)
      .orderBy('at_ms')
      .execute();
  }

  /** Forget samples older than `before` (they are kept for charts, not forever). */
  async prune(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('memory_samples').where('at_ms', '<', before.getTime()).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
