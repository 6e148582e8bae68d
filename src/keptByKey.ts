/**
 * A value per key computed once by `compute` and kept for the next calls, the `size` last computed at most (the
 * oldest goes first). A failed computation is not kept: the next call computes again. Used where every partition
 * of an analyzer asks the engine the same question (its SQL's parse tree, its query's columns).
 */
export class KeptByKey<V> {
  private readonly values = new Map<string, V>();

  constructor(private readonly size: number) {}

  async get(key: string, compute: () => Promise<V>): Promise<V> {
    if (this.values.has(key)) return this.values.get(key)!;
    const value = await compute();
    if (this.values.size >= this.size) this.values.delete(this.values.keys().next().value!);
    this.values.set(key, value);
    return value;
  }
}
