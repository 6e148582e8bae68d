import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncPath } from './fsync.ts';

/**
 * mkdir -p, one component at a time. Node's recursive mkdir spins forever where a parent refuses new entries
 * with ENOENT (under /proc, for one); here every failure is thrown at once, naming the path. Returns the
 * folders that were missing (top down).
 */
export function ensureDir(path: string): string[] {
  const missing: string[] = [];
  let p = path;
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return missing;
}

/**
 * ensureDir, then flush the parent of every folder it had to create, so each new folder's entry is on disk before
 * anything is renamed into it or recorded as there (a folder made by mkdir alone can vanish in a machine crash).
 * Returns the folders created (top down). `flush` is fsyncPath; tests pass one that also records.
 */
export function ensureDirDurable(path: string, flush: (dir: string) => void = fsyncPath): string[] {
  const created = ensureDir(path);
  for (const dir of created) flush(dirname(dir));
  return created;
}
