import { readFileSync, writeFileSync } from 'node:fs';

function statusKb(field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetHighWaterMark(): boolean {
  try {
    // Linux: writing 5 resets VmHWM to the current RSS, so one process can measure the exact peak of each run in turn.
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** The peak RSS of one measured stretch of this process, and its RSS when the stretch began. */
export interface PeakRss {
  readonly startBytes: number;
  readonly peakBytes: number;
  /** `kernel` (exact VmHWM) or `sampled` (every few ms, where /proc/self/clear_refs is unavailable). */
  readonly method: 'kernel' | 'sampled';
}

/**
 * Measure this process's peak RSS from now until stop(). Uses the kernel's high-water mark (exact, native
 * memory included) when it can be reset, else samples RSS; either way DuckDB's native memory counts.
 */
export function startPeakRss(sampleMs = 5): { stop(): PeakRss } {
  const startBytes = process.memoryUsage.rss();
  const kernel = resetHighWaterMark() && statusKb('VmHWM') !== undefined;
  let peak = startBytes;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, sampleMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      const hwm = kernel ? statusKb('VmHWM') : undefined;
      return {
        startBytes,
        peakBytes: hwm !== undefined ? Math.max(hwm, peak) : peak,
        method: hwm !== undefined ? 'kernel' : 'sampled',
      };
    },
  };
}
