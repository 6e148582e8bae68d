import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { analyzerLag, lagWords } from '../../src/scheduler/lag.ts';

const hourly = (start: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'h', inputs: ['events'], grain: 'hour', start: '${start}', files: 1,
  sql: 'SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id' });`;

// Lag as "newest ready vs newest published" hides gaps and backlog: a partition in the middle that never
// published, and history before serve's window, are counted as well.
describe('analyzer lag', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ examples: false, hours: 4, rowsPerHour: 300, analyzers: { h: hourly('2023-10-12T01') } });
    const ctx = await tp.open();
    try {
      const a = getAnalyzer(ctx.project, 'h');
      for (const p of ['2023-10-12T01', '2023-10-12T03'])
        expect((await runPartition(ctx, a, p)).status).toBe('succeeded');
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it('is not "caught up" when the newest hour is published but one inside the window is not', async () => {
    const ctx = await tp.open();
    try {
      const lag = await analyzerLag(ctx.project, ctx.store, getAnalyzer(ctx.project, 'h'));
      expect(lag).toMatchObject({
        newestReady: '2023-10-12T03',
        newestPublished: '2023-10-12T03',
        seconds: 0,
        readyUnpublished: 1,
        beforeWindow: 1,
        windowStart: '2023-10-12T01:00:00.000Z',
      });
      expect(lagWords(lag)).toBe('1 ready, unpublished');
      expect(lagWords({ seconds: 0, readyUnpublished: 0 })).toBe('caught up');
      expect(lagWords({ seconds: 3 * 86_400, readyUnpublished: 2 })).toBe('3.0 d behind; 2 ready, unpublished');
      expect(lagWords({ seconds: 5400, readyUnpublished: 0 })).toBe('1.5 h behind');
    } finally {
      await ctx.close();
    }
  });

  it('status names the gap, the history before the window and exits 0 when nothing failed', () => {
    const r = tp.cli(['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 ready, unpublished/);
    expect(r.stdout).toMatch(
      /h: 1 partition\(s\) with input before 2023-10-12T01 are not published; recount serve only considers partitions from there on/,
    );
  });
});
