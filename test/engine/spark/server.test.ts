import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sparkRemote } from '../../spark/remote.ts';

describe('the test Spark Connect server', () => {
  it('accepts connections at the address the setup hands out', async () => {
    const m = /^sc:\/\/([^:/]+):(\d+)/.exec(sparkRemote());
    expect(m).not.toBeNull();
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: m![1], port: Number(m![2]) });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    expect(ok).toBe(true);
  });
});
