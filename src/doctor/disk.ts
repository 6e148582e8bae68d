import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatBytes } from '../config/size.ts';
import type { Finding } from './finding.ts';

/** Free bytes on the volume holding a path (or its nearest existing parent), or undefined if it cannot be read. */
export function freeBytes(path: string): { bytes: number; at: string } | undefined {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  try {
    const s = statfsSync(p);
    return { bytes: Number(s.bavail) * Number(s.bsize), at: p };
  } catch {
    return undefined;
  }
}

/**
 * Free disk for output and spill: a problem below `minFreeBytes`; for spill, a warning when it is below the
 * largest analyzer memory budget (DuckDB spills what does not fit its memory limit there).
 */
export function checkDisk(opts: {
  outputRoot: string;
  spillDir: string;
  minFreeBytes: number;
  largestMemoryBytes: number;
}): Finding[] {
  const findings: Finding[] = [];
  for (const [what, path] of [
    ['output', opts.outputRoot],
    ['spill', opts.spillDir],
  ] as const) {
    const free = freeBytes(path);
    if (!free) {
      findings.push({
        check: 'disk',
        status: 'warning',
        subject: path,
        message: `cannot read the free space of the ${what} volume at ${path}`,
      });
      continue;
    }
    const details = { path, volume: free.at, freeBytes: free.bytes };
    if (free.bytes < opts.minFreeBytes) {
      findings.push({
        check: 'disk',
        status: 'problem',
        subject: path,
        message: `${what} volume has ${formatBytes(free.bytes)} free, less than ${formatBytes(opts.minFreeBytes)}`,
        hint: `free space there, or point ${what} elsewhere in recount.config.ts; a full disk fails attempts (nothing partial is published)`,
        details,
      });
    } else if (what === 'spill' && free.bytes < opts.largestMemoryBytes) {
      findings.push({
        check: 'disk',
        status: 'warning',
        subject: path,
        message: `spill volume has ${formatBytes(free.bytes)} free, less than the largest analyzer memory budget (${formatBytes(opts.largestMemoryBytes)})`,
        hint: 'a query that spills may fill it; free space or move spill',
        details,
      });
    } else {
      findings.push({
        check: 'disk',
        status: 'ok',
        subject: path,
        message: `${what} volume has ${formatBytes(free.bytes)} free`,
        details,
      });
    }
  }
  return findings;
}
