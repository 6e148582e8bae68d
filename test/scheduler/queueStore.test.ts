import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import type { KyselyStateStore } from '../../src/state/kyselyStore.ts';

const owner = { host: 'test-host', token: '1:1' };
const req = (analyzer: string, partitionId: string, extra: Partial<{ inputFingerprint: string; sqlHash: string }> = {}) => ({ analyzer, partitionId, reason: 'new-data', maxAttempts: 3, sqlHash: extra.sqlHash ?? 'sql1', inputFingerprint: extra.inputFingerprint ?? 'fp1' });

describe('the run queue in the state store', () => {
  let dir: string;
  let store: KyselyStateStore;
  beforeEach(async () => {
    dir = tempDir();
    store = await openSqliteStore(join(dir, 'state.db'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds at most one queued or running item per partition', async () => {
    expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeDefined();
    expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeUndefined();
    const [item] = await store.queue.claim(owner, { limit: 5, concurrency: () => 5, order: () => 'oldest' });
    expect(item!.state).toBe('running');
    expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeUndefined();
    await store.queue.succeed(item!.id);
    expect(await store.queue.enqueue(req('a', '2023-10-12T00', { inputFingerprint: 'fp2' }))).toBeDefined();
  });

  it('does not queue again a run that failed for good until its input or SQL changes', async () => {
    await store.queue.enqueue(req('a', '2023-10-12T00'));
    const [item] = await store.queue.claim(owner, { limit: 1, concurrency: () => 1, order: () => 'oldest' });
    await store.queue.fail(item!.id, { errorCode: 'SQL_INVALID', error: 'bad' });
    expect(await store.queue.enqueue(req('a', '2023-10-12T00'))).toBeUndefined();
    expect(await store.queue.enqueue(req('a', '2023-10-12T00', { sqlHash: 'sql2' }))).toBeDefined();
  });

  it('claims oldest-first or newest-first per analyzer, honours per-analyzer concurrency, and interleaves analyzers', async () => {
    for (const h of ['00', '01', '02', '03']) {
      await store.queue.enqueue(req('old', `2023-10-12T${h}`));
      await store.queue.enqueue(req('new', `2023-10-12T${h}`));
    }
    const claimed = await store.queue.claim(owner, { limit: 3, concurrency: (a) => (a === 'new' ? 1 : 5), order: (a) => (a === 'new' ? 'newest' : 'oldest') });
    expect(claimed.map((c) => `${c.analyzer} ${c.partition_id}`).sort()).toEqual(['new 2023-10-12T03', 'old 2023-10-12T00', 'old 2023-10-12T01']);
    const more = await store.queue.claim(owner, { limit: 10, concurrency: (a) => (a === 'new' ? 1 : 5), order: () => 'oldest' });
    expect(more.map((c) => `${c.analyzer} ${c.partition_id}`)).toEqual(['old 2023-10-12T02', 'old 2023-10-12T03']);
  });

  it('does not hand out an item before its backoff ends, and a claim is taken once', async () => {
    await store.queue.enqueue(req('a', '2023-10-12T00'));
    const [item] = await store.queue.claim(owner, { limit: 1, concurrency: () => 1, order: () => 'oldest' });
    await store.queue.retryLater(item!.id, { notBefore: new Date(Date.now() + 60_000), errorCode: 'INTERNAL', error: 'x', threads: 1, memoryBytes: 1000 });
    expect(await store.queue.claim(owner, { limit: 1, concurrency: () => 1, order: () => 'oldest' })).toHaveLength(0);
    await store.queue.retryLater(item!.id, { notBefore: new Date(Date.now() - 1), errorCode: 'INTERNAL', error: 'x' });
    const [again] = await store.queue.claim(owner, { limit: 1, concurrency: () => 1, order: () => 'oldest' });
    expect(again!.threads).toBe(1);
    expect(Number(again!.memory_bytes)).toBe(1000);
    expect(await store.queue.claim({ host: 'other', token: '2:2' }, { limit: 1, concurrency: () => 1, order: () => 'oldest' })).toHaveLength(0);
  });

  it('gives items held by a dead daemon back to the queue', async () => {
    await store.queue.enqueue(req('a', '2023-10-12T00'));
    await store.queue.claim(owner, { limit: 1, concurrency: () => 1, order: () => 'oldest' });
    expect(await store.queue.requeueOrphans(() => true)).toBe(0);
    expect(await store.queue.requeueOrphans(() => false)).toBe(1);
    expect(await store.queue.backlog()).toBe(1);
  });
});
