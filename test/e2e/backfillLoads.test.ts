import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestProject } from '../helpers/project.ts';
import { projectOn, type ProjectOnWarehouse, tableState, versionStats } from '../warehouse/projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const HOURS = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02', '2023-10-12T03'];

// A backfill loads a partition while the next ones run: each attempt publishes and leaves its load owed, and one
// queue loads the versions through the backfill's one warehouse. What a reader of the table sees must not change.
describe('backfill loads beside the next partitions', () => {
  let on: ProjectOnWarehouse | undefined;
  let tp: TestProject;
  beforeAll(async () => {
    on = await projectOn('duckdb', 'backfill', { hours: HOURS.length, rowsPerHour: 3_000 });
    tp = on.tp;
  });
  afterAll(async () => {
    await on?.stop();
  });

  it('killed in the middle of a load: that load and every later one are owed, the table keeps only whole versions, load --pending completes it', async () => {
    const range = ['--from', HOURS[0]!, '--to', HOURS.at(-1)!];
    const killed = tp.cli(['backfill', A, ...range], { RECOUNT_FAULT: 'during-load-copy' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const ctx = await tp.open();
    try {
      const published: string[] = [];
      for (const p of HOURS) if ((await ctx.store.getPartition(A, p))?.published_seq) published.push(p);
      expect(published[0]).toBe(HOURS[0]);
      // The first load died mid-COPY: nothing of it is in the table, and it is owed with every later publish.
      let st = await tableState(on!.url, tp.dir, A);
      expect(st.stats.size).toBe(0);
      for (const p of published) expect(await ctx.store.loads.get(A, p, 1)).toMatchObject({ status: 'pending' });

      const pending = tp.cli(['--json', 'load', A, '--pending']);
      expect(pending.code, pending.stderr).toBe(0);
      const rest = tp.cli(['--json', 'backfill', A, ...range]);
      expect(rest.code, rest.stderr).toBe(0);
      st = await tableState(on!.url, tp.dir, A);
      for (const p of HOURS) {
        const v = await versionStats(ctx.store, A, p, 1);
        expect(st.stats.get(p), p).toEqual({ partition: p, rows: v.rows, checksum: v.checksum });
        expect(await ctx.store.loads.get(A, p, 1)).toMatchObject({ status: 'loaded' });
      }
    } finally {
      await ctx.close();
    }
  });

  it('a run killed right after its publish, before it recorded its load: load --pending loads that version', async () => {
    const p = HOURS[0]!;
    const killed = tp.cli(['run', A, '--partition', p], { RECOUNT_FAULT: 'after-publish' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const pending = tp.cli(['--json', 'load', A, '--pending']);
    expect(pending.code, pending.stderr).toBe(0);
    expect(pending.json.loads).toEqual([expect.objectContaining({ partition: p, version: 2, status: 'loaded' })]);
    const ctx = await tp.open();
    try {
      const v = await versionStats(ctx.store, A, p, 2);
      const st = await tableState(on!.url, tp.dir, A);
      expect(st.loads.get(p)).toMatchObject({ version: 2 });
      expect(st.stats.get(p)).toEqual({ partition: p, rows: v.rows, checksum: v.checksum });
    } finally {
      await ctx.close();
    }
  });

  it('reports each partition, then its load, in partition order, also with --parallel', () => {
    for (const parallel of ['1', '2']) {
      const r = tp.cli(['backfill', A, '--from', HOURS[0]!, '--to', HOURS.at(-1)!, '--force', '--parallel', parallel]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => /published v|loaded into .*: v/.test(l));
      const expected = HOURS.flatMap((p) => [`${p}: published v`, 'loaded into']);
      expect(lines.map((l, i) => l.includes(expected[i]!)).every(Boolean), lines.join('\n')).toBe(true);
      expect(lines).toHaveLength(expected.length);
    }
  });
});
