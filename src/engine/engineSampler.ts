import type { EngineSession, ExecutorMemorySample } from './engine.ts';

/**
 * Engine memory and spill of the attempt running in this process now (0 when none), and the memory of its remote
 * executors (Spark; empty otherwise), for the worker's memory reports.
 */
export const currentEngineUsage: {
  memoryBytes: number;
  spillBytes: number;
  executors: readonly ExecutorMemorySample[];
} = { memoryBytes: 0, spillBytes: 0, executors: [] };

/** Samples an engine session's own memory and spill accounting while an attempt runs, keeping the peaks. */
export class EngineSampler {
  peakMemoryBytes = 0;
  peakSpillBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly session: EngineSession,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  // One sample at a time; callers share the one in flight, so stop() can wait for it: closing the session
  // while the monitor connection still runs a query hangs or corrupts DuckDB's heap.
  private sample(): Promise<void> {
    this.inFlight ??= this.takeSample().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async takeSample(): Promise<void> {
    try {
      const { memoryBytes: mem, spillBytes: spill } = await this.session.usage();
      this.peakMemoryBytes = Math.max(this.peakMemoryBytes, mem);
      this.peakSpillBytes = Math.max(this.peakSpillBytes, spill);
      if (this.timer) {
        currentEngineUsage.memoryBytes = mem;
        currentEngineUsage.spillBytes = spill;
        currentEngineUsage.executors = this.session.executorMemory?.() ?? [];
      }
    } catch {
      // The session may close between samples; a missed sample only lowers the peak by one interval.
    }
  }

  /** Stop sampling (after one last sample) and return the peaks. */
  async stop(): Promise<{ peakMemoryBytes: number; peakSpillBytes: number }> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.inFlight;
      await this.sample();
      currentEngineUsage.memoryBytes = 0;
      currentEngineUsage.spillBytes = 0;
      currentEngineUsage.executors = [];
    }
    return { peakMemoryBytes: this.peakMemoryBytes, peakSpillBytes: this.peakSpillBytes };
  }
}
