import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StateStore, StagedVersion } from '../../src/state/store.ts';
import { readFileSync, readlinkSync } from 'node:fs';
import { currentProcToken, HOST } from '../../src/process/identity.ts';
import { ownerAlive } from '../../src/commit/liveness.ts';
import { LEASE_EXPIRY_MS } from '../../src/state/leaseStore.ts';

/** Opens a fresh, empty, migrated store; `second` opens another connection to the same store. */
export interface StoreFactory {
  /**
   * Whether two connections in one process can hold transactions at once. better-sqlite3 is synchronous,
   * so a second SQLite connection in the same process would block the first one's event loop; SQLite's
   * cross-process races are covered by test/crash/race.test.ts and the serve tests instead.
   */
  readonly concurrentInProcess: boolean;
  open(): Promise<{ store: StateStore; second(): Promise<StateStore>; cleanup(): Promise<void> }>;
}

const attempt = (id: string, partitionId = '2023-10-12T00') => ({
  runId: id,
  attemptId: id,
  analyzer: 'a',
  partitionId,
  trigger: 'run',
  pid: 1,
  host: 'h',
  procToken: '1:1',
  threads: 2,
  memoryBytes: 1_000_000,
  stagingDir: `/staging/${id}`,
});

const staged = (attemptId: string, seq: number, partitionId = '2023-10-12T00'): StagedVersion => ({
  analyzer: 'a',
  partitionId,
  seq,
  attemptId,
  stagingDir: `/staging/${attemptId}`,
  versionDir: `/versions/a/${partitionId}/v${seq}`,
  rows: 10 * seq,
  bytes: 100,
  files: 2,
  manifestSha256: 'm',
  inputFingerprint: 'fp',
  sqlHash: 'sql',
  engineVersion: 'v1.5.6',
  recountVersion: '0.1.0',
});

const owner = { host: 'test-host', token: '1:1' };
const policy = { limit: 5, concurrency: () => 5, order: () => 'oldest' as const };
const req = (
  analyzer: string,
  partitionId: string,
  extra: Partial<{ inputFingerprint: string; sqlHash: string }> = {},
) => ({
  analyzer,
  partitionId,
  reason: 'new-data',
  maxAttempts: 3,
  sqlHash: extra.sqlHash ?? 'sql1',
  inputFingerprint: extra.inputFingerprint ?? 'fp1',
});

