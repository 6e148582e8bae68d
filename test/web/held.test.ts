import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { parsePartition } from '../../src/catalog/partition.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { partitionPage } from '../../src/web/pages/partition.ts';
import { partitionCells } from '../../src/web/grid.ts';
import { ACTIONS } from '../../src/web/actions.ts';

// The dashboard shows a partition a rollback holds (partition page and grid) and can release it.

const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 2,
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });`;
const P = '2023-10-12T00';
const PC = { nonce: 'n', csrf: 'c', openAlerts: 0, critical: false };

describe('dashboard: a held partition', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, analyzers: { counts: COUNTS } });
    ctx = await tp.open();
    for (const seed of [1, 2]) {
      await generateEvents({
        out: join(tp.dir, 'data/events'),
        start: P,
        hours: 1,
        rowsPerHour: 500,
        seed,
        ads: 20,
        threads: 1,
      });
      expect((await runPartition(ctx, getAnalyzer(ctx.project, 'counts'), P)).status).toBe('succeeded');
    }
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  const page = () => partitionPage(ctx, PC, getAnalyzer(ctx.project, 'counts'), parsePartition(P, 'hour'));
  const cell = async () =>
    (await partitionCells(ctx.project, ctx.store, getAnalyzer(ctx.project, 'counts'))).find((c) => c.id === P)?.state;

  it('a rollback from the dashboard holds the partition: the page and the grid say so, and the release button ends it', async () => {
    expect(await cell()).toBe('published');
    expect(await page()).not.toContain('Release the hold');
    const r = await ACTIONS['/actions/rollback']!(
      ctx,
      new URLSearchParams({ analyzer: 'counts', partition: P, version: '1' }),
    );
    expect(r.ok).toBe(true);
    expect(r.text).toContain('held there');
    const html = await page();
    expect(html).toContain('held by a rollback');
    expect(html).toContain('Held at <b>v1</b>');
    expect(html).toContain('Release the hold');
    expect(await cell()).toBe('held');

    const rel = await ACTIONS['/actions/release']!(ctx, new URLSearchParams({ analyzer: 'counts', partition: P }));
    expect(rel).toMatchObject({ ok: true, text: 'Released counts 2023-10-12T00 (held at v1).' });
    expect(await page()).not.toContain('Release the hold');
    expect(await cell()).toBe('published');
    expect((await ctx.store.getPartition('counts', P))?.published_seq).toBe(1);
  });
});
