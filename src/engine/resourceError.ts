import { RecountError } from '../errors.ts';

/**
 * An engine error caused by a resource running out (memory, disk) rather than by the SQL or the data: such an
 * attempt may pass on a retry with a smaller configuration, so it must never be taken for a failed check or
 * bad SQL (both permanent). `stage` says where it struck (the query, a check) for the message.
 */
export function engineResourceError(err: unknown, subject: string, what: string): RecountError | undefined {
  if (err instanceof RecountError) return err.code === 'OUT_OF_MEMORY' || err.code === 'DISK_FULL' ? err : undefined;
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n')[0]!;
  if (/Out of Memory/i.test(msg)) {
    return new RecountError('OUT_OF_MEMORY', `${what} ran out of its memory budget: ${first}`, {
      subject,
      hint: 'raise memory for this analyzer (or RECOUNT_MEMORY), lower threads, or make sure the spill folder has free space',
      cause: err,
    });
  }
  if (/No space left on device|ENOSPC/i.test(msg)) {
    return new RecountError('DISK_FULL', `${what}: the disk filled up: ${first}`, {
      subject,
      hint: 'free space on the output and spill volumes, then rerun; the previous version stays published',
      cause: err,
    });
  }
  return undefined;
}
