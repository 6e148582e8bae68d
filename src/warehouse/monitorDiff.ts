import { hashText, type RowHashSink } from './checksum.ts';
import type { KeyCount } from './warehouse.ts';

/** Keys that differ one way, counted, with a few named. */
export interface KeyDiff {
  readonly count: number;
  readonly sample: KeyCount[];
}

/** How a partition's rows differ from a version's, key by key. */
export interface PartitionDiff {
  /** Keys of the version the table lacks. */
  readonly missing: KeyDiff;
  /** Keys in the table the version lacks. */
  readonly extra: KeyDiff;
  /** Keys in both whose row values differ. */
  readonly changed: KeyDiff;
}

/** The two sides of a diff: each streams its (key hash, value hash) pairs and names the keys of given key hashes. */
export interface DiffSide {
  scan(sink: RowHashSink): Promise<void>;
  keysOf(hashes: ReadonlySet<string>): Promise<Map<string, Record<string, string | null>>>;
}

/**
 * The version's rows as an open-addressing hash table over typed arrays: 4 int32 per row plus two slots, about
 * 26 bytes a row (2 M rows: about 50 MB), where a JavaScript Map of objects took over 400 bytes a row.
 */
class RowHashIndex {
  private kHi: Int32Array;
  private kLo: Int32Array;
  private vHi: Int32Array;
  private vLo: Int32Array;
  private slots: Int32Array;
  private mask: number;
  seen: Uint8Array;
  size = 0;

  constructor(expected: number) {
    const n = Math.max(16, expected);
    this.kHi = new Int32Array(n);
    this.kLo = new Int32Array(n);
    this.vHi = new Int32Array(n);
    this.vLo = new Int32Array(n);
    this.seen = new Uint8Array(n);
    let cap = 32;
    while (cap < n * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  // The slot of a key hash: where it is, or the empty slot where it goes (linear probing; lookup3 bits are well mixed).
  private slot(kHi: number, kLo: number): number {
    let s = (kLo ^ kHi) & this.mask;
    for (;;) {
      const i = this.slots[s]!;
      if (i === -1 || (this.kHi[i] === kHi && this.kLo[i] === (kLo | 0))) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** Row index of a key hash, or -1. */
  find(kHi: number, kLo: number): number {
    return this.slots[this.slot(kHi, kLo)]!;
  }

  /** Add a row; a key already present (which I4 rules out in a version) keeps its first row. */
  add(kHi: number, kLo: number, vHi: number, vLo: number): void {
    if (this.size * 2 >= this.slots.length || this.size === this.kHi.length) this.grow();
    const s = this.slot(kHi, kLo);
    if (this.slots[s] !== -1) return;
    const i = this.size++;
    this.slots[s] = i;
    this.kHi[i] = kHi;
    this.kLo[i] = kLo;
    this.vHi[i] = vHi;
    this.vLo[i] = vLo;
  }

  /** Whether row i's value hash is this one. */
  sameValue(i: number, vHi: number, vLo: number): boolean {
    return this.vHi[i] === vHi && this.vLo[i] === (vLo | 0);
  }

  /** Key hash of row i as decimal text. */
  keyText(i: number): string {
    return hashText(this.kHi[i]!, this.kLo[i]! >>> 0);
  }

  private grow(): void {
    const old = { kHi: this.kHi, kLo: this.kLo, vHi: this.vHi, vLo: this.vLo, size: this.size };
    const next = new RowHashIndex(old.kHi.length * 2);
    for (let i = 0; i < old.size; i++) next.add(old.kHi[i]!, old.kLo[i]!, old.vHi[i]!, old.vLo[i]!);
    Object.assign(this, {
      kHi: next.kHi,
      kLo: next.kLo,
      vHi: next.vHi,
      vLo: next.vLo,
      slots: next.slots,
      mask: next.mask,
      seen: next.seen,
      size: next.size,
    });
  }
}

// A count and up to `limit` key hashes of the keys that show it.
class Tally {
  count = 0;
  readonly hashes: string[] = [];
  constructor(private readonly limit: number) {}
  add(hash: () => string): void {
    if (this.count++ < this.limit) this.hashes.push(hash());
  }
}

async function named(t: Tally, side: DiffSide): Promise<KeyDiff> {
  const keys = await side.keysOf(new Set(t.hashes));
  const sample = t.hashes.flatMap((h) => (keys.has(h) ? [{ key: keys.get(h)!, count: 1 }] : []));
  return { count: t.count, sample };
}

/**
 * Which keys of a partition are missing, extra or changed against a version, in bounded memory: the version's
 * (key hash, value hash) pairs go into a typed-array hash table sized by its row count, the table's rows stream
 * past it, and only the first `sample` keys of each kind are looked up again, by hash, to be named. A key the
 * table holds twice counts once here (duplicates are the monitor's duplicate_keys finding).
 */
export async function diffPartition(
  version: DiffSide,
  table: DiffSide,
  expectedRows: number,
  sample: number,
): Promise<PartitionDiff> {
  const index = new RowHashIndex(expectedRows);
  await version.scan((kHi, kLo, vHi, vLo) => index.add(kHi, kLo, vHi, vLo));
  const extra = new Tally(sample);
  const changed = new Tally(sample);
  await table.scan((kHi, kLo, vHi, vLo) => {
    const i = index.find(kHi, kLo);
    if (i === -1) return extra.add(() => hashText(kHi, kLo));
    if (index.seen[i]) return;
    index.seen[i] = 1;
    if (!index.sameValue(i, vHi, vLo)) changed.add(() => index.keyText(i));
  });
  const missing = new Tally(sample);
  for (let i = 0; i < index.size; i++) if (!index.seen[i]) missing.add(() => index.keyText(i));
  return {
    missing: await named(missing, version),
    extra: await named(extra, table),
    changed: await named(changed, table),
  };
}
