// Opening an up-to-date state store does no more than read its migration table (issue 14): no write lock, no
// migrator. Shown by opening it while another connection holds SQLite's write lock: a migrating open would wait
// for the lock (busy_timeout) and fail.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/project.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';

const dir = tempDir('recount-open-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('opening the state store', () => {
  it('an up-to-date store opens without the write lock, while another process holds it', async () => {
    const file = join(dir, 'state.db');
    await (await openSqliteStore(file)).close();
    const writer = new Database(file);
    writer.exec('BEGIN IMMEDIATE');
    try {
      const reopened = await openSqliteStore(file);
      expect(await reopened.listPartitions('none')).toEqual([]);
      await reopened.close();
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  }, 60_000);

  it('a new store is migrated as before, and a second open finds it current', async () => {
    const file = join(dir, 'fresh.db');
    const store = await openSqliteStore(file);
    expect(await store.migrationsCurrent()).toBe(true);
    await store.close();
    const again = await openSqliteStore(file);
    expect(await again.migrationsCurrent()).toBe(true);
    await again.close();
  });
});
