import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import { tempDir } from '../helpers/project.ts';

const owner = { host: 'test-host', token: '1:1' };

// A daemon that finds a year of hours to backfill queues them all. A claim used to read the first 10,000 due items by
// id and order them itself: 'newest' first then never saw the partitions queued last.
describe('claiming from a long backlog', () => {
  it('takes the newest (or oldest) partition of all those queued, past the first 10,000', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.db');
    const store = await openSqliteStore(file);
    try {
      await store.queue.enqueue({
        analyzer: 'a',
        partitionId: '2020-01-01T00',
        reason: 'new-data',
        sqlHash: 's',
        maxAttempts: 3,
      });
      // 10,001 more, in partition order (ids ascending), written in one transaction behind the store's back.
      const db = new Database(file);
      try {
        const add = db.prepare(
          `INSERT INTO run_queue (analyzer, partition_id, reason, state, attempts, max_attempts, not_before, sql_hash,
             created_at, updated_at)
           VALUES ('a', ?, 'new-data', 'queued', 0, 3, '2000-01-01T00:00:00.000Z', 's', '2000-01-01T00:00:00.000Z',
             '2000-01-01T00:00:00.000Z')`,
        );
        db.transaction(() => {
          for (let i = 0; i < 10_001; i++) {
            const t = new Date(Date.UTC(2021, 0, 1) + i * 3_600_000).toISOString();
            add.run(`${t.slice(0, 10)}T${t.slice(11, 13)}`);
          }
        })();
      } finally {
        db.close();
      }
      const newest = await store.queue.claim(owner, { limit: 2, concurrency: () => 5, order: () => 'newest' });
      expect(newest.map((i) => i.partition_id)).toEqual(['2022-02-21T16', '2022-02-21T15']);
      const oldest = await store.queue.claim(owner, { limit: 1, concurrency: () => 5, order: () => 'oldest' });
      expect(oldest.map((i) => i.partition_id)).toEqual(['2020-01-01T00']);
      // Concurrency counts what runs: 3 running, 5 allowed, so 2 more.
      const more = await store.queue.claim(owner, { limit: 10, concurrency: () => 5, order: () => 'oldest' });
      expect(more.map((i) => i.partition_id)).toEqual(['2021-01-01T00', '2021-01-01T01']);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
