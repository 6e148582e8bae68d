/** Memory of Spark's executors as the driver's REST API reports it (`/api/v1/applications/{id}/executors`). */
export interface ExecutorMemory {
  /** Executors (the driver included in local mode) that reported. */
  readonly executors: number;
  /** Storage memory in use, on-heap and off-heap, summed over executors. */
  readonly usedOnHeapBytes: number;
  readonly usedOffHeapBytes: number;
  /** Peak execution memory (on-heap + off-heap) any executor reached, summed: shuffles, joins, sorts. */
  readonly peakExecutionBytes: number;
  /** Peak JVM heap + off-heap of the executors, summed. */
  readonly peakJvmBytes: number;
}

/** One executor's memory in one sample (the driver is an executor, id `driver`, in local mode). */
export interface ExecutorSample {
  readonly executor: string;
  readonly onHeapUsedBytes: number;
  readonly offHeapUsedBytes: number;
  /** Peak execution memory (on-heap + off-heap) the executor reached: the API has no current figure. */
  readonly peakExecutionBytes: number;
  /** The executor's unified (storage + execution) memory, on-heap plus off-heap: what its use is measured against. */
  readonly maxBytes: number;
}

interface ExecutorSummary {
  id?: string;
  isActive?: boolean;
  maxMemory?: number;
  memoryMetrics?: {
    usedOnHeapStorageMemory?: number;
    usedOffHeapStorageMemory?: number;
    totalOnHeapStorageMemory?: number;
    totalOffHeapStorageMemory?: number;
  };
  peakMemoryMetrics?: {
    JVMHeapMemory?: number;
    JVMOffHeapMemory?: number;
    OnHeapExecutionMemory?: number;
    OffHeapExecutionMemory?: number;
  };
}

/** The live executors of the REST API's answer, one sample each (dead executors are left out). */
export function executorSamples(list: unknown): ExecutorSample[] {
  if (!Array.isArray(list)) return [];
  return (list as ExecutorSummary[])
    .filter((e) => e && typeof e === 'object' && e.isActive !== false)
    .map((e, i) => {
      const m = e.memoryMetrics;
      const p = e.peakMemoryMetrics;
      const total = (m?.totalOnHeapStorageMemory ?? 0) + (m?.totalOffHeapStorageMemory ?? 0);
      return {
        executor: String(e.id ?? i),
        onHeapUsedBytes: m?.usedOnHeapStorageMemory ?? 0,
        offHeapUsedBytes: m?.usedOffHeapStorageMemory ?? 0,
        peakExecutionBytes: (p?.OnHeapExecutionMemory ?? 0) + (p?.OffHeapExecutionMemory ?? 0),
        maxBytes: Math.max(total, e.maxMemory ?? 0),
      };
    });
}

/** An executor's memory in use (storage in use plus its peak execution memory), as a share of its max; 0 when unknown. */
export function executorUsedShare(e: ExecutorSample): number {
  return e.maxBytes > 0 ? (e.onHeapUsedBytes + e.offHeapUsedBytes + e.peakExecutionBytes) / e.maxBytes : 0;
}

/** Where the driver's UI of a session's application is: `http://<remote host>:<spark.ui.port>`, and the application id. */
export interface SparkUi {
  readonly url: string;
  readonly appId: string;
}

/** Sample the executors' memory once; undefined when the UI cannot be reached in time (memory is then unknown, not zero). */
export async function sampleExecutorMemory(
  ui: SparkUi,
  timeoutMs = 2_000,
): Promise<(ExecutorMemory & { readonly perExecutor: ExecutorSample[] }) | undefined> {
  try {
    const res = await fetch(`${ui.url}/api/v1/applications/${encodeURIComponent(ui.appId)}/executors`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return undefined;
    const json: unknown = await res.json();
    if (!Array.isArray(json)) return undefined;
    const list = json as ExecutorSummary[];
    const sum = (f: (e: ExecutorSummary) => number | undefined) => list.reduce((s, e) => s + (f(e) ?? 0), 0);
    return {
      executors: list.length,
      perExecutor: executorSamples(list),
      usedOnHeapBytes: sum((e) => e.memoryMetrics?.usedOnHeapStorageMemory),
      usedOffHeapBytes: sum((e) => e.memoryMetrics?.usedOffHeapStorageMemory),
      peakExecutionBytes: sum(
        (e) => (e.peakMemoryMetrics?.OnHeapExecutionMemory ?? 0) + (e.peakMemoryMetrics?.OffHeapExecutionMemory ?? 0),
      ),
      peakJvmBytes: sum(
        (e) => (e.peakMemoryMetrics?.JVMHeapMemory ?? 0) + (e.peakMemoryMetrics?.JVMOffHeapMemory ?? 0),
      ),
    };
  } catch {
    return undefined;
  }
}
