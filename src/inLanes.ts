/**
 * Run `task(i, lane)` for every i in 0..count-1, in order of i, at most `lanes` at a time: each lane takes the next i
 * when its task is done. Once a task throws, no lane starts another; every task started settles before this
 * returns (a caller may then close what the lanes share), and the first error is thrown. Used where independent
 * pieces of one job run side by side: a layout's bucket files, a backfill's partitions.
 */
export async function inLanes(
  count: number,
  lanes: number,
  task: (i: number, lane: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (l: number) => {
    while (!failed && next < count) {
      try {
        await task(next++, l);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(lanes, count)) }, (_, l) => lane(l)),
  );
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
