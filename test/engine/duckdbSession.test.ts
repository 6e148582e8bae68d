import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/project.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/closeWhileSampling.ts', import.meta.url));

describe('DuckDB engine session', () => {
  it('closing a session while memory and spill samples are in flight neither crashes nor hangs the process', () => {
    // Before the fix, closing the sampling connection and the instance under a running sample killed the process
    // with SIGSEGV or "corrupted double-linked list", or deadlocked it, within a few hundred sessions.
    const dir = tempDir('recount-close-race-');
    const r = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, join(dir, 'spill'), '400'], { encoding: 'utf8', timeout: 90_000 });
    rmSync(dir, { recursive: true, force: true });
    expect({ signal: r.signal, status: r.status, stderr: r.stderr.slice(-500) }).toEqual({ signal: null, status: 0, stderr: '' });
    const out = JSON.parse(r.stdout) as { sessions: number; sampled: number };
    expect(out.sessions).toBe(400);
    expect(out.sampled).toBe(400);
  }, 120_000);
});
