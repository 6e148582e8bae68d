/**
 * Runs async tasks one after another, in the order they were queued: a task starts when the one before it has
 * settled, whether it resolved or threw, and its own outcome goes to its caller only. Used where one connection
 * or one file takes one statement at a time (the warehouses), and where events must be handled in order (alerts,
 * the observer).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queue `task` behind everything queued before it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Settles when every task queued so far has settled (never rejects). */
  idle(): Promise<void> {
    return this.tail.then(
      () => undefined,
      () => undefined,
    );
  }
}