/** The behaviour every StateStore implementation must have; run against SQLite and PostgreSQL. */
export function stateStoreContract(name: string, factory: StoreFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    let ctx: Awaited<ReturnType<StoreFactory['open']>>;
    beforeEach(async () => {
      ctx = await factory.open();
      store = ctx.store;
    });
    afterEach(async () => {
      await ctx.cleanup();
    });

    it('migrations are idempotent: a second connection to a migrated store opens cleanly', async () => {
      const other = await ctx.second();
      expect(await other.listPartitions()).toEqual([]);
      await other.close();
    });

    it('an attempt starts from the partition version counter and records its outcome', async () => {
      expect(await store.beginAttempt(attempt('x1'))).toEqual({ baseSeq: 0 });
      await store.finishAttempt('x1', {
        status: 'failed',
        peakRssBytes: 123,
        spillBytes: 5,
        error: { code: 'SQL_INVALID', message: 'bad', hint: 'fix' },
      });
      const a = await store.getAttempt('x1');
      expect(a).toMatchObject({ status: 'failed', error_code: 'SQL_INVALID', error_hint: 'fix' });
      expect(Number(a!.peak_rss_bytes)).toBe(123);
      expect(Number(a!.spill_bytes)).toBe(5);
      expect((await store.listAttempts({ analyzer: 'a', status: 'failed' })).map((x) => x.attempt_id)).toEqual(['x1']);
    });

    it('publish is a compare-and-set: one winner, a pending intent blocks others, completion switches the published version', async () => {
      await store.beginAttempt(attempt('w1'));
      await store.beginAttempt(attempt('w2'));
      const first = await store.claimPublish(staged('w1', 1), 0);
      expect(first.won).toBe(true);
      expect(await store.claimPublish(staged('w2', 1), 0)).toMatchObject({ won: false });
      expect((await store.pendingIntents()).map((i) => i.target_seq)).toEqual([1]);
      expect(await store.publishedVersion('a', '2023-10-12T00')).toBeUndefined();
      await store.completeIntent(first.won ? first.intent.id : -1);
      expect((await store.publishedVersion('a', '2023-10-12T00'))!.seq).toBe(1);
      expect(await store.pendingIntents()).toEqual([]);

      await store.beginAttempt(attempt('w3'));
      const second = await store.claimPublish(staged('w3', 2), 1);
      expect(second.won).toBe(true);
      await store.completeIntent(second.won ? second.intent.id : -1);
      expect((await store.listVersions('a', '2023-10-12T00')).map((v) => [v.seq, v.status])).toEqual([
        [2, 'published'],
        [1, 'retained'],
      ]);
      expect((await store.getPartition('a', '2023-10-12T00'))!.published_seq).toBe(2);
    });

    it.runIf(factory.concurrentInProcess)(
      'two connections racing to publish the same partition from the same base produce exactly one winner',
      async () => {
        const other = await ctx.second();
        await store.beginAttempt(attempt('r1'));
        await store.beginAttempt(attempt('r2'));
        const results = await Promise.all([
          store.claimPublish(staged('r1', 1), 0),
          other.claimPublish(staged('r2', 1), 0),
        ]);
        expect(results.filter((r) => r.won)).toHaveLength(1);
        await other.close();
      },
    );

    it('a rollback intent republishes a retained version; an abandoned publish leaves the previous one', async () => {
      await store.beginAttempt(attempt('b1'));
      const c1 = await store.claimPublish(staged('b1', 1), 0);
      await store.completeIntent(c1.won ? c1.intent.id : -1);
      await store.beginAttempt(attempt('b2'));
      const c2 = await store.claimPublish(staged('b2', 2), 1);
      await store.completeIntent(c2.won ? c2.intent.id : -1);
      const rb = await store.claimRollback('a', '2023-10-12T00', 1, '/versions/a/2023-10-12T00/v1');
      expect(rb.won).toBe(true);
      await store.completeIntent(rb.won ? rb.intent.id : -1);
      expect((await store.publishedVersion('a', '2023-10-12T00'))!.seq).toBe(1);

      await store.beginAttempt(attempt('b3'));
      const c3 = await store.claimPublish(staged('b3', 3), 2);
      await store.abandonIntent(c3.won ? c3.intent.id : -1, 'files gone');
      expect((await store.publishedVersion('a', '2023-10-12T00'))!.seq).toBe(1);
      expect((await store.getVersion('a', '2023-10-12T00', 3))!.status).toBe('deleted');
      expect(await store.pendingIntents()).toEqual([]);
    });

    it('a rollback is owned, holds its partition until released or a publish replaces it, and pruning spares its target', async () => {
      const P = '2023-10-12T00';
      for (const [id, seq] of [
        ['h1', 1],
        ['h2', 2],
        ['h3', 3],
      ] as const) {
        await store.beginAttempt(attempt(id));
        const c = await store.claimPublish(staged(id, seq), seq - 1);
        await store.completeIntent(c.won ? c.intent.id : -1);
      }
      const rb = await store.claimRollback('a', P, 1, '/versions/a/2023-10-12T00/v1', {
        owner: { host: 'other-host', token: '7:7' },
        holdInput: 'fp-then',
      });
      expect(rb.won && [rb.intent.owner_host, rb.intent.owner_token]).toEqual(['other-host', '7:7']);
      // A pending rollback's target is never pruned; another retained version is.
      expect(await store.deleteVersionUnlessClaimed('a', P, 1)).toBe(false);
      expect(await store.deleteVersionUnlessClaimed('a', P, 2)).toBe(true);
      expect(await store.deleteVersionUnlessClaimed('a', P, 2)).toBe(false);
      expect((await store.getVersion('a', P, 1))!.status).toBe('retained');
      await store.completeIntent(rb.won ? rb.intent.id : -1);
      expect(await store.getPartition('a', P)).toMatchObject({ published_seq: 1, held_seq: 1, held_input: 'fp-then' });
      // A deleted version is no rollback target.
      expect(await store.claimRollback('a', P, 2, '/versions/a/2023-10-12T00/v2')).toMatchObject({ won: false });

      // A run that respects holds loses its claim; one that does not (recount run) publishes and ends the hold.
      await store.beginAttempt(attempt('h4'));
      const held = await store.claimPublish({ ...staged('h4', 4), respectHold: true }, 3);
      expect(held.won).toBe(false);
      if (!held.won) expect(held.reason).toContain('held at v1');
      const explicit = await store.claimPublish(staged('h4', 4), 3);
      await store.completeIntent(explicit.won ? explicit.intent.id : -1);
      expect(await store.getPartition('a', P)).toMatchObject({ published_seq: 4, held_seq: null });

      const rb2 = await store.claimRollback('a', P, 3, '/versions/a/2023-10-12T00/v3');
      await store.completeIntent(rb2.won ? rb2.intent.id : -1);
      expect(await store.releaseHold('a', P)).toBe(3);
      expect(await store.releaseHold('a', P)).toBeNull();
      expect((await store.getPartition('a', P))!.held_seq).toBeNull();
    });

    it('records check results with their sample rows', async () => {
      await store.beginAttempt(attempt('c1'));
      await store.recordChecks('c1', [
        {
          name: 'unique_keys',
          kind: 'builtin',
          severity: 'error',
          passed: false,
          failing: 2,
          sample: [{ k: 1, copies: 2 }],
          message: 'dup',
        },
      ]);
      const [r] = await store.checkResults('c1');
      expect(r).toMatchObject({ name: 'unique_keys', passed: 0, message: 'dup' });
      expect(Number(r!.failing)).toBe(2);
      expect(JSON.parse(r!.sample_json)).toEqual([{ k: 1, copies: 2 }]);
    });

    describe('run queue', () => {
      it('holds at most one queued or running item per partition', async () => {
        expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeDefined();
        expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeUndefined();
        const [item] = await store.queue.claim(owner, policy);
        expect(item!.state).toBe('running');
        expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeUndefined();
        await store.queue.succeed(item!.id);
        expect(await store.queue.enqueue(req('a', '2023-10-12T00', { inputFingerprint: 'fp2' }))).toBeDefined();
      });

      it('queues many runs in one call as one at a time would: busy and failed-for-good ones are skipped', async () => {
        await store.queue.enqueue(req('a', '2023-10-12T00'));
        const [failed] = await store.queue.claim(owner, policy);
        await store.queue.fail(failed!.id, { errorCode: 'SQL_INVALID', error: 'bad' });
        await store.queue.enqueue(req('a', '2023-10-12T01'));
        const items = await store.queue.enqueueMany([
          req('a', '2023-10-12T00'),
          req('a', '2023-10-12T01'),
          req('a', '2023-10-12T02'),
          req('b', '2023-10-12T02'),
          req('a', '2023-10-12T02'),
        ]);
        expect(items.map((i) => i && `${i.analyzer} ${i.partition_id} ${i.state}`)).toEqual([
          undefined,
          undefined,
          'a 2023-10-12T02 queued',
          'b 2023-10-12T02 queued',
          undefined,
        ]);
        expect(await store.queue.enqueueMany([])).toEqual([]);
        expect(await store.queue.backlog()).toBe(3);
      });

      it('does not queue again a run that failed for good until its input or SQL changes', async () => {
        await store.queue.enqueue(req('a', '2023-10-12T00'));
        const [item] = await store.queue.claim(owner, policy);
        await store.queue.fail(item!.id, { errorCode: 'SQL_INVALID', error: 'bad' });
        expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeUndefined();
        expect(await store.queue.enqueue(req('a', '2023-10-12T00', { sqlHash: 'sql2' }))).toBeDefined();
      });

      it('claims oldest-first or newest-first per analyzer, honours per-analyzer concurrency, and interleaves analyzers', async () => {
        for (const h of ['00', '01', '02', '03']) {
          await store.queue.enqueue(req('old', `2023-10-12T${h}`));
          await store.queue.enqueue(req('new', `2023-10-12T${h}`));
        }
        const claimed = await store.queue.claim(owner, {
          limit: 3,
          concurrency: (a) => (a === 'new' ? 1 : 5),
          order: (a) => (a === 'new' ? 'newest' : 'oldest'),
        });
        expect(claimed.map((c) => `${c.analyzer} ${c.partition_id}`).sort()).toEqual([
          'new 2023-10-12T03',
          'old 2023-10-12T00',
          'old 2023-10-12T01',
        ]);
        const more = await store.queue.claim(owner, {
          limit: 10,
          concurrency: (a) => (a === 'new' ? 1 : 5),
          order: () => 'oldest',
        });
        expect(more.map((c) => `${c.analyzer} ${c.partition_id}`)).toEqual(['old 2023-10-12T02', 'old 2023-10-12T03']);
      });

      it('does not hand out an item before its backoff ends, and a claim is taken once', async () => {
        await store.queue.enqueue(req('a', '2023-10-12T00'));
        const [item] = await store.queue.claim(owner, policy);
        await store.queue.retryLater(item!.id, {
          notBefore: new Date(Date.now() + 60_000),
          errorCode: 'INTERNAL',
          error: 'x',
          threads: 1,
          memoryBytes: 1000,
        });
        expect(await store.queue.claim(owner, policy)).toHaveLength(0);
        await store.queue.retryLater(item!.id, {
          notBefore: new Date(Date.now() - 1),
          errorCode: 'INTERNAL',
          error: 'x',
        });
        const [again] = await store.queue.claim(owner, policy);
        expect(again!.threads).toBe(1);
        expect(Number(again!.memory_bytes)).toBe(1000);
        expect(await store.queue.claim({ host: 'other', token: '2:2' }, policy)).toHaveLength(0);
      });

      it.runIf(factory.concurrentInProcess)('two daemons claiming at once never take the same item', async () => {
        const other = await ctx.second();
        for (const h of ['00', '01', '02', '03', '04', '05']) await store.queue.enqueue(req('a', `2023-10-12T${h}`));
        // Concurrency above the backlog: this is about never handing one item out twice (a daemon that starts its
        // claim after the other committed counts the other's running items against the per-analyzer limit).
        const wide = { ...policy, limit: 4, concurrency: () => 10 };
        const [x, y] = await Promise.all([
          store.queue.claim(owner, wide),
          other.queue.claim({ host: 'h2', token: '2:2' }, wide),
        ]);
        const ids = [...x, ...y].map((i) => i.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(6);
        await other.close();
      });

      it('gives items held by a dead daemon back to the queue, with the try its attempt used', async () => {
        await store.queue.enqueue(req('a', '2023-10-12T00'));
        const [item] = await store.queue.claim(owner, policy);
        await store.queue.startAttempt(item!.id, 'x1');
        expect(await store.queue.requeueOrphans(() => true)).toBe(0);
        expect(await store.queue.requeueOrphans(() => false)).toBe(1);
        expect(await store.queue.backlog()).toBe(1);
        expect((await store.queue.get(item!.id))!.attempts).toBe(0);
      });

      it('a retry refunds the try of an attempt abandoned by a drain, never below zero; other retries keep it', async () => {
        await store.queue.enqueue(req('a', '2023-10-12T00'));
        const [item] = await store.queue.claim(owner, policy);
        await store.queue.startAttempt(item!.id, 'x1');
        await store.queue.startAttempt(item!.id, 'x2');
        await store.queue.retryLater(item!.id, { notBefore: new Date(), errorCode: 'INTERNAL', error: 'x' });
        expect((await store.queue.get(item!.id))!.attempts).toBe(2);
        await store.queue.retryLater(item!.id, {
          notBefore: new Date(),
          errorCode: 'ABANDONED',
          error: 'x',
          refundAttempt: true,
        });
        expect(await store.queue.get(item!.id)).toMatchObject({
          attempts: 1,
          state: 'queued',
          last_error_code: 'ABANDONED',
        });
        await store.queue.retryLater(item!.id, {
          notBefore: new Date(),
          errorCode: 'ABANDONED',
          error: 'x',
          refundAttempt: true,
        });
        await store.queue.retryLater(item!.id, {
          notBefore: new Date(),
          errorCode: 'ABANDONED',
          error: 'x',
          refundAttempt: true,
        });
        expect((await store.queue.get(item!.id))!.attempts).toBe(0);
      });
    });

    describe('process leases (liveness across hosts)', () => {
      it('a lease beaten within the expiry is live, an older one is not, a released one is gone', async () => {
        await store.leases.beat('far', '7:70', 7, 1_000);
        expect(await store.leases.isLive('far', '7:70')).toBe(true);
        await store.leases.beat('far', '7:70', 7, LEASE_EXPIRY_MS + 1_000);
        expect(await store.leases.isLive('far', '7:70')).toBe(false);
        await store.leases.beat('far', '7:70', 7);
        expect(await store.leases.isLive('far', '7:70')).toBe(true);
        expect(await store.leases.isLive('far', '8:80')).toBe(false);
        await store.leases.release('far', '7:70');
        expect(await store.leases.isLive('far', '7:70')).toBe(false);
        await store.leases.beat('far', '9:90', 9, 10 * LEASE_EXPIRY_MS);
        expect(await store.leases.prune(LEASE_EXPIRY_MS)).toBe(1);
      });

      it('an attempt this process begins takes its lease first; an owner on another host lives as long as its lease', async () => {
        await store.beginAttempt({ ...attempt('mine'), pid: process.pid, host: HOST, procToken: currentProcToken() });
        expect(await store.leases.isLive(HOST, currentProcToken())).toBe(true);
        expect(await ownerAlive(store, 'other-host', '5:55')).toBe(false);
        await store.leases.beat('other-host', '5:55', 5);
        expect(await ownerAlive(store, 'other-host', '5:55')).toBe(true);
        await store.leases.beat('other-host', '5:55', 5, LEASE_EXPIRY_MS + 1_000);
        expect(await ownerAlive(store, 'other-host', '5:55')).toBe(false);
      });

      it('an owner on this host name in another pid namespace or boot (another container) is judged by its lease, not by a local pid', async () => {
        // Tokens spelled out here (pid:start:boot:pidns:nonce), as another container's recount records them.
        const [pid, start] = currentProcToken().split(':');
        const me = {
          pid,
          start,
          boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', ''),
          pidNs: /\d+/.exec(readlinkSync('/proc/self/ns/pid'))![0],
          nonce: 'n',
        };
        const formatProcToken = (t: typeof me) => `${t.pid}:${t.start}:${t.boot}:${t.pidNs}:${t.nonce}`;
        // Pid 1 of another container: it exists here too (another process), and this process's own pid with its own
        // start time would pass a pid check; neither may decide the fate of a process in another namespace.
        const otherNs = formatProcToken({ ...me, pid: '1', start: '1', pidNs: `${me.pidNs}9`, nonce: 'c0ffee' });
        const sameNsPid = formatProcToken({ ...me, pidNs: `${me.pidNs}9`, nonce: 'beef' });
        const otherBoot = formatProcToken({ ...me, boot: 'f'.repeat(32), nonce: 'd00d' });
        for (const token of [otherNs, sameNsPid, otherBoot]) {
          expect(await ownerAlive(store, HOST, token)).toBe(false);
          await store.leases.beat(HOST, token, 1);
          expect(await ownerAlive(store, HOST, token)).toBe(true);
          await store.leases.beat(HOST, token, 1, LEASE_EXPIRY_MS + 1_000);
          expect(await ownerAlive(store, HOST, token)).toBe(false);
        }
        // In this namespace the pid decides, exactly: a reused pid (another start time) is dead whatever its lease.
        const reused = formatProcToken({ ...me, start: '1' });
        await store.leases.beat(HOST, reused, Number(me.pid));
        expect(await ownerAlive(store, HOST, reused)).toBe(false);
        expect(await ownerAlive(store, HOST, currentProcToken())).toBe(true);
      });

      it("lease time is the store's clock: a local clock off by more than the expiry makes no live owner dead, no dead one live", async () => {
        vi.useFakeTimers({ toFake: ['Date'] });
        try {
          // The owner beats while its own clock runs 10 minutes behind; the judge looks while its clock runs ahead.
          vi.setSystemTime(Date.now() - 10 * 60_000);
          await store.leases.beat('skewed', '3:33', 3);
          vi.setSystemTime(Date.now() + 20 * 60_000);
          expect(await ownerAlive(store, 'skewed', '3:33')).toBe(true);
          await store.leases.beat('late', '4:44', 4, LEASE_EXPIRY_MS + 1_000);
          vi.setSystemTime(Date.now() - 20 * 60_000);
          expect(await ownerAlive(store, 'late', '4:44')).toBe(false);
          expect(await store.leases.prune(LEASE_EXPIRY_MS)).toBe(1);
          expect(await ownerAlive(store, 'skewed', '3:33')).toBe(true);
        } finally {
          vi.useRealTimers();
        }
      });

      it("a dead remote daemon's claims are requeued; a live one's are left alone", async () => {
        await store.queue.enqueue(req('a', '2023-10-12T00'));
        await store.queue.enqueue(req('a', '2023-10-12T01'));
        const [live] = await store.queue.claim({ host: 'east', token: '1:10' }, { ...policy, limit: 1 });
        const [dead] = await store.queue.claim({ host: 'west', token: '2:20' }, { ...policy, limit: 1 });
        await store.leases.beat('east', '1:10', 1);
        await store.leases.beat('west', '2:20', 2, 2 * LEASE_EXPIRY_MS);
        expect(await store.queue.requeueOrphans((h, t) => ownerAlive(store, h, t))).toBe(1);
        expect((await store.queue.get(live!.id))!.state).toBe('running');
        expect((await store.queue.get(dead!.id))!.state).toBe('queued');
      });
    });
  });
}
