import { describe, expect, it } from 'vitest';
import { assertPublishedComplete, assertReaderSeesOnlyCommitted } from '../helpers/invariants.ts';
import { AFTER_SWITCH, ANALYZER, ATTEMPT_POINTS, hour, useCrashProject } from './harness.ts';

// The first publish of a partition killed by SIGKILL at each named fault point: the published path is absent or
// one complete version, and the plain retry that follows publishes the fault-free rows with nothing left behind.

describe('the first publish of a partition killed by SIGKILL at each fault point', () => {
  const cp = useCrashProject(ATTEMPT_POINTS.length);
  // Each kill is retried before the next: a pending intent left by one would make the next command die
  // in its recovery (which passes the same fault points) instead of in its own attempt.
  ATTEMPT_POINTS.forEach((point, i) => {
    const partition = hour(i);
    const expectation = AFTER_SWITCH.includes(point)
      ? 'the first version is visible and complete'
      : 'nothing is visible';
    it(`${point}: ${expectation}; the retry publishes the fault-free rows and leaves no orphans`, async () => {
      const killed = cp.run(partition, point);
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');

      const now = await assertPublishedComplete(cp.out, ANALYZER, partition);
      if (AFTER_SWITCH.includes(point)) {
        expect(now?.version).toBe(1);
        // _SUCCESS is in the version folder before the switch: ready from the first instant it is visible.
        expect(now?.success).toBe(true);
      } else {
        expect(now).toBeUndefined();
      }
      await assertReaderSeesOnlyCommitted(cp.out, ANALYZER);

      await cp.retryAndAssert(partition, new Set(), { point, seq: 1 });
    });
  });
});
