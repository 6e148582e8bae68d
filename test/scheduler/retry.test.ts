import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryable } from '../../src/scheduler/retry.ts';
import { MIN_DUCKDB_BYTES, planMemory, smallerPlan } from '../../src/run/budget.ts';

describe('retry policy', () => {
  it('never retries errors that would recur on the same input and SQL', () => {
    for (const code of ['SQL_INVALID', 'CHECK_FAILED', 'KEY_FLOAT', 'INPUT_MISSING_COLUMN', 'INPUT_SCHEMA_CHANGED'])
      expect(isRetryable(code)).toBe(false);
    for (const code of ['OUT_OF_MEMORY', 'CRASHED', 'DISK_FULL', 'PARTITION_NOT_READY', 'INPUT_CORRUPT', 'INTERNAL'])
      expect(isRetryable(code)).toBe(true);
  });
  it('backs off exponentially with jitter, capped', () => {
    const p = { max: 5, backoffMs: 1000, maxBackoffMs: 5000 };
    expect(backoffDelay(p, 1, () => 0)).toBe(500);
    expect(backoffDelay(p, 1, () => 1)).toBe(1000);
    expect(backoffDelay(p, 3, () => 1)).toBe(4000);
    expect(backoffDelay(p, 10, () => 1)).toBe(5000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(p, 2)));
    expect(spread.size).toBeGreaterThan(10);
  });
  it("after an out-of-memory, the retry halves threads; DuckDB's limit drops only when the process passed its budget, never under its floor", () => {
    const plan = planMemory(400 * 1024 * 1024, 4);
    expect(smallerPlan(plan, 'threads')).toMatchObject({
      threads: 2,
      duckdbBytes: plan.duckdbBytes,
      budgetBytes: plan.budgetBytes,
    });
    const lower = smallerPlan(plan, 'threads-and-limit');
    expect(lower.threads).toBe(2);
    expect(lower.duckdbBytes).toBe(Math.floor(plan.duckdbBytes * 0.7));
    let p = plan;
    for (let i = 0; i < 20; i++) p = smallerPlan(p, 'threads-and-limit');
    expect(p).toMatchObject({ threads: 1, duckdbBytes: MIN_DUCKDB_BYTES });
  });
});
