/**
 * Items asked for one at a time, handled in batches: while a batch runs, the items asked meanwhile wait, and the
 * next batch takes all of them (at most `max`), in the order they were asked. An item asked while nothing runs
 * starts a batch of its own at once: nothing waits for a batch to fill. Used where one commit for many items is
 * what costs (the loads of a DuckDB warehouse file).
 */
export class BatchQueue<I, O> {
  private waiting: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  constructor(
    /** Handles one batch: one output per item, in order; a throw fails every item of the batch. */
    private readonly handle: (items: I[]) => Promise<O[]>,
    private readonly max = 32,
  ) {}

  /** Queue `item`; settles with its output when its batch is done. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Items queued and not yet handed to a batch. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Settles when every item queued so far is done (never rejects). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.max);
        try {
          const out = await this.handle(batch.map((b) => b.item));
          for (const [i, b] of batch.entries()) b.resolve(out[i]!);
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
