import { describe, expect, it } from 'vitest';
import {
  affects,
  bugSeverity,
  bugsAffecting,
  compareVersions,
  describeRelevance,
  isRelevant,
  loadKnownBugs,
} from '../../src/doctor/knownBugs.ts';
import type { SqlFeature } from '../../src/audit/sqlFeatures.ts';

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
    expect(['v1.3.2', 'v1.4.0', 'v1.4.1', 'v1.5.6'].map((v) => affects(parquet, v))).toEqual([
      false,
      true,
      false,
      false,
    ]);
    expect(bugsAffecting(bugs, 'duckdb', 'v1.4.0').map((b) => b.id)).toEqual(['duckdb#19131', 'duckdb#17757']);
    const open = bugs.find((b) => b.fixedIn === null)!;
    expect(affects(open, 'v99.0.0')).toBe(true);
    expect(affects(open, 'not a version')).toBe(false);
  });

  const profile = (types: string[], features: SqlFeature[] = []) => ({
    columnTypes: new Set(types),
    features: new Set(features),
  });

  it('a bug that needs a column type bites only analyzers that have one', () => {
    const blob = bugs.find((b) => b.id === 'duckdb#24994')!;
    expect(isRelevant(blob, profile(['BIGINT', 'VARCHAR', 'DOUBLE']))).toBe(false);
    expect(isRelevant(blob, profile(['BIGINT', 'BLOB']))).toBe(true);
    expect(isRelevant(bugs.find((b) => b.id === 'duckdb#19131')!, profile([]))).toBe(true);
  });

  it('duckdb#22897 needs a DOUBLE column, HAVING and a JOIN, and is a warning: float sums off in their last digits', () => {
    const sums = bugs.find((b) => b.id === 'duckdb#22897')!;
    expect(bugSeverity(sums)).toBe('warning');
    expect(isRelevant(sums, profile(['BIGINT', 'DOUBLE']))).toBe(false); // the shipped examples: sum(double), no HAVING, no JOIN
    expect(isRelevant(sums, profile(['DOUBLE'], ['having']))).toBe(false);
    expect(isRelevant(sums, profile(['DOUBLE'], ['join']))).toBe(false);
    expect(isRelevant(sums, profile(['BIGINT'], ['having', 'join']))).toBe(false);
    expect(isRelevant(sums, profile(['DOUBLE'], ['having', 'join']))).toBe(true);
    expect(describeRelevance(sums)).toBe('a DOUBLE/FLOAT column and HAVING and a JOIN in the SQL');
    // Every other entry returns wrong rows or values: a problem.
    expect(bugs.filter((b) => bugSeverity(b) === 'warning').map((b) => b.id)).toEqual(['duckdb#22897']);
  });
});
