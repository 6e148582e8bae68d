import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** What a staged file holds, as the manifest records it. */
export interface StagedFileDigest {
  readonly sha256: string;
  readonly bytes: number;
}

/**
 * Hash a staged file and flush it to disk through one open file: one read pass for the sha256 (the bytes counted
 * on the way, so no stat), then fsync of the same descriptor, so the file the manifest names is durable.
 */
export async function hashAndFlush(path: string): Promise<StagedFileDigest> {
  const handle = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
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
