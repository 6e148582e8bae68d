import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import {
  coveringPartitions,
  enclosingPartition,
  formatPartitionId,
  parsePartition,
  partitionPath,
  partitionRange,
} from '../../src/catalog/partition.ts';
import { parseAnyPartition } from '../../src/catalog/parseAny.ts';
import {
  fingerprintFiles,
  isReady,
  listPartitionFiles,
  resolveInput,
  type Dataset,
} from '../../src/catalog/dataset.ts';
import { RecountError } from '../../src/errors.ts';

function thrown(fn: () => unknown): RecountError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecountError);
    return e as RecountError;
  }
  throw new Error('expected a RecountError');
}

describe('partition ids', () => {
  it('parse an hour and a day into UTC ranges', () => {
    const h = parsePartition('2023-10-12T09', 'hour');
    expect(h.start.toISOString()).toBe('2023-10-12T09:00:00.000Z');
    expect(h.end.toISOString()).toBe('2023-10-12T10:00:00.000Z');
    const d = parsePartition('2023-10-12', 'day');
    expect(d.start.toISOString()).toBe('2023-10-12T00:00:00.000Z');
    expect(d.end.toISOString()).toBe('2023-10-13T00:00:00.000Z');
  });

  it.each(['2023-13-45T99', '2023-02-30T00', '2023-10-12T24', '2023-1-2T03'])(
    '%s is PARTITION_INVALID (exit 2) naming the id',
    (id) => {
      const e = thrown(() => parsePartition(id, 'hour'));
      expect(e.code).toBe('PARTITION_INVALID');
      expect(e.exitCode).toBe(2);
      expect(e.subject).toBe(id);
      expect(e.message).toContain(`'${id}'`);
      expect(e.hint).toContain('2023-10-12T09');
    },
  );

  it.each(['yesterday', '', '2023-10-12 09', '2023-10-12T9', '20231012T09'])("'%s' is malformed", (id) => {
    const e = thrown(() => parsePartition(id, 'hour'));
    expect(e.code).toBe('PARTITION_INVALID');
    expect(e.message).toContain('malformed hour partition id');
  });

  it('an id of the other grain is named as such in the hint', () => {
    expect(thrown(() => parsePartition('2023-10-12T00', 'day')).hint).toMatch(
      /names an hour, but this wants a day: write it as 2023-10-12/,
    );
    expect(thrown(() => parsePartition('2023-10-12', 'hour')).hint).toMatch(/names a day, but this wants an hour/);
  });

  it('a leap day exists in 2024 and not in 2023', () => {
    expect(parsePartition('2024-02-29', 'day').id).toBe('2024-02-29');
    expect(thrown(() => parsePartition('2023-02-29', 'day')).message).toContain('not a real day');
  });

  it('parseAnyPartition tells the grain from the form', () => {
    expect(parseAnyPartition('2023-10-12T09').grain).toBe('hour');
    expect(parseAnyPartition('2023-10-12').grain).toBe('day');
    expect(thrown(() => parseAnyPartition('2023-10')).code).toBe('PARTITION_INVALID');
  });

  it('formatPartitionId round-trips and Hive paths follow dt=/hour=', () => {
    expect(formatPartitionId(new Date('2023-10-12T09:59:59Z'), 'hour')).toBe('2023-10-12T09');
    expect(formatPartitionId(new Date('2023-10-12T23:59:59Z'), 'day')).toBe('2023-10-12');
    expect(partitionPath(parsePartition('2023-10-12T09', 'hour'))).toBe('dt=2023-10-12/hour=09');
    expect(partitionPath(parsePartition('2023-10-12', 'day'))).toBe('dt=2023-10-12');
  });
});

describe('ranges and covering partitions', () => {
  it('a range is inclusive and crosses days and month ends', () => {
    expect(partitionRange('2023-10-31T22', '2023-11-01T01', 'hour').map((p) => p.id)).toEqual([
      '2023-10-31T22',
      '2023-10-31T23',
      '2023-11-01T00',
      '2023-11-01T01',
    ]);
    expect(partitionRange('2023-12-31', '2024-01-01', 'day').map((p) => p.id)).toEqual(['2023-12-31', '2024-01-01']);
    expect(partitionRange('2023-10-12T05', '2023-10-12T05', 'hour')).toHaveLength(1);
  });

  it('a backwards range is PARTITION_INVALID saying which way round', () => {
    const e = thrown(() => partitionRange('2023-10-12T05', '2023-10-12T04', 'hour'));
    expect(e.code).toBe('PARTITION_INVALID');
    expect(e.hint).toContain('--from');
  });

  it('a day of an hourly dataset is its 24 hours; an hour of a daily dataset is its day', () => {
    const hours = coveringPartitions(parsePartition('2023-10-12', 'day'), 'hour');
    expect(hours.map((p) => p.id)).toEqual(
      Array.from({ length: 24 }, (_, h) => `2023-10-12T${String(h).padStart(2, '0')}`),
    );
    expect(coveringPartitions(parsePartition('2023-10-12T17', 'hour'), 'day').map((p) => p.id)).toEqual(['2023-10-12']);
    expect(enclosingPartition(parsePartition('2023-10-12T17', 'hour'), 'day').id).toBe('2023-10-12');
    expect(coveringPartitions(parsePartition('2023-10-12T17', 'hour'), 'hour').map((p) => p.id)).toEqual([
      '2023-10-12T17',
    ]);
  });
});

