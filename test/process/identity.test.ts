import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  currentProcIdentity,
  currentProcToken,
  formatProcToken,
  HOST,
  isProcessAlive,
  judgedByPid,
  parseProcToken,
} from '../../src/process/identity.ts';

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

describe('process identity', () => {
  it('a token names pid, start time, boot id, pid namespace and a random id, and reads back', () => {
    const me = currentProcIdentity();
    expect(parseProcToken(currentProcToken())).toEqual(me);
    expect(me.boot).toMatch(/^[0-9a-f]{32}$/);
    expect(me.pidNs).toMatch(/^\d+$/);
    expect(parseProcToken('12:34')).toEqual({ pid: 12, start: '34', boot: '', pidNs: '', nonce: '' });
  });

  it('an owner in another pid namespace or boot on this host name is not judged by a local pid (assumed alive here; its lease tells)', () => {
    const me = currentProcIdentity();
    const otherNs = formatProcToken({ ...me, pid: 999_999, pidNs: `${me.pidNs}1` });
    const otherBoot = formatProcToken({ ...me, start: '1', boot: '0'.repeat(32) });
    expect(judgedByPid(HOST, otherNs)).toBe(false);
    expect(isProcessAlive(HOST, otherNs)).toBe(true);
    expect(judgedByPid(HOST, otherBoot)).toBe(false);
    expect(isProcessAlive(HOST, otherBoot)).toBe(true);
    // Same boot and namespace: the pid decides; a pid that is gone or reused is dead.
    expect(isProcessAlive(HOST, formatProcToken({ ...me, pid: 999_999 }))).toBe(false);
    expect(isProcessAlive(HOST, formatProcToken({ ...me, start: '1' }))).toBe(false);
  });
});
