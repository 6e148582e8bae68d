import { describe, expect, it } from 'vitest';
import { assertPublishedComplete, assertReaderSeesOnlyCommitted, type PublishedView } from '../helpers/invariants.ts';
import {
  AFTER_SWITCH,
  ANALYZER,
  ATTEMPT_POINTS,
  assertReadersI1,
  hour,
  stagedParquetBytes,
  useCrashProject,
} from './harness.ts';

// A real `recount run` child process kills itself with SIGKILL at each named fault point (RECOUNT_FAULT) while
// a previous version is published; right after the kill a reader must still see one complete version, and the
// plain retry that follows must recover and publish exactly the rows of a fault-free run, with nothing left behind.
// Two readers in their own processes (the README's glob, and the files `recount files` resolves) read the partition
// all through the killed attempt, the recovery and the retry: never a mixed or partial answer (I1).

describe('a recount run killed by SIGKILL at each fault point while a previous version is published', () => {
  const cp = useCrashProject(1);
  const partition = hour(0);

  async function previous(): Promise<PublishedView> {
    let view = await assertPublishedComplete(cp.out, ANALYZER, partition);
    if (!view) {
      const first = cp.run(partition);
      expect(first.code, first.stderr).toBe(0);
      view = await assertPublishedComplete(cp.out, ANALYZER, partition);
    }
    return view!;
  }

  for (const point of ATTEMPT_POINTS) {
    const expectation = AFTER_SWITCH.includes(point)
      ? 'the new version is visible and complete'
      : 'the previous version stays visible and complete';
    it(`${point}: ${expectation}; the retry publishes the fault-free rows and leaves no orphans`, async () => {
      const prev = await previous();
      const before = await cp.attemptIds(partition);
      const readers = await cp.startReaders(partition);

      const killed = cp.run(partition, point);
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      // during-query dies while DuckDB writes the staged files: some staged Parquet bytes are on disk at the kill.
      if (point === 'during-query')
        expect(stagedParquetBytes(cp.out), 'staged bytes on disk at the during-query kill').toBeGreaterThan(0);

      const now = await assertPublishedComplete(cp.out, ANALYZER, partition);
      if (AFTER_SWITCH.includes(point)) {
        expect(now?.version).toBe(prev.version + 1);
        expect(now?.manifest.attemptId).not.toBe(prev.manifest.attemptId);
        // _SUCCESS is in the version folder before the switch: the published path is ready at every instant.
        expect(now?.success).toBe(true);
      } else {
        expect(now?.version).toBe(prev.version);
        expect(now?.manifest.attemptId).toBe(prev.manifest.attemptId);
        expect(now?.success).toBe(true);
      }
      await assertReaderSeesOnlyCommitted(cp.out, ANALYZER);

      await cp.retryAndAssert(partition, before, { point, seq: prev.version + 1 });
      assertReadersI1(await readers.stop(), point);
    });
  }

  it('during-recovery: a recovery killed twice while finishing an interrupted publish still rolls it forward on the next start', async () => {
    const prev = await previous();
    const before = await cp.attemptIds(partition);
    const readers = await cp.startReaders(partition);

    const claimed = cp.run(partition, 'after-claim');
    expect(claimed.signal, claimed.stderr).toBe('SIGKILL');
    expect((await assertPublishedComplete(cp.out, ANALYZER, partition))?.version).toBe(prev.version);

    // Recovery runs at the start of every command: this one dies inside it, after moving the staged files
    // to their version folder; the second dies there again, now with the folder already in place.
    for (let i = 0; i < 2; i++) {
      const recovering = cp.run(partition, 'during-recovery');
      expect(recovering.signal, recovering.stderr).toBe('SIGKILL');
      const now = await assertPublishedComplete(cp.out, ANALYZER, partition);
      expect(now?.version).toBe(prev.version);
      expect(now?.manifest.attemptId).toBe(prev.manifest.attemptId);
      await assertReaderSeesOnlyCommitted(cp.out, ANALYZER);
    }

    await cp.retryAndAssert(partition, before, { point: 'after-claim', seq: prev.version + 1 });
    assertReadersI1(await readers.stop(), 'during-recovery');
  });
});
