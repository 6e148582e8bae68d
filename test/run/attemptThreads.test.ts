import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePartition } from '../../src/catalog/partition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { ONE_THREAD_INPUT_BYTES, attemptThreads } from '../../src/run/attemptThreads.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

const A = 'ad_impressions_hourly';
const SMALL = '2023-10-12T00';
const BIG = '2023-10-12T01';

// The project default of threads is the most an attempt uses: a small input runs on one DuckDB thread. Threads
// someone set (the analyzer's own, --threads, a retry's halving) are kept.
describe('the threads of a DuckDB attempt', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 2_000 });
    // Make one partition's input big on disk: a sparse file past the threshold (only sizes are looked at here).
    const big = join(tp.dir, 'data/events/dt=2023-10-12/hour=01/zz-big.parquet');
    writeFileSync(big, '');
    truncateSync(big, ONE_THREAD_INPUT_BYTES + 1);
  });
  afterAll(() => tp.cleanup());

  it('one thread for a small input by default; the default for a big one; set threads kept', async () => {
    const ctx = await tp.open();
    try {
      const a = getAnalyzer(ctx.project, A);
      expect(a.threadCount).toBe(2);
      const p = (id: string) => parsePartition(id, a.grain);
      expect(attemptThreads(ctx.project, a, p(SMALL), {})).toBe(1);
      expect(attemptThreads(ctx.project, a, p(BIG), {})).toBe(2);
      // --threads (and a retry's halved threads) are kept; the daemon's default plan fits.
      expect(attemptThreads(ctx.project, a, p(SMALL), { threads: 2 })).toBe(2);
      expect(attemptThreads(ctx.project, a, p(SMALL), { threads: 2, fitThreads: true })).toBe(1);
      // The analyzer's own threads are kept even when the plan would fit them.
      expect(attemptThreads(ctx.project, { ...a, threads: 2 }, p(SMALL), { threads: 2, fitThreads: true })).toBe(2);
      // A partition whose input cannot be resolved keeps the default: the attempt fails on it, naming it.
      expect(attemptThreads(ctx.project, a, p('2023-10-13T05'), {})).toBe(2);
    } finally {
      await ctx.close();
    }
  });

  it('an attempt runs and records the threads it used', async () => {
    const ctx = await tp.open();
    try {
      const r = await runPartition(ctx, getAnalyzer(ctx.project, A), SMALL);
      expect(r.status, r.error?.message).toBe('succeeded');
      const attempt = await ctx.store.getAttempt(r.attemptId);
      expect(Number(attempt?.threads)).toBe(1);
      const set = await runPartition(ctx, getAnalyzer(ctx.project, A), SMALL, { threads: 2 });
      expect(Number((await ctx.store.getAttempt(set.attemptId))?.threads)).toBe(2);
    } finally {
      await ctx.close();
    }
  });
});
