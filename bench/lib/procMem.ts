import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Memory figures of one process from /proc/<pid>/status, in bytes (0 when the process is gone). */
export interface ProcMemory {
  readonly rss: number;
  /** Kernel high-water mark of RSS since start or since the last resetPeak(). */
  readonly peak: number;
  /** Anonymous pages (heaps, DuckDB buffers): where a leak shows. */
  readonly anon: number;
  /** File-backed pages (mapped libraries, page cache of mapped files): moves with what the process touched, not with leaks. */
  readonly file: number;
}

function kb(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Read another process's memory from /proc; all zeros if it has exited. */
export function procMemory(pid: number): ProcMemory {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rss: 0, peak: 0, anon: 0, file: 0 };
  }
  return {
    rss: kb(status, 'VmRSS'),
    peak: kb(status, 'VmHWM'),
    anon: kb(status, 'RssAnon'),
    file: kb(status, 'RssFile'),
  };
}

/**
 * Reset a process's RSS high-water mark to its current RSS (Linux: write 5 to /proc/<pid>/clear_refs), so the
 * next procMemory().peak is the exact peak of what runs in between, native memory included. False if not allowed.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** pids of a process's direct children, whichever of its threads forked them (Linux /proc/<pid>/task/<tid>/children). */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
        if (c) out.add(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** A process's command line (arguments joined by spaces); '' if it is gone. */
export function procCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
