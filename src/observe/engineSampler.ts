import type { EngineSession } from '../engine/engine.ts';

/** Samples an engine session's own memory and spill accounting while an attempt runs, keeping the peaks. */
export class EngineSampler {
  peakMemoryBytes = 0;
  peakSpillBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly session: EngineSession, intervalMs = 100) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [mem, spill] = await Promise.all([this.session.memoryBytes(), this.session.spillBytes()]);
      this.peakMemoryBytes = Math.max(this.peakMemoryBytes, mem);
      this.peakSpillBytes = Math.max(this.peakSpillBytes, spill);
    } catch {
      // The session may close between samples; a missed sample only lowers the peak by one interval.
    } finally {
      this.busy = false;
    }
  }

  /** Stop sampling (after one last sample) and return the peaks. */
  async stop(): Promise<{ peakMemoryBytes: number; peakSpillBytes: number }> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.sample();
    }
    return { peakMemoryBytes: this.peakMemoryBytes, peakSpillBytes: this.peakSpillBytes };
  }
}
