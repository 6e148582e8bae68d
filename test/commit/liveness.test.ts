import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { currentProcToken, HOST, isProcessAlive } from '../../src/commit/liveness.ts';

describe('process liveness', () => {
  it('this process is alive; a token with another start time (a reused pid) is not', () => {
    expect(isProcessAlive(HOST, currentProcToken())).toBe(true);
    expect(isProcessAlive(HOST, `${process.pid}:1`)).toBe(false);
  });

  it('a zombie (exited, not yet reaped by its parent) is dead, though kill(pid, 0) still finds it', async () => {
    // sh starts a short sleep in the background, then becomes a long sleep that never waits for it.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [chunk] = (await once(parent.stdout!, 'data')) as [Buffer];
      const pid = Number(chunk.toString().trim());
      expect(pid).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 600));
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isProcessAlive(HOST, `${pid}:`)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a process on another host is assumed alive (no lease across hosts)', () => {
    expect(isProcessAlive(`${HOST}-elsewhere`, '1:1')).toBe(true);
  });
});
