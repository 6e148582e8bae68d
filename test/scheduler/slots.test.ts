import { describe, expect, it } from 'vitest';
import { computeSlots } from '../../src/scheduler/slots.ts';

const GB = 1e9;
const base = {
  running: 0,
  backlog: 0,
  minWorkers: 1,
  maxWorkers: 4,
  freeMemoryBytes: 16 * GB,
  largestBudgetBytes: 1 * GB,
};

describe('computeSlots', () => {
  it('grows with the backlog up to max workers', () => {
    expect(computeSlots({ ...base, backlog: 2 })).toBe(2);
    expect(computeSlots({ ...base, backlog: 100 })).toBe(4);
  });
  it('keeps min workers when idle', () => {
    expect(computeSlots({ ...base, minWorkers: 2 })).toBe(2);
  });
  it('opens no more slots than free memory holds budgets for', () => {
    expect(computeSlots({ ...base, backlog: 100, freeMemoryBytes: 2.5 * GB })).toBe(2);
    expect(computeSlots({ ...base, running: 2, backlog: 100, freeMemoryBytes: 1.2 * GB })).toBe(3);
  });
  it('keeps one slot while there is work even when memory is short, so work slows instead of stalling', () => {
    expect(computeSlots({ ...base, backlog: 5, freeMemoryBytes: 0.1 * GB })).toBe(1);
    expect(computeSlots({ ...base, minWorkers: 0, backlog: 0, freeMemoryBytes: 0 })).toBe(0);
  });
});
