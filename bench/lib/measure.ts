import { startPeakRss, type PeakRss } from './peakRss.ts';

/** One measured call: its wall time, its peak RSS and what it returned. */
export interface Measured<T> extends PeakRss {
  readonly ms: number;
  /** CPU time of the whole process (all threads, user + system) while it ran: steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  readonly value: T;
}

/** Run `fn` once and measure its wall time (performance.now), CPU time and this process's peak RSS while it ran. */
export async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  const rss = startPeakRss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ...rss.stop(), ms, cpuMs: (cpu.user + cpu.system) / 1000, value };
}

/**
 * Run `rounds` rounds of several modes interleaved (ABAB…, the first mode alternating each round), so
 * load from other processes on a shared machine and page-cache warmth fall on every mode alike.
 */
export async function interleave<M extends string>(
  rounds: number,
  modes: readonly M[],
  run: (mode: M, round: number) => Promise<void>,
): Promise<void> {
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? modes : [...modes].reverse();
    for (const mode of order) await run(mode, round);
  }
}
