import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentProcIdentity, currentProcToken, formatProcToken, HOST } from '../../src/process/identity.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { swapPublishedLink } from '../../src/commit/publish.ts';
import { recover } from '../../src/commit/recovery.ts';
import { tempLinkName, tempLinkOwner } from '../../src/commit/tempLink.ts';
import { LEASE_EXPIRY_MS } from '../../src/state/leaseStore.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import type { StateStore } from '../../src/state/store.ts';

/** A pid that is not running here: a short child's, after it exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

// Hosts (or containers sharing a host name) share an output root: a temp link left in .recount/tmp mid-publish is
// removed by a sweep on any of them only once its owner is dead by the owner's own rule (pid here, lease elsewhere).
describe('the temp-link sweep judges each link by its owner', () => {
  let dir: string;
  let store: StateStore;
  let layout: OutputLayout;
  const link = (name: string) => {
    mkdirSync(layout.tmpRoot, { recursive: true });
    symlinkSync('../versions/a/x/v000001', join(layout.tmpRoot, name));
    return name;
  };
  const left = () => (existsSync(layout.tmpRoot) ? readdirSync(layout.tmpRoot).sort() : []);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recount-tmplink-'));
    store = await openSqliteStore(join(dir, 'state.db'));
    layout = new OutputLayout(join(dir, 'out'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a publish names its temp link by host and token, and leaves none behind', () => {
    const name = tempLinkName(HOST, currentProcToken());
    expect(tempLinkOwner(name)).toEqual({ host: HOST, token: currentProcToken() });
    mkdirSync(join(dir, 'out/.recount/versions/a/x/v000001'), { recursive: true });
    swapPublishedLink(
      layout,
      layout.publishedPath('a', '2023-10-12T00'),
      join(dir, 'out/.recount/versions/a/x/v000001'),
    );
    expect(left()).toEqual([]);
  });

  it("another host's or container's link stays while its lease lives and goes when it expires; a dead local owner's goes", async () => {
    const me = currentProcIdentity();
    const remoteToken = `${deadPid()}:1`;
    const containerToken = formatProcToken({ ...me, pid: deadPid(), pidNs: `${me.pidNs}3`, nonce: 'aa' });
    const localDeadToken = formatProcToken({ ...me, pid: deadPid(), nonce: 'bb' });
    const remote = link(tempLinkName('far-host', remoteToken));
    const container = link(tempLinkName(HOST, containerToken));
    const mine = link(tempLinkName(HOST, currentProcToken()));
    const localDead = link(tempLinkName(HOST, localDeadToken));
    await store.leases.beat('far-host', remoteToken, 1);
    await store.leases.beat(HOST, containerToken, 1);
    await recover(store, layout);
    expect(left()).toEqual([remote, container, mine].sort());
    await store.leases.beat('far-host', remoteToken, 1, LEASE_EXPIRY_MS + 1_000);
    await store.leases.beat(HOST, containerToken, 1, LEASE_EXPIRY_MS + 1_000);
    await recover(store, layout);
    expect(left()).toEqual([mine]);
    expect(localDead).not.toBe(mine);
  });

  it('a link named only by a pid (its host unknown) is not judged by a local pid: it goes once it is an hour old', async () => {
    const fresh = link(`link-${deadPid()}-0a0b0c0d`);
    const old = link(`link-${deadPid()}-01020304`);
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    lutimesSync(join(layout.tmpRoot, old), hourAgo, hourAgo);
    expect(lstatSync(join(layout.tmpRoot, old)).mtimeMs).toBeLessThan(Date.now() - 3600_000);
    await recover(store, layout);
    expect(left()).toEqual([fresh]);
  });
});
