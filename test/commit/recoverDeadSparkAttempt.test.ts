import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import type { StateStore } from '../../src/state/store.ts';
import { recover } from '../../src/commit/recovery.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { HOST } from '../../src/process/identity.ts';
import { deadAttemptStopper } from '../../src/engine/deadAttempts.ts';
import { attemptSessionId } from '../../src/engine/spark/attemptSession.ts';
import type { EngineChoice } from '../../src/config/project.ts';

// Recovery interrupts a dead Spark attempt's jobs in its session (named after the attempt) before removing its
// staging; a Spark endpoint that does not answer is a warning naming it, never a hang or a failed recovery.
// test/crash/spark/deadAttemptJob.test.ts proves the interrupt against a real Spark.

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('recovery of a dead attempt whose analyzer runs on Spark', () => {
  let dir: string;
  let store: StateStore;
  const layout = () => new OutputLayout(join(dir, 'out'));
  beforeAll(async () => {
    dir = tempDir('recount-dead-spark-');
    store = await openSqliteStore(join(dir, 'state.db'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names each attempt’s session by a UUID (version 5) derived from its attempt id alone', () => {
    const id = attemptSessionId('mx7qtgke-183b054e6c');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(attemptSessionId('mx7qtgke-183b054e6c')).toBe(id);
    expect(attemptSessionId('mx7qtgke-183b054e6d')).not.toBe(id);
  });

  it('warns naming an unreachable endpoint, and still marks the attempt crashed and removes its staging', async () => {
    const attemptId = 'dead-spark-1';
    const stagingDir = layout().stagingDir(attemptId);
    await store.beginAttempt({
      runId: attemptId,
      attemptId,
      analyzer: 'on_spark',
      partitionId: '2023-10-12T00',
      trigger: 'test',
      pid: 999999999,
      host: HOST,
      procToken: '999999999:1',
      threads: 1,
      memoryBytes: 1,
      stagingDir,
    });
    mkdirSync(join(stagingDir, '_spark_out'), { recursive: true });
    writeFileSync(join(stagingDir, '_spark_out', 'part-00000.parquet'), 'x');
    const port = await closedPort();
    const engine: EngineChoice = { name: 'spark', remote: `sc://127.0.0.1:${port}`, conf: {} };
    const warnings: string[] = [];
    const stopDeadAttempts = deadAttemptStopper(new Map([['on_spark', { engineChoice: engine }]]), (m) =>
      warnings.push(m),
    );

    const started = Date.now();
    const r = await recover(store, layout(), { stopDeadAttempts });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.crashedAttempts).toEqual([attemptId]);
    expect(r.removedStaging).toEqual([attemptId]);
    expect(r.interruptedAttempts).toEqual([]);
    expect(existsSync(stagingDir)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`sc://127.0.0.1:${port}`);
    expect(warnings[0]).toContain(attemptId);
  });
});
