import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** What a staged file holds, as the manifest records it. */
export interface StagedFileDigest {
  readonly sha256: string;
  readonly bytes: number;
}

/** The largest read buffer: a bigger file is read in slices of this size. */
const MAX_READ_BYTES = 1 << 20;

/**
 * Hash a staged file and flush it to disk through one open file: one read pass for the sha256 (the bytes counted
 * on the way), then fsync of the same descriptor, so the file the manifest names is durable.
 *
 * The read buffer is sized to the file (fstat), at most MAX_READ_BYTES. A fixed 1 MiB buffer for files of a few KB
 * was 4 MiB of ArrayBuffer per attempt of four buckets, and V8 counts ArrayBuffer memory against the worker's small
 * heap limit: it ran a full mark-compact every few attempts (~300 in a 725-partition serve, ~10% of a worker's CPU).
 */
export async function hashAndFlush(path: string): Promise<StagedFileDigest> {
  const handle = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const { size } = await handle.stat();
    const buf = Buffer.allocUnsafe(Math.min(MAX_READ_BYTES, Math.max(size, 1)));
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    await handle.sync();
    return { sha256: h.digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}
