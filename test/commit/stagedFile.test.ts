import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashAndFlush } from '../../src/commit/stagedFile.ts';
import { tempDir } from '../helpers/project.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/hashSmallMemory.ts', import.meta.url));
const MiB = 1 << 20;

describe('hashAndFlush (a staged file sealed into the manifest)', () => {
  it.each([0, 1, 8_000, MiB - 1, MiB, MiB + 1, 3 * MiB + 17])(
    'a file of %i bytes: its sha256 and byte count are those of its content',
    async (size) => {
      const dir = tempDir('recount-staged-');
      try {
        const path = join(dir, 'part-0.parquet');
        const content = Buffer.alloc(size);
        for (let i = 0; i < size; i++) content[i] = (i * 31 + (i >> 13)) & 0xff;
        writeFileSync(path, content);
        expect(await hashAndFlush(path)).toEqual({
          sha256: createHash('sha256').update(content).digest('hex'),
          bytes: size,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('hashing a small file takes a buffer of its size, not a 1 MiB one each time', () => {
    // Before the fix every call took a 1 MiB read buffer whatever the file's size: 64 hashes of an 8 KB file grew
    // ArrayBuffer memory by ~31 MB (0.5 MB after). V8 counts ArrayBuffer memory against a worker's small heap limit
    // (64 MB): a serve worker ran a full mark-compact every few attempts, ~10% of its CPU.
    const dir = tempDir('recount-staged-mem-');
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', FIXTURE, dir, '64'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    rmSync(dir, { recursive: true, force: true });
    expect({ status: r.status, stderr: r.stderr.slice(-500) }).toEqual({ status: 0, stderr: '' });
    const out = JSON.parse(r.stdout) as { hashed: number; peakGrowthBytes: number };
    expect(out.hashed).toBe(64);
    expect(out.peakGrowthBytes).toBeLessThan(4 * MiB);
  }, 90_000);
});
