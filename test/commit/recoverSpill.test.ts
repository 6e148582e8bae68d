import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import type { StateStore } from '../../src/state/store.ts';
import { recover } from '../../src/commit/recovery.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { currentProcToken, HOST } from '../../src/process/identity.ts';

// A worker killed by SIGKILL (the RSS watchdog, a crash) never removes DuckDB's spill: recovery must.
describe('recovery removes the spill of dead attempts', () => {
  let dir: string;
  let store: StateStore;
  const spill = () => join(dir, 'spill');
  const folder = (name: string) => {
    mkdirSync(join(spill(), name), { recursive: true });
    writeFileSync(join(spill(), name, 'duckdb_temp_storage-0.tmp'), Buffer.alloc(4096));
    return join(spill(), name);
  };
  const begin = (attemptId: string, procToken: string) =>
    store.beginAttempt({
      runId: attemptId,
      attemptId,
      analyzer: 'a',
      partitionId: '2023-10-12T00',
      trigger: 'test',
      pid: Number(procToken.split(':')[0]),
      host: HOST,
      procToken,
      threads: 1,
      memoryBytes: 1,
      stagingDir: join(dir, 'out/.recount/staging', attemptId),
    });

  beforeAll(async () => {
    dir = tempDir('recount-spill-');
    store = await openSqliteStore(join(dir, 'state.db'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes a dead attempt’s spill and an old unclaimed folder; keeps a live attempt’s and a fresh unknown one', async () => {
    await begin('dead-1', '999999999:1');
    await begin('live-1', currentProcToken());
    const dead = folder('dead-1');
    const live = folder('live-1');
    const fresh = folder('no-attempt-fresh');
    const old = folder('no-attempt-old');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);

    const r = await recover(store, new OutputLayout(join(dir, 'out')), { spillDir: spill() });
    expect(r.removedSpill.sort()).toEqual(['dead-1', 'no-attempt-old']);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(fresh)).toBe(true);
    expect((await store.getAttempt('dead-1'))!.status).toBe('crashed');
    expect((await store.getAttempt('live-1'))!.status).toBe('running');
  });

  it('without a spill folder configured, leaves spill alone', async () => {
    await begin('dead-2', '999999998:1');
    const dead = folder('dead-2');
    const r = await recover(store, new OutputLayout(join(dir, 'out')));
    expect(r.removedSpill).toEqual([]);
    expect(existsSync(dead)).toBe(true);
  });
});
