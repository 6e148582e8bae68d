import { describe, expect, it } from 'vitest';
import { migrations } from '../../src/state/migrations.ts';

// Kysely's Migrator runs migrations in the order of their names, and a store records the names it applied:
// a new schema version is one step appended at the end, numbered after the last, never a renamed or moved one.
describe('state store migrations', () => {
  it('are numbered in the order they are listed, without gaps, the same for both dialects', () => {
    const names = Object.keys(migrations('sqlite'));
    expect(names.slice(0, 7)).toEqual([
      '0001_core',
      '0002_loads',
      '0003_queue',
      '0004_alerts',
      '0005_version_checksums',
      '0006_process_leases',
      '0007_rollback_hold',
    ]);
    expect(names.map((n) => Number(n.slice(0, 4)))).toEqual(names.map((_, i) => i + 1));
    expect([...names].sort()).toEqual(names);
    expect(Object.keys(migrations('postgres'))).toEqual(names);
  });
});
