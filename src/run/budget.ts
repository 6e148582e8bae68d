/** Memory a worker process needs before DuckDB holds anything: Node, tsx, DuckDB's library, SQLite. */
export const PROCESS_RESERVE_BYTES = 160 * 1024 * 1024;

/** How one attempt's memory budget is split and enforced. */
export interface MemoryPlan {
  /** The attempt's whole budget: the worker's RSS may not pass it (the watchdog kills at this). */
  readonly budgetBytes: number;
  /** DuckDB's memory_limit: past it DuckDB spills to disk instead of failing. */
  readonly duckdbBytes: number;
  /** V8 heap limit (--max-old-space-size), in MB. */
  readonly heapMb: number;
  readonly threads: number;
}

const MB = 1024 * 1024;

/**
 * Split a budget: DuckDB gets half of what is left after the process reserve (the rest covers what DuckDB does not
 * account for: Parquet buffers, allocator slack), lowered by 30% and with
 * threads halved at each out-of-memory retry (`degrade`), so a retry spills more instead of dying again.
 */
export function planMemory(budgetBytes: number, threads: number, degrade = 0): MemoryPlan {
  const usable = Math.max(budgetBytes - PROCESS_RESERVE_BYTES, 32 * MB);
  const duckdbBytes = Math.max(MIN_DUCKDB_BYTES, Math.floor(usable * 0.5 * 0.7 ** degrade));
  // Small against the budget: recount's own JS needs little heap, and the heap snapshot written on a V8
  // out-of-memory takes up to ~12 times the heap (see SNAPSHOT_HEADROOM).
  const heapMb = Math.min(4096, Math.max(64, Math.floor(budgetBytes / 16 / MB)));
  return { budgetBytes, duckdbBytes, heapMb, threads: Math.max(1, Math.floor(threads / 2 ** degrade)) };
}

/** DuckDB's smallest useful memory_limit: below it even a small query fails to pin its blocks. */
export const MIN_DUCKDB_BYTES = 16 * MB;

/**
 * The configuration of the retry after an out-of-memory attempt: half the threads, and, when the process passed
 * its budget (RSS watchdog, V8 heap), DuckDB's limit 30% lower, never under MIN_DUCKDB_BYTES. When DuckDB stopped
 * at its own limit the limit stays: lowering it would only make DuckDB fail sooner.
 */
export function smallerPlan(plan: MemoryPlan, why: 'threads' | 'threads-and-limit'): MemoryPlan {
  const threads = Math.max(1, Math.floor(plan.threads / 2));
  const duckdbBytes =
    why === 'threads' ? plan.duckdbBytes : Math.max(MIN_DUCKDB_BYTES, Math.floor(plan.duckdbBytes * 0.7));
  return { ...plan, threads, duckdbBytes };
}

/**
 * jemalloc settings for DuckDB in worker processes (DuckDB's bundled jemalloc reads DUCKDB_JE_MALLOC_CONF). With
 * jemalloc's default of several arenas, pages one DuckDB thread frees while spilling sat dirty in its arena while
 * another thread's arena grew: RSS peaked at 1.5-2.2x DuckDB's memory_limit over the process's idle RSS and the
 * watchdog killed 19 of 100 attempts (bench/serve.bench.ts, section a). One arena reuses them; dirty pages go back
 * after 100 ms. Peak fell ~100 MB at about the same speed (an immediate purge, dirty_decay_ms:0, cost 60-80% time).
 */
export const WORKER_JEMALLOC_CONF = 'narenas:1,dirty_decay_ms:100,muzzy_decay_ms:0';

/**
 * RSS a worker may reach, per MB of V8 heap limit, while V8 writes its out-of-memory heap snapshot: the
 * watchdog tolerates it once the heap is nearly full, so the postmortem is not cut short.
 */
export const SNAPSHOT_HEADROOM = 12;
