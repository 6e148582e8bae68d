import { closeSync, fsyncSync, openSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

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

/** Write a file, then flush it and its folder at once (not one after the other); both are durable when this resolves. */
export async function writeFileAndFolderDurable(path: string, data: string | Buffer): Promise<void> {
  writeFileSync(path, data);
  await Promise.all([fsyncPathAsync(path), fsyncPathAsync(dirname(path))]);
}
