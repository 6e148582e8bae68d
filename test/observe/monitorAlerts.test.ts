import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { join } from 'node:path';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';
import { lit } from '../../src/engine/sql.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { openStateStore } from '../../src/state/open.ts';
import { startReceiver, type Receiver } from './observeHelpers.ts';

const A = 'ad_impressions_hourly';

/** Run the CLI without blocking this process (the webhook receiver lives here and must answer meanwhile). */
async function cli(tp: TestProject, args: string[]): Promise<number | null> {
  const child = tp.spawnCli(args);
  child.stdout!.resume();
  child.stderr!.resume();
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}
const P = '2023-10-12T00';

// `recount monitor` findings become alerts: stored open, sent to the webhooks, resolved once a sweep finds them fixed.
describe('recount monitor alerts', () => {
  let tp: TestProject;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 2000,
      config: `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  defaults: { memory: '1GB', threads: 1, files: 'auto' },
  alerts: { webhooks: ['${receiver.url}'] },
});
`,
    });
  });
  afterAll(async () => {
    tp?.cleanup();
    await receiver?.close();
  });

  it('raises an alert for rows missing from the warehouse, and resolves it when a sweep finds the table repaired', async () => {
    const ctx = await tp.open();
    try {
      expect((await runPartition(ctx, getAnalyzer(ctx.project, A), P)).load).toMatchObject({ status: 'loaded' });
    } finally {
      await ctx.close();
    }
    // Rows deleted behind recount's back.
    await duck(`ATTACH ${lit(join(tp.dir, '.recount/warehouse.duckdb'))} AS wh; DELETE FROM wh.${A} WHERE ad_id < 20`);
    expect(await cli(tp, ['monitor'])).toBe(1);

    const store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    try {
      const open = await store.observe.alerts.list({ status: 'open' });
      expect(open).toEqual([
        expect.objectContaining({
          kind: 'monitor',
          severity: 'critical',
          key: `monitor:${A}/${P}/missing_rows`,
          analyzer: A,
          partition_id: P,
        }),
      ]);
      expect(open[0]!.detail).toMatch(/sample keys: \{"ad_id":"\d+"/);
      // The CLI delivered it before it exited.
      expect(receiver.bodies.map((b) => `${b.status} ${b.alert.key}`)).toEqual([
        `firing monitor:${A}/${P}/missing_rows`,
      ]);

      expect(tp.cli(['load', A, '--force']).code).toBe(0);
      expect(await cli(tp, ['monitor'])).toBe(0);
      expect(await store.observe.alerts.list({ status: 'open' })).toEqual([]);
      expect((await store.observe.alerts.list({ status: 'resolved' }))[0]!.resolution).toBe(
        'recount monitor found it fixed',
      );
      expect(receiver.bodies.map((b) => b.status)).toEqual(['firing', 'resolved']);

      // Values changed behind recount's back (same keys, same row count): titled as such, with its repair.
      await duck(
        `ATTACH ${lit(join(tp.dir, '.recount/warehouse.duckdb'))} AS wh; UPDATE wh.${A} SET impression_count = impression_count + 1 WHERE ad_id < 5`,
      );
      expect(await cli(tp, ['monitor'])).toBe(1);
      const changed = await store.observe.alerts.list({ status: 'open' });
      expect(changed).toEqual([expect.objectContaining({ kind: 'monitor', key: `monitor:${A}/${P}/changed_values` })]);
      expect(changed[0]!.title).toBe(`${A} ${P}: warehouse rows hold other values than the published version (${A})`);
      expect(changed[0]!.detail).toMatch(/repair: recount load /);
    } finally {
      await store.close();
    }
  });
});
