import { describe, expect, it } from 'vitest';
import { outOfMemoryStreak, parseSparkBytes, sparkConfAfterOutOfMemory } from '../../src/engine/spark/oomRetry.ts';

const MB = 2 ** 20;

describe('Spark settings of a retry after out-of-memory attempts', () => {
  it.each([
    ['134217728', 128 * MB],
    ['128m', 128 * MB],
    ['64MB', 64 * MB],
    ['1g', 1024 * MB],
    ['10b', 10],
    ['-1', undefined],
    ['lots', undefined],
    [undefined, undefined],
  ])('reads the size %s as %s bytes', (text, bytes) => {
    expect(parseSparkBytes(text)).toBe(bytes);
  });

  const oom = { status: 'oom', error_code: 'OUT_OF_MEMORY' };
  const failed = { status: 'failed', error_code: 'SQL_INVALID' };
  const ok = { status: 'succeeded', error_code: null };
  it.each([
    ['no attempt yet', [], 0],
    ['a success last', [ok, oom], 0],
    ['one out of memory after a success', [oom, ok, oom], 1],
    ['two in a row, one still running first', [{ status: 'running', error_code: null }, oom, oom, failed, oom], 2],
    ['a worker killed for its memory (the daemon records it oom too)', [oom, oom, oom], 3],
    ['another failure last', [failed, oom], 0],
  ])('%s: a streak of %#', (_what, attempts, streak) => {
    expect(outOfMemoryStreak(attempts as { status: string; error_code: string | null }[])).toBe(streak);
  });

  it.each<[string, number, Record<string, string>, Record<string, string> | undefined]>([
    ['no out of memory: nothing changes', 0, {}, undefined],
    [
      "one, from Spark's defaults",
      1,
      {},
      {
        'spark.sql.shuffle.partitions': '400',
        'spark.sql.adaptive.advisoryPartitionSizeInBytes': String(32 * MB),
        'spark.sql.files.maxPartitionBytes': String(64 * MB),
        'spark.sql.autoBroadcastJoinThreshold': '-1',
      },
    ],
    [
      "two, from the analyzer's own conf",
      2,
      { 'spark.sql.shuffle.partitions': '4', 'spark.sql.adaptive.advisoryPartitionSizeInBytes': '16m' },
      {
        'spark.sql.shuffle.partitions': '16',
        'spark.sql.adaptive.advisoryPartitionSizeInBytes': String(4 * MB),
        'spark.sql.files.maxPartitionBytes': String(32 * MB),
        'spark.sql.autoBroadcastJoinThreshold': '-1',
      },
    ],
    [
      'ten: bounded (16 times at most, never past 8192 partitions, never under 4 MB)',
      10,
      { 'spark.sql.shuffle.partitions': '2000', 'spark.sql.files.maxPartitionBytes': '32m' },
      {
        'spark.sql.shuffle.partitions': '8192',
        'spark.sql.adaptive.advisoryPartitionSizeInBytes': String(4 * MB),
        'spark.sql.files.maxPartitionBytes': String(4 * MB),
        'spark.sql.autoBroadcastJoinThreshold': '-1',
      },
    ],
    [
      'settings already past the bounds are never made larger',
      1,
      { 'spark.sql.shuffle.partitions': '10000', 'spark.sql.adaptive.advisoryPartitionSizeInBytes': '1m' },
      {
        'spark.sql.shuffle.partitions': '10000',
        'spark.sql.adaptive.advisoryPartitionSizeInBytes': String(MB),
        'spark.sql.files.maxPartitionBytes': String(64 * MB),
        'spark.sql.autoBroadcastJoinThreshold': '-1',
      },
    ],
  ])('%s', (_what, streak, conf, expected) => {
    expect(sparkConfAfterOutOfMemory(streak, conf)).toEqual(expected);
  });
});
