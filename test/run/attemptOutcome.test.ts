import { describe, expect, it } from 'vitest';
import { parsePartition } from '../../src/catalog/partition.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import type { Analyzer } from '../../src/config/project.ts';
import { RecountError } from '../../src/errors.ts';
import type { Attempt } from '../../src/run/attempt/attempt.ts';
import { type AttemptEnding, attemptResult } from '../../src/run/attempt/outcome.ts';
import type { SealedVersion } from '../../src/run/attempt/seal.ts';
import type { RunContext } from '../../src/run/attempt/types.ts';

// The attempt's result is built in one place for every ending: which fields each ending reports, in which order
// (`recount run --json` prints them as they are), is the contract this pins.

const partition = parsePartition('2023-10-12T09', 'hour');
const layout = new OutputLayout('/out');

function attempt(): Attempt {
  return {
    ctx: {} as RunContext,
    analyzer: { name: 'hourly' } as Analyzer,
    partition,
    opts: {},
    engine: { name: 'duckdb', open: () => Promise.reject(new Error('not opened here')) },
    layout,
    id: 'a1',
    stagingDir: layout.stagingDir('a1'),
    spillDir: '/spill/a1',
    threads: 1,
    memoryBytes: 1,
    started: Date.now(),
    warnings: ['keys inferred'],
    timings: {},
    checks: [],
    claimed: false,
  };
}

const sealed: SealedVersion = {
  baseSeq: 2,
  seq: 3,
  files: [{ path: 'part-00000.parquet', rows: 5, bytes: 100, sha256: 'x' }],
  rows: 5,
  bytes: 100,
  keys: ['ad_id'],
  inputFingerprint: 'f',
  manifestSha256: 'm',
  engineVersion: 'v1.4.1',
  peakRssBytes: 7,
  peaks: { peakMemoryBytes: 11, peakSpillBytes: 13 },
};

const error = new RecountError('SQL_INVALID', 'bad sql', { hint: 'fix it' });

const cases: { ending: AttemptEnding; keys: string[]; warnings: string[] }[] = [
  {
    ending: { status: 'succeeded', sealed },
    keys: [
      'analyzer',
      'partition',
      'attemptId',
      'status',
      'version',
      'rows',
      'files',
      'bytes',
      'keys',
      'checks',
      'warnings',
      'durationMs',
      'peakRssBytes',
      'spillBytes',
      'duckdbPeakBytes',
      'publishedPath',
      'fileSha256',
      'load',
    ],
    warnings: ['keys inferred'],
  },
  {
    ending: { status: 'superseded', sealed, reason: 'lost the claim' },
    keys: [
      'analyzer',
      'partition',
      'attemptId',
      'status',
      'rows',
      'files',
      'bytes',
      'keys',
      'checks',
      'warnings',
      'durationMs',
      'peakRssBytes',
    ],
    warnings: ['keys inferred', 'not published: lost the claim'],
  },
  {
    ending: { status: 'failed', error, peakRssBytes: 7, peaks: { peakMemoryBytes: 11, peakSpillBytes: 13 } },
    keys: [
      'analyzer',
      'partition',
      'attemptId',
      'status',
      'checks',
      'warnings',
      'durationMs',
      'peakRssBytes',
      'spillBytes',
      'duckdbPeakBytes',
      'error',
    ],
    warnings: ['keys inferred'],
  },
];

describe('the attempt result', () => {
  it.each(cases)('a $ending.status attempt reports its fields in order', ({ ending, keys, warnings }) => {
    const r = attemptResult(attempt(), ending);
    expect(Object.keys(r)).toEqual(keys);
    expect(r).toMatchObject({ analyzer: 'hourly', partition: '2023-10-12T09', attemptId: 'a1', status: ending.status });
    expect(r.warnings).toEqual(warnings);
    expect(r.peakRssBytes).toBe(7);
  });

  it('a success names its version, engine peaks and published path', () => {
    const r = attemptResult(attempt(), { status: 'succeeded', sealed });
    expect(r).toMatchObject({ version: 3, rows: 5, files: 1, bytes: 100, keys: ['ad_id'] });
    expect(r).toMatchObject({ spillBytes: 13, duckdbPeakBytes: 11 });
    expect(r.publishedPath).toBe(layout.publishedPath('hourly', partition));
    expect(r.fileSha256).toEqual(Object.fromEntries(sealed.files.map((f) => [f.path, f.sha256])));
  });

  it('a failure carries its typed error', () => {
    expect(attemptResult(attempt(), cases[2]!.ending).error).toBe(error);
  });
});
