import { describe, expect, it } from 'vitest';
import { hashText, type RowHashSink } from '../../src/warehouse/checksum.ts';
import { diffPartition, type DiffSide } from '../../src/warehouse/monitorDiff.ts';

// Rows as (key id, value): a key id's hash halves are spread over the whole int32 range, as lookup3's are.
type Row = readonly [id: number, value: number];
const hi = (id: number) => Math.imul(id, 0x9e3779b1) | 0;
const lo = (id: number) => Math.imul(id ^ 0x5bd1e995, 0x85ebca6b) >>> 0;

function side(rows: readonly Row[]): DiffSide & { lookups: number[] } {
  const lookups: number[] = [];
  return {
    lookups,
    scan: async (sink: RowHashSink) => {
      for (const [id, v] of rows) sink(hi(id), lo(id), v | 0, (v * 7) >>> 0);
    },
    keysOf: async (hashes) => {
      lookups.push(hashes.size);
      const out = new Map<string, Record<string, string | null>>();
      for (const [id] of rows)
        if (hashes.has(hashText(hi(id), lo(id)))) out.set(hashText(hi(id), lo(id)), { id: String(id) });
      return out;
    },
  };
}

describe('the monitor’s bounded partition diff', () => {
  it('counts missing, extra and changed keys, names a sample of each, and ignores a duplicated row', async () => {
    const version: Row[] = Array.from({ length: 50_000 }, (_, i) => [i, i * 3]);
    const table: Row[] = version
      .filter(([id]) => id % 10_000 !== 7) // 5 keys missing
      .map(([id, v]): Row => (id % 12_500 === 1 ? [id, v + 1] : [id, v])) // 4 keys with another value
      .concat([
        [50_001, 0],
        [50_002, 0],
        [50_003, 0],
      ]) // 3 keys the version lacks
      .concat([[10, 30]]); // a duplicated row: duplicate_keys, not a difference
    const t = side(table);
    // A too-small size hint: the index grows as the version streams in.
    const d = await diffPartition(side(version), t, 100, 2);
    expect(d.missing.count).toBe(5);
    expect(d.extra.count).toBe(3);
    expect(d.changed.count).toBe(4);
    expect(d.missing.sample.map((k) => Number(k.key.id) % 10_000)).toEqual([7, 7]);
    expect(d.extra.sample.map((k) => Number(k.key.id)).every((id) => id > 50_000)).toBe(true);
    expect(d.changed.sample.map((k) => Number(k.key.id) % 12_500)).toEqual([1, 1]);
    expect(d.changed.sample[0]).toEqual({ key: { id: expect.any(String) }, count: 1 });
    // Only the sample is looked up again, never the partition.
    expect(Math.max(...t.lookups)).toBeLessThanOrEqual(4);
  });

  it('finds nothing when the rows are the version’s, in any order', async () => {
    const version: Row[] = Array.from({ length: 2_000 }, (_, i) => [i, i]);
    const d = await diffPartition(side(version), side([...version].reverse()), version.length, 5);
    expect([d.missing.count, d.extra.count, d.changed.count]).toEqual([0, 0, 0]);
  });
});
