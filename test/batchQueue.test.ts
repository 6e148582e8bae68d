import { describe, expect, it } from 'vitest';
import { BatchQueue } from '../src/batchQueue.ts';

/** A handler that records each batch and finishes it when told to. */
function gated() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const handle = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => gates.push(r));
    if (items.includes(13)) throw new Error('13 is bad');
    return items.map((i) => i * 10);
  };
  const open = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { batches, handle, open };
}

describe('BatchQueue', () => {
  it('starts the first item alone, then takes everything that waited meanwhile as one batch, in order', async () => {
    const g = gated();
    const q = new BatchQueue(g.handle);
    const first = q.add(1);
    const rest = [2, 3, 4].map((i) => q.add(i));
    expect(q.waitingCount).toBe(3);
    await g.open();
    expect(await first).toBe(10);
    await g.open();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(g.batches).toEqual([[1], [2, 3, 4]]);
    await q.idle();
    expect(q.waitingCount).toBe(0);
  });

  it('takes at most `max` items a batch', async () => {
    const g = gated();
    const q = new BatchQueue(g.handle, 2);
    const all = [1, 2, 3, 4, 5].map((i) => q.add(i));
    for (let i = 0; i < 3; i++) await g.open();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    // The first item starts at once, alone; the four that waited go two by two.
    expect(g.batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it('fails every item of a failed batch, and goes on with the next', async () => {
    const g = gated();
    const q = new BatchQueue(g.handle);
    const first = q.add(1);
    const bad = [12, 13].map((i) => q.add(i));
    await g.open();
    await first;
    const next = q.add(7);
    await g.open();
    for (const b of bad) await expect(b).rejects.toThrow('13 is bad');
    await g.open();
    expect(await next).toBe(70);
    expect(g.batches).toEqual([[1], [12, 13], [7]]);
  });
});
