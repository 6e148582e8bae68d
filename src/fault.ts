import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecountError } from './errors.ts';

/**
 * Named fault points for crash tests. With RECOUNT_FAULT=<name> set, the process kills itself with
 * SIGKILL when it reaches that point: no cleanup handler runs, exactly as if the machine died there.
 */
export const faultPoints = [
  'during-query',
  'after-first-file-staged',
  'after-files-staged',
  'after-manifest',
  'after-claim',
  'during-publish',
  'after-publish',
  'before-complete',
  'after-intent-complete',
  'during-prune',
  'during-recovery',
  'during-load-copy',
  'before-load-commit',
  'before-batch-commit',
  'exhaust-heap',
] as const;

/** The name of one fault point. */
export type FaultPoint = (typeof faultPoints)[number];

/** Die here, now, with SIGKILL, if this fault point is armed. */
export function faultPoint(name: FaultPoint): void {
  if (process.env.RECOUNT_FAULT === name) {
    process.kill(process.pid, 'SIGKILL');
  }
}

/**
 * The `during-query` fault point: with RECOUNT_FAULT=during-query, die while the engine writes the staged `file` —
 * as soon as the file has bytes on disk and `write` (the COPY writing it) has not returned. DuckDB flushes a big
 * output as it goes, so the kill lands mid-file; a small one it writes whole as it finishes the file, and then the
 * kill comes the instant `write` returns, before anything else runs.
 */
export function faultWhileWriting(name: 'during-query', file: string, write: Promise<unknown>): void {
  if (process.env.RECOUNT_FAULT !== name) return;
  const kill = () => process.kill(process.pid, 'SIGKILL');
  const hasBytes = () => {
    try {
      return statSync(file).size > 0;
    } catch {
      return false;
    }
  };
  setInterval(() => hasBytes() && kill(), 1);
  write.then(kill, kill);
}

/**
 * A transient failure for retry tests: with RECOUNT_FAULT_TRANSIENT=<n> and RECOUNT_FAULT_COUNTER=<file>,
 * the first n attempts (counted across processes in that file; of RECOUNT_FAULT_ANALYZER only, if set) throw a retryable error.
 */
export function transientFault(analyzer: string): void {
  const n = Number(process.env.RECOUNT_FAULT_TRANSIENT ?? 0);
  const counter = process.env.RECOUNT_FAULT_COUNTER;
  if (!n || !counter) return;
  if (process.env.RECOUNT_FAULT_ANALYZER && process.env.RECOUNT_FAULT_ANALYZER !== analyzer) return;
  const seen = existsSync(counter) ? Number(readFileSync(counter, 'utf8') || 0) : 0;
  if (seen >= n) return;
  writeFileSync(counter, String(seen + 1));
  throw new RecountError('INTERNAL', `injected transient failure ${seen + 1} of ${n} (RECOUNT_FAULT_TRANSIENT)`, {
    hint: 'unset RECOUNT_FAULT_TRANSIENT',
  });
}

/** With RECOUNT_FAULT=exhaust-heap, fill the V8 heap until the process dies of it (tests the heap-OOM path). */
export function exhaustHeapFault(): void {
  if (process.env.RECOUNT_FAULT !== 'exhaust-heap') return;
  const hog: string[][] = [];
  for (;;) hog.push(Array.from({ length: 100_000 }, (_, i) => `recount-heap-${i}-${hog.length}`));
}

/** Where a race test can hold concurrent attempts until all of them got there. */
export const barrierPoints = ['before-claim'] as const;

/** The name of one barrier point. */
export type BarrierPoint = (typeof barrierPoints)[number];

/**
 * A barrier across processes for race tests: with RECOUNT_BARRIER=<name> and RECOUNT_BARRIER_DIR=<folder>, a process
 * reaching that point records itself in the folder and waits until RECOUNT_BARRIER_PARTIES (default 2) processes
 * have, so the attempts of a race really overlap there (both staged, neither claimed). Throws after
 * RECOUNT_BARRIER_TIMEOUT_MS (default 60 s), so a race that never forms fails loudly instead of passing in sequence.
 */
export async function barrierPoint(name: BarrierPoint): Promise<void> {
  const dir = process.env.RECOUNT_BARRIER_DIR;
  if (process.env.RECOUNT_BARRIER !== name || !dir) return;
  const parties = Number(process.env.RECOUNT_BARRIER_PARTIES ?? 2);
  const timeoutMs = Number(process.env.RECOUNT_BARRIER_TIMEOUT_MS ?? 60_000);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${process.pid}.arrived`), '');
  const arrived = () => readdirSync(dir).filter((f) => f.endsWith('.arrived')).length;
  const started = Date.now();
  while (arrived() < parties) {
    if (Date.now() - started > timeoutMs) {
      throw new RecountError(
        'INTERNAL',
        `barrier ${name}: ${arrived()} of ${parties} processes arrived in ${timeoutMs} ms (RECOUNT_BARRIER)`,
        { subject: dir, hint: 'unset RECOUNT_BARRIER' },
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
