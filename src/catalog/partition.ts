import { RecountError } from '../errors.ts';

/** Time grain of a dataset or analyzer. */
export type Grain = 'hour' | 'day';

const HOUR_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A parsed partition id: `2023-10-12T09` (hour) or `2023-10-12` (day), with its UTC time range. */
export interface Partition {
  readonly id: string;
  readonly grain: Grain;
  /** Inclusive start, UTC. */
  readonly start: Date;
  /** Exclusive end, UTC. */
  readonly end: Date;
}

const HOUR_MS = 3_600_000;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Parse a partition id for a grain; a malformed or impossible id is a PARTITION_INVALID error. */
export function parsePartition(id: string, grain: Grain): Partition {
  const re = grain === 'hour' ? HOUR_RE : DAY_RE;
  const m = re.exec(id);
  const example = grain === 'hour' ? '2023-10-12T09' : '2023-10-12';
  if (!m) {
    throw new RecountError('PARTITION_INVALID', `malformed ${grain} partition id '${id}'`, {
      subject: id,
      hint: (grain === 'hour' ? DAY_RE : HOUR_RE).test(id)
        ? `'${id}' names ${grain === 'hour' ? 'a day' : 'an hour'}, but this wants ${grain === 'hour' ? 'an' : 'a'} ${grain}: write it as ${example}`
        : `write ${grain === 'hour' ? 'an' : 'a'} ${grain} partition as ${example}`,
    });
  }
  const [, y, mo, d, h] = m;
  const start = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), h === undefined ? 0 : Number(h)));
  if (formatPartitionId(start, grain) !== id) {
    throw new RecountError('PARTITION_INVALID', `partition id '${id}' is not a real ${grain}`, {
      subject: id,
      hint: `check the date; ${grain === 'hour' ? 'an' : 'a'} ${grain} partition looks like ${example}`,
    });
  }
  return makePartition(start, grain);
}

function makePartition(start: Date, grain: Grain): Partition {
  const end = new Date(start.getTime() + (grain === 'hour' ? HOUR_MS : 24 * HOUR_MS));
  return { id: formatPartitionId(start, grain), grain, start, end };
}

/** Format a UTC instant as the id of the partition of that grain holding it. */
export function formatPartitionId(t: Date, grain: Grain): string {
  const day = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
  return grain === 'hour' ? `${day}T${pad(t.getUTCHours())}` : day;
}

/** The Hive-style relative path of a partition: `dt=2023-10-12/hour=09` or `dt=2023-10-12`. */
export function partitionPath(p: Partition): string {
  const day = p.id.slice(0, 10);
  return p.grain === 'hour' ? `dt=${day}/hour=${p.id.slice(11, 13)}` : `dt=${day}`;
}

/** Every partition of a grain from `from` to `to`, both inclusive. */
export function partitionRange(from: string, to: string, grain: Grain): Partition[] {
  const a = parsePartition(from, grain);
  const b = parsePartition(to, grain);
  if (b.start < a.start) {
    throw new RecountError('PARTITION_INVALID', `range ${from}..${to} ends before it starts`, {
      subject: `${from}..${to}`,
      hint: 'put the earlier partition in --from and the later in --to',
    });
  }
  const out: Partition[] = [];
  for (let t = a.start; t <= b.start; t = new Date(t.getTime() + (grain === 'hour' ? HOUR_MS : 24 * HOUR_MS))) {
    out.push(makePartition(t, grain));
  }
  return out;
}

/**
 * The partitions of a dataset of grain `inputGrain` that make up one partition `p` of another grain:
 * a day of an hourly dataset is its 24 hours; an hour of a daily dataset is the day that holds it.
 */
export function coveringPartitions(p: Partition, inputGrain: Grain): Partition[] {
  if (inputGrain === p.grain) return [p];
  if (inputGrain === 'hour') {
    return Array.from({ length: 24 }, (_, h) => makePartition(new Date(p.start.getTime() + h * HOUR_MS), 'hour'));
  }
  return [
    makePartition(new Date(Date.UTC(p.start.getUTCFullYear(), p.start.getUTCMonth(), p.start.getUTCDate())), 'day'),
  ];
}

/** The partition of a grain that holds a partition of another grain (the day of an hour). */
export function enclosingPartition(p: Partition, grain: Grain): Partition {
  return coveringPartitions(p, grain)[0]!;
}
