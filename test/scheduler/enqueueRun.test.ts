import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePartition } from '../../src/catalog/partition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { type RunContext, runPartition } from '../../src/run/runPartition.ts';
import { enqueueRun } from '../../src/scheduler/enqueueRun.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// The one way a run is queued (daemon discovery and dashboard actions): reason, up to date, busy, not ready.

const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 2,
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });`;
const P = '2023-10-12T00';

describe('enqueueRun', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  const counts = () => getAnalyzer(ctx.project, 'counts');
  const partition = (id = P) => parsePartition(id, 'hour');
  const drain = async () => {
    for (const item of await ctx.store.queue.list(['queued'])) await ctx.store.queue.succeed(item.id);
  };

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, analyzers: { counts: COUNTS } });
    ctx = await tp.open();
    await generateEvents({
      out: join(tp.dir, 'data/events'),
      start: P,
      hours: 1,
      rowsPerHour: 200,
      seed: 1,
      ads: 10,
      threads: 1,
    });
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('a partition whose inputs have not landed is not queued, and says why', async () => {
    const r = await enqueueRun(ctx, counts(), partition('2023-10-13T05'));
    expect(r.state).toBe('not-ready');
    expect(r.state === 'not-ready' && (r.error as Error).message).toBeTruthy();
  });

  it('discovery queues a new partition as new-data once, then finds it busy', async () => {
    expect(await enqueueRun(ctx, counts(), partition())).toEqual({ state: 'queued' });
    expect((await ctx.store.queue.list(['queued'])).map((q) => q.reason)).toEqual(['new-data']);
    expect(await enqueueRun(ctx, counts(), partition())).toEqual({ state: 'busy' });
    await drain();
  });

  it('discovery leaves a published, unchanged partition alone; a request with a reason queues it anyway', async () => {
    expect((await runPartition(ctx, counts(), P)).status).toBe('succeeded');
    expect(await enqueueRun(ctx, counts(), partition())).toEqual({ state: 'up-to-date' });
    expect(await enqueueRun(ctx, counts(), partition(), { reason: 'manual', force: true })).toEqual({
      state: 'queued',
    });
    expect((await ctx.store.queue.list(['queued'])).map((q) => q.reason)).toEqual(['manual']);
    await drain();
  });
});
