import { describe, expect, it } from 'vitest';
import { inLanes } from '../src/inLanes.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('inLanes', () => {
  it('runs every item once, in order of start, never more than `lanes` at a time', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await inLanes(10, 3, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await tick(5 + (i % 3) * 3);
      running--;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('after a task throws, starts no other, lets the running ones settle, then throws the first error', async () => {
    const settled: number[] = [];
    const started: number[] = [];
    const run = inLanes(10, 2, async (i) => {
      started.push(i);
      if (i === 1) throw new Error('item 1 failed');
      await tick(20);
      settled.push(i);
    });
    await expect(run).rejects.toThrow('item 1 failed');
    // Item 0 was running when item 1 failed: it finished before inLanes threw; nothing after it started.
    expect(settled).toEqual([0]);
    expect(started).toEqual([0, 1]);
  });

  it('with no items runs nothing', async () => {
    let calls = 0;
    await inLanes(0, 4, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });
});
