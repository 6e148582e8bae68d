import { RecountError } from '../errors.ts';
import { parsePartition, type Partition } from './partition.ts';

/** Parse a partition id of either grain, telling the grain from its form. */
export function parseAnyPartition(id: string): Partition {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(id)) return parsePartition(id, 'hour');
  if (/^\d{4}-\d{2}-\d{2}$/.test(id)) return parsePartition(id, 'day');
  throw new RecountError('PARTITION_INVALID', `malformed partition id '${id}'`, {
    subject: id,
    hint: 'write 2023-10-12T09 for an hour or 2023-10-12 for a day',
  });
}
