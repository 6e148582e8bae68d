import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertPublishedComplete,
  assertReaderSeesOnlyCommitted,
  type PublishedView,
} from '../../helpers/invariants.ts';
import { REPO } from '../../helpers/project.ts';
import { AFTER_SWITCH, ANALYZER, ATTEMPT_POINTS, assertReadersI1, hour, useCrashProject } from '../harness.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { SPARK_LAYOUT_SCHEME } from '../../../src/layout/schemes.ts';
import { OutputLayout } from '../../../src/commit/paths.ts';

// The crash suite's fault points during attempts that run on Spark: a `recount run` child process kills itself with
// SIGKILL at each point while a previous version is published; the previous version stays, the retry publishes the
// fault-free rows exactly once, and the dead attempt's staging (Spark's own write folder included) is gone.

/** The example config, run on the test's Spark Connect server. */
function sparkConfig(): string {
  return readFileSync(join(REPO, 'examples/ad-tech/recount.config.ts'), 'utf8').replace(
    "output: 'data/out',",
    `output: 'data/out',\n  engine: { spark: { remote: ${JSON.stringify(sparkRemote())}, conf: { 'spark.sql.shuffle.partitions': '4' } } },`,
  );
}

describe('a recount run on Spark killed by SIGKILL at each fault point while a previous version is published', () => {
  const cp = useCrashProject(1, () => ({ config: sparkConfig() }));
  const partition = hour(0);

  async function previous(): Promise<PublishedView> {
    let view = await assertPublishedComplete(cp.out, ANALYZER, partition);
    if (!view) {
      const first = cp.run(partition);
      expect(first.code, first.stderr).toBe(0);
      view = await assertPublishedComplete(cp.out, ANALYZER, partition);
    }
    expect(view!.manifest.layout.rule).toBe(SPARK_LAYOUT_SCHEME);
    return view!;
  }

  for (const point of ATTEMPT_POINTS) {
    const expectation = AFTER_SWITCH.includes(point)
      ? 'the new version is visible and complete'
      : 'the previous version stays visible and complete';
    it(`${point}: ${expectation}; the retry publishes the fault-free rows once and leaves no staging behind`, async () => {
      const prev = await previous();
      const before = await cp.attemptIds(partition);
      // Readers in their own processes (the README's glob and `recount files`) read through the kill and the retry.
      const readers = await cp.startReaders(partition);

      const killed = cp.run(partition, point);
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');

      const now = await assertPublishedComplete(cp.out, ANALYZER, partition);
      if (AFTER_SWITCH.includes(point)) {
        expect(now?.version).toBe(prev.version + 1);
      } else {
        expect(now?.version).toBe(prev.version);
        expect(now?.manifest.attemptId).toBe(prev.manifest.attemptId);
      }
      await assertReaderSeesOnlyCommitted(cp.out, ANALYZER);

      const view = await cp.retryAndAssert(partition, before, { point, seq: prev.version + 1 });
      expect(view.manifest.provenance.engine).toBe('spark');
      assertReadersI1(await readers.stop(), point);
      const staging = new OutputLayout(cp.out).stagingRoot;
      if (existsSync(staging)) expect(readdirSync(staging)).toEqual([]);
    });
  }
});
