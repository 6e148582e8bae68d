import { describe, expect, it } from 'vitest';
import { parsePartition } from '../../src/catalog/partition.ts';
import { buildManifest, type ManifestParts } from '../../src/run/buildManifest.ts';
import { RECOUNT_VERSION } from '../../src/version.ts';

const parts: ManifestParts = {
  analyzer: { name: 'daily', sqlHash: 'sqlhash' },
  partition: parsePartition('2023-10-12', 'day'),
  seq: 3,
  attemptId: 'att-1',
  createdAt: new Date('2026-12-03T10:00:00Z'),
  files: [
    { path: 'part-00000-ab.parquet', rows: 2, bytes: 100, sha256: 'a' },
    { path: 'part-00001-ab.parquet', rows: 5, bytes: 300, sha256: 'b' },
  ],
  columns: [
    { name: 'ad_id', type: 'BIGINT' },
    { name: 'total_bid', type: 'DOUBLE' },
  ],
  keys: { keys: ['ad_id'], source: 'declared' },
  fileCount: 2,
  engine: { name: 'duckdb', version: 'v1.5.6', layoutScheme: 'duckdb-hash(keys) % files' },
  checks: [
    { name: 'unique_keys', kind: 'builtin', severity: 'error', passed: true, failing: 0, sample: [{ ad_id: 1 }] },
  ],
  inputs: [
    {
      dataset: { name: 'hourly', root: '/out/hourly', grain: 'hour', producer: 'hourly' },
      partitions: ['2023-10-12T00'],
      files: [{ path: 'dt=2023-10-12/hour=00/part-00000-x.parquet', absPath: '/abs', size: 10, mtimeMs: 5 }],
      versions: [{ analyzer: 'hourly', partition: '2023-10-12T00', version: 7, attemptId: 'up-7' }],
      fingerprint: 'fp-hourly',
      schema: [{ name: 'ad_id', type: 'BIGINT' }],
    },
  ],
  inputFingerprint: 'fp-all',
  run: {
    threads: 2,
    memoryBytes: 1e9,
    host: 'h',
    startedAt: new Date('2026-12-03T09:59:59Z'),
    timings: { inputs: 3 },
    peakRssBytes: 11,
    peakMemoryBytes: 12,
    peakSpillBytes: 13,
  },
};

describe('buildManifest', () => {
  it('totals rows and bytes over the files and records the layout rule with the engine and version that placed the keys', () => {
    const m = buildManifest(parts);
    expect(m).toMatchObject({
      analyzer: 'daily',
      partition: '2023-10-12',
      version: 3,
      attemptId: 'att-1',
      rows: 7,
      bytes: 400,
    });
    expect(m.layout).toEqual({
      files: 2,
      rule: 'duckdb-hash(keys) % files',
      sort: ['ad_id'],
      engine: 'duckdb',
      engineVersion: 'v1.5.6',
    });
    expect(m.keySource).toBe('declared');
  });

  it('records provenance (I8): inputs with the upstream versions read, hashes, versions, timings, peaks; checks without samples', () => {
    const m = buildManifest(parts);
    expect(m.provenance).toMatchObject({
      inputFingerprint: 'fp-all',
      sqlHash: 'sqlhash',
      recountVersion: RECOUNT_VERSION,
      engine: 'duckdb',
      engineVersion: 'v1.5.6',
      threads: 2,
      memoryLimitBytes: 1e9,
      startedAt: '2026-12-03T09:59:59.000Z',
      timingsMs: { inputs: 3 },
      peakRssBytes: 11,
      duckdbPeakBytes: 12,
      spillBytes: 13,
    });
    expect(m.provenance.inputs[0]).toEqual({
      dataset: 'hourly',
      partitions: ['2023-10-12T00'],
      files: [{ path: 'dt=2023-10-12/hour=00/part-00000-x.parquet', size: 10, mtimeMs: 5 }],
      fingerprint: 'fp-hourly',
      versions: [{ analyzer: 'hourly', partition: '2023-10-12T00', version: 7, attemptId: 'up-7' }],
      schema: [{ name: 'ad_id', type: 'BIGINT' }],
    });
    expect(m.checks).toEqual([{ name: 'unique_keys', kind: 'builtin', severity: 'error', passed: true, failing: 0 }]);
  });

  it('keeps no reference to the caller’s timings, which go on after the manifest is built', () => {
    const timings: Record<string, number> = { inputs: 3 };
    const m = buildManifest({ ...parts, run: { ...parts.run, timings } });
    timings.publish = 9;
    expect(m.provenance.timingsMs).toEqual({ inputs: 3 });
  });
});
