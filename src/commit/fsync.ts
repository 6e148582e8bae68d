import { closeSync, fsyncSync, openSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

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

/** Flush a file off the event loop, so the files of a version are flushed together rather than one after another. */
export async function fsyncPathAsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
