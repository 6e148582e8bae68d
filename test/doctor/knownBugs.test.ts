import { describe, expect, it } from 'vitest';
import { affects, bugsAffecting, compareVersions, isRelevant, loadKnownBugs } from '../../src/doctor/knownBugs.ts';

// The shipped list of DuckDB bugs that return wrong results: every entry cites its issue, and the version
// ranges decide which installed or recorded versions are dangerous.

describe('known engine bugs', () => {
  const bugs = loadKnownBugs();

  it('every entry cites its DuckDB issue first, and has a sane range', () => {
    expect(bugs.length).toBeGreaterThanOrEqual(4);
    for (const b of bugs) {
      const n = /^duckdb#(\d+)$/.exec(b.id)?.[1];
      expect(n, b.id).toBeDefined();
      expect(b.sources[0]).toBe(`https://github.com/duckdb/duckdb/issues/${n}`);
      if (b.fixedIn !== null) expect(compareVersions(b.from, b.fixedIn), b.id).toBeLessThan(0);
      expect(new Set(bugs.map((x) => x.id)).size).toBe(bugs.length);
    }
  });

  it('compares versions by their numbers, with or without the v', () => {
    expect(compareVersions('v1.4.0', '1.4.0')).toBe(0);
    expect(compareVersions('v1.10.0', 'v1.9.9')).toBe(1);
    expect(compareVersions('1.4', '1.4.0')).toBe(0);
    expect(compareVersions('v1.3.2', 'v1.4.0')).toBe(-1);
  });

  it('a version is affected from `from` up to, not including, `fixedIn`', () => {
    const parquet = bugs.find((b) => b.id === 'duckdb#19131')!;
    expect(['v1.3.2', 'v1.4.0', 'v1.4.1', 'v1.5.6'].map((v) => affects(parquet, v))).toEqual([false, true, false, false]);
    expect(bugsAffecting(bugs, 'duckdb', 'v1.4.0').map((b) => b.id)).toEqual(['duckdb#19131', 'duckdb#17757']);
    const open = bugs.find((b) => b.fixedIn === null)!;
    expect(affects(open, 'v99.0.0')).toBe(true);
    expect(affects(open, 'not a version')).toBe(false);
  });

  it('a bug that needs a column type bites only projects that have one', () => {
    const blob = bugs.find((b) => b.id === 'duckdb#24994')!;
    expect(isRelevant(blob, new Set(['BIGINT', 'VARCHAR', 'DOUBLE']))).toBe(false);
    expect(isRelevant(blob, new Set(['BIGINT', 'BLOB']))).toBe(true);
    expect(isRelevant(bugs.find((b) => b.id === 'duckdb#19131')!, new Set())).toBe(true);
  });
});
