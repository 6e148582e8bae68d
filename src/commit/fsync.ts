import { closeSync, fsyncSync, openSync, writeFileSync } from 'node:fs';

/** Flush a file or folder to disk, so a rename that follows cannot expose data a crash would lose. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write a file and flush it. */
export function writeFileDurable(path: string, data: string | Buffer): void {
  writeFileSync(path, data);
  fsyncPath(path);
}