describe('readiness and input files', () => {
  const root = tempDir('recount-catalog-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const ds: Dataset = { name: 'events', root: join(root, 'events'), grain: 'hour' };
  const hourly: Dataset = { name: 'hourly_out', root: join(root, 'out'), grain: 'hour', producer: 'hourly_out' };

  function hour(d: Dataset, id: string, files: string[], ready: boolean): string {
    const dir = join(d.root, partitionPath(parsePartition(id, 'hour')));
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(join(dir, f), f);
    if (ready) writeFileSync(join(dir, '_SUCCESS'), '');
    return dir;
  }

  it('a partition is ready only with _SUCCESS', () => {
    hour(ds, '2023-10-12T00', ['part-00000.parquet'], true);
    hour(ds, '2023-10-12T01', ['part-00000.parquet'], false);
    expect(isReady(ds, parsePartition('2023-10-12T00', 'hour'))).toBe(true);
    expect(isReady(ds, parsePartition('2023-10-12T01', 'hour'))).toBe(false);
    expect(isReady(ds, parsePartition('2023-10-12T02', 'hour'))).toBe(false);
  });

  it('lists only visible .parquet files, sorted, with paths relative to the dataset root', () => {
    hour(ds, '2023-10-12T03', ['b.parquet', 'a.parquet', '.hidden.parquet', '_tmp.parquet', 'notes.txt'], true);
    const files = listPartitionFiles(ds, parsePartition('2023-10-12T03', 'hour'));
    expect(files.map((f) => f.path)).toEqual(['dt=2023-10-12/hour=03/a.parquet', 'dt=2023-10-12/hour=03/b.parquet']);
    expect(files[0]!.size).toBe('a.parquet'.length);
  });

  it('a partition that is not ready is PARTITION_NOT_READY naming the dataset and partition, telling to wait', () => {
    const e = thrown(() => resolveInput(ds, parsePartition('2023-10-12T01', 'hour')));
    expect(e.code).toBe('PARTITION_NOT_READY');
    expect(e.exitCode).toBe(1);
    expect(e.subject).toBe('events/dt=2023-10-12/hour=01');
    expect(e.message).toContain('2023-10-12T01');
    expect(e.hint).toMatch(/_SUCCESS/);
  });

  it("a day over an analyzer's hourly output lists the missing hours (shortened) and names the analyzer to run", () => {
    hour(hourly, '2023-10-12T00', ['part-00000.parquet'], true);
    const e = thrown(() => resolveInput(hourly, parsePartition('2023-10-12', 'day')));
    expect(e.code).toBe('PARTITION_NOT_READY');
    expect(e.details?.missing).toHaveLength(23);
    expect(e.message).toContain('2023-10-12T01, 2023-10-12T02');
    expect(e.message).toContain('and 17 more');
    expect(e.hint).toContain("analyzer 'hourly_out'");
  });

  it('the fingerprint changes when a file changes size or mtime, and not otherwise', () => {
    const p = parsePartition('2023-10-12T00', 'hour');
    const dir = join(ds.root, partitionPath(p));
    const a = resolveInput(ds, p).fingerprint;
    expect(resolveInput(ds, p).fingerprint).toBe(a);
    utimesSync(join(dir, 'part-00000.parquet'), new Date('2023-01-01T00:00:00Z'), new Date('2023-01-01T00:00:00Z'));
    const b = resolveInput(ds, p).fingerprint;
    expect(b).not.toBe(a);
    writeFileSync(join(dir, 'part-00000.parquet'), 'longer content');
    utimesSync(join(dir, 'part-00000.parquet'), new Date('2023-01-01T00:00:00Z'), new Date('2023-01-01T00:00:00Z'));
    expect(resolveInput(ds, p).fingerprint).not.toBe(b);
    expect(fingerprintFiles([])).toBe(fingerprintFiles([]));
  });
});
