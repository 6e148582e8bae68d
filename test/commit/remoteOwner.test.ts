import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputLayout } from '../../src/commit/paths.ts';
import { recover } from '../../src/commit/recovery.ts';
import { currentProcIdentity, formatProcToken, HOST } from '../../src/process/identity.ts';
import { LEASE_EXPIRY_MS } from '../../src/state/leaseStore.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import type { StateStore } from '../../src/state/store.ts';

const REMOTE = 'another-host.example';
const TOKEN = '4242:999';

// Two hosts sharing a state store (PostgreSQL for teams) and an output root: recovery on one host must leave a
// live remote attempt alone and clean up after a dead one. A remote process cannot be signalled; its lease tells.
describe('recovery of an attempt owned by another host', () => {
  let dir: string;
  let store: StateStore;
  let layout: OutputLayout;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recount-remote-'));
    store = await openSqliteStore(join(dir, 'state.db'));
    layout = new OutputLayout(join(dir, 'out'));
    const staging = layout.stagingDir('remote-1');
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'part-00000.parquet'), 'staged by the remote attempt');
    await store.beginAttempt({
      runId: 'remote-1',
      attemptId: 'remote-1',
      analyzer: 'a',
      partitionId: '2023-10-12T00',
      trigger: 'new-data',
      pid: 4242,
      host: REMOTE,
      procToken: TOKEN,
      threads: 1,
      memoryBytes: 1e8,
      stagingDir: staging,
    });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a remote owner beating its lease is alive: its attempt stays running and its staging stays', async () => {
    await store.leases.beat(REMOTE, TOKEN, 4242);
    const r = await recover(store, layout);
    expect(r.crashedAttempts).toEqual([]);
    expect(r.removedStaging).toEqual([]);
    expect((await store.getAttempt('remote-1'))!.status).toBe('running');
    expect(existsSync(layout.stagingDir('remote-1'))).toBe(true);
  });

  it('a remote owner whose lease expired is dead: its attempt is crashed and its staging removed', async () => {
    await store.leases.beat(REMOTE, TOKEN, 4242, LEASE_EXPIRY_MS + 5_000);
    const r = await recover(store, layout);
    expect(r.crashedAttempts).toEqual(['remote-1']);
    expect(r.removedStaging).toEqual(['remote-1']);
    expect((await store.getAttempt('remote-1'))!.error_message).toContain(`on ${REMOTE}) died`);
  });

  it('a remote owner that never took a lease (an older recount) is dead too', async () => {
    const r = await recover(store, layout);
    expect(r.crashedAttempts).toEqual(['remote-1']);
  });
});

// Two containers sharing a host name (host networking) but not a pid namespace: the other container's pid means
// nothing here (pid 1 exists here too; its own pid may be free here), so recovery must ask its lease.
describe('recovery of an attempt owned by another container on this host name', () => {
  let dir: string;
  let store: StateStore;
  let layout: OutputLayout;
  const me = currentProcIdentity();
  const TOKEN_OTHER_NS = formatProcToken({ ...me, pid: 1, start: '1', pidNs: `${me.pidNs}7`, nonce: 'abc123' });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recount-container-'));
    store = await openSqliteStore(join(dir, 'state.db'));
    layout = new OutputLayout(join(dir, 'out'));
    const staging = layout.stagingDir('container-1');
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'part-00000.parquet'), 'staged by the other container');
    await store.beginAttempt({
      runId: 'container-1',
      attemptId: 'container-1',
      analyzer: 'a',
      partitionId: '2023-10-12T00',
      trigger: 'new-data',
      pid: 1,
      host: HOST,
      procToken: TOKEN_OTHER_NS,
      threads: 1,
      memoryBytes: 1e8,
      stagingDir: staging,
    });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('alive by its lease: its attempt stays running and its staging stays', async () => {
    await store.leases.beat(HOST, TOKEN_OTHER_NS, 1);
    const r = await recover(store, layout);
    expect(r.crashedAttempts).toEqual([]);
    expect(existsSync(layout.stagingDir('container-1'))).toBe(true);
  });

  it('dead once its lease expired', async () => {
    await store.leases.beat(HOST, TOKEN_OTHER_NS, 1, LEASE_EXPIRY_MS + 5_000);
    const r = await recover(store, layout);
    expect(r.crashedAttempts).toEqual(['container-1']);
    expect(r.removedStaging).toEqual(['container-1']);
  });
});
