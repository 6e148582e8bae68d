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

interface ExecutorSummary {
  memoryMetrics?: { usedOnHeapStorageMemory?: number; usedOffHeapStorageMemory?: number };
  peakMemoryMetrics?: {
    JVMHeapMemory?: number;
    JVMOffHeapMemory?: number;
    OnHeapExecutionMemory?: number;
    OffHeapExecutionMemory?: number;
  };
}

/** Where the driver's UI of a session's application is: `http://<remote host>:<spark.ui.port>`, and the application id. */
export interface SparkUi {
  readonly url: string;
  readonly appId: string;
}

/** Sample the executors' memory once; undefined when the UI cannot be reached in time (memory is then unknown, not zero). */
export async function sampleExecutorMemory(ui: SparkUi, timeoutMs = 2_000): Promise<ExecutorMemory | undefined> {
  try {
    const res = await fetch(`${ui.url}/api/v1/applications/${encodeURIComponent(ui.appId)}/executors`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return undefined;
    const list = (await res.json()) as ExecutorSummary[];
    const sum = (f: (e: ExecutorSummary) => number | undefined) => list.reduce((s, e) => s + (f(e) ?? 0), 0);
    return {
      executors: list.length,
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
