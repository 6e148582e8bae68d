import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { assertNoOrphans, assertPublishedComplete } from '../helpers/invariants.ts';
import { openPostgresStore } from '../../src/state/postgres/postgresStore.ts';

describe('recount with its state store on PostgreSQL', () => {
  let pgServer: TestPostgres;
  let tp: TestProject;
  let url: string;
  beforeAll(async () => {
    pgServer = await startPostgres();
    url = await pgServer.createDatabase('recount_state_e2e');
    tp = await makeProject({ hours: 1, rowsPerHour: 3000 });
  });
  afterAll(async () => {
    tp?.cleanup();
    await pgServer?.stop();
  });

  it('runs, survives a SIGKILL after the publish claim, and recovers on the next command (RECOUNT_STATE)', async () => {
    const env = { RECOUNT_STATE: url };
    const first = tp.cli(['--json', 'run', 'ad_impressions_hourly', '--partition', '2023-10-12T00'], env);
    expect(first.code).toBe(0);
    expect(first.json.version).toBe(1);
    const killed = tp.cli(['run', 'ad_impressions_hourly', '--partition', '2023-10-12T00'], {
      ...env,
      RECOUNT_FAULT: 'after-claim',
    });
    expect(killed.signal).toBe('SIGKILL');
    const status = tp.cli(['--json', 'status', 'ad_impressions_hourly', '--partition', '2023-10-12T00'], env);
    expect(status.code).toBe(0);
    expect(status.json.publishedVersion).toBe(2);
    const store = await openPostgresStore(url);
    try {
      const view = await assertPublishedComplete(join(tp.dir, 'data/out'), 'ad_impressions_hourly', '2023-10-12T00');
      expect(view!.manifest.version).toBe(2);
      await assertNoOrphans(store, join(tp.dir, 'data/out'));
      expect(status.stdout).not.toContain(pgServer.password);
    } finally {
      await store.close();
    }
  });
});
