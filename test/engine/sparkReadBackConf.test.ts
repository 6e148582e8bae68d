import { describe, expect, it } from 'vitest';
import { readBackConf } from '../../src/engine/spark/readBackConf.ts';

const ADVISORY = 'spark.sql.adaptive.advisoryPartitionSizeInBytes';

describe("the Spark checks' read-back settings", () => {
  it('reads staged files no larger than one adaptive shuffle partition (64 MiB by default) in one task and partition, without adaptive execution', () => {
    const one = {
      'spark.sql.shuffle.partitions': '1',
      'spark.sql.files.minPartitionNum': '1',
      'spark.sql.adaptive.enabled': 'false',
    };
    expect(readBackConf(230_000, 4, {})).toEqual(one);
    expect(readBackConf(64 * 2 ** 20, 4, {})).toEqual(one);
    expect(readBackConf(3_000_000, 8, { [ADVISORY]: '4m' })).toEqual(one);
  });

  it('gives larger files a shuffle partition each and leaves the scan to Spark', () => {
    expect(readBackConf(64 * 2 ** 20 + 1, 4, {})).toEqual({ 'spark.sql.shuffle.partitions': '4' });
    // An out-of-memory retry's smaller partitions count.
    expect(readBackConf(5_000_000, 8, { [ADVISORY]: '4m' })).toEqual({ 'spark.sql.shuffle.partitions': '8' });
    expect(readBackConf(2 ** 30, 0, {})).toEqual({ 'spark.sql.shuffle.partitions': '1' });
  });
});
