import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { openPostgresStore } from '../../src/state/postgres/postgresStore.ts';
import { stateStoreContract } from './contract.ts';

let pgServer: TestPostgres;
let n = 0;
beforeAll(async () => {
  pgServer = await startPostgres();
});
afterAll(async () => {
  await pgServer?.stop();
});

stateStoreContract('PostgreSQL', {
  concurrentInProcess: true,
  async open() {
    const url = await pgServer.createDatabase(`state_${process.pid}_${n++}`);
    const store = await openPostgresStore(url);
    return { store, second: () => openPostgresStore(url), cleanup: () => store.close() };
  },
});

describe('PostgreSQL state store errors', () => {
  it('a wrong password is a STATE_STORE error that never shows the password', async () => {
    const bad = pgServer.url.replace(pgServer.password, 'not-the-password-xyz');
    const err = await openPostgresStore(bad).catch((e) => e);
    expect(err.code).toBe('STATE_STORE');
    expect(err.message).not.toContain('not-the-password-xyz');
    expect(err.message).toContain('***');
    expect(err.hint).toMatch(/password/);
  });
});
