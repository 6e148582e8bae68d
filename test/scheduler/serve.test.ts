import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { CONFIG, HOURLY, landHour } from '../helpers/serveProject.ts';
import { assertPublishedComplete, assertUniqueKeys, assertNoOrphans } from '../helpers/invariants.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';

describe('recount serve', () => {
  let tp: TestProject | undefined;
  let serve: ServeProcess | undefined;
  let store: StateStore | undefined;

  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) await serve.kill();
    await store?.close();
    tp?.cleanup();
    tp = serve = store = undefined;
  });

  async function project(
    analyzers: Record<string, string>,
    configExtra = '',
    hours = 0,
    serveExtra = '',
  ): Promise<TestProject> {
    tp = await makeProject({ examples: false, config: CONFIG(configExtra, serveExtra), analyzers, hours });
    const s = await openStateStore('sqlite:.recount/state.db', tp.dir);
    store = s;
    return tp;
  }

  const published = async (analyzer: string, partition: string) => store!.publishedVersion(analyzer, partition);

  it('runs and publishes a partition when its _SUCCESS lands, and reruns it when the input is rewritten', async () => {
    const p = await project({ hourly: HOURLY() });
    serve = startServe(p);
    await waitFor('daemon start', () => serve!.logs().some((l) => l.msg === 'daemon started'));
    await landHour(p, '2023-10-12T05', 7, 3000, false);
    // Files without _SUCCESS are not ready: nothing runs.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await published('ad_impressions_hourly', '2023-10-12T05')).toBeUndefined();
    writeFileSync(join(p.dir, 'data/events/dt=2023-10-12/hour=05/_SUCCESS'), '');
    const v1 = await waitFor('first publish', () => published('ad_impressions_hourly', '2023-10-12T05'));
    expect(v1.seq).toBe(1);
    await assertPublishedComplete(join(p.dir, 'data/out'), 'ad_impressions_hourly', '2023-10-12T05');

    // Late, corrected data: the writer rewrites the partition; recount reruns it.
    await landHour(p, '2023-10-12T05', 99, 3500);
    const v2 = await waitFor('rerun after rewrite', async () => {
      const v = await published('ad_impressions_hourly', '2023-10-12T05');
      return v && v.seq === 2 ? v : undefined;
    });
    expect(v2.input_fingerprint).not.toBe(v1.input_fingerprint);
    const view = await assertPublishedComplete(join(p.dir, 'data/out'), 'ad_impressions_hourly', '2023-10-12T05');
    await assertUniqueKeys(view!.path, ['ad_id', 'user_segment']);
    expect(await serve.stop()).toBe(0);
    await assertNoOrphans(store!, join(p.dir, 'data/out'));
  });

  it('a dataset folder made after serve started is watched from the next rescan on', async () => {
    const p = await project({ hourly: HOURLY() });
    rmSync(join(p.dir, 'data/events'), { recursive: true, force: true });
    serve = startServe(p, [], { RECOUNT_LOG_LEVEL: 'debug' });
    await waitFor('daemon start', () => serve!.logs().some((l) => l.msg === 'daemon started'));
    await landHour(p, '2023-10-12T05');
    await waitFor('first publish (found by the rescan)', () => published('ad_impressions_hourly', '2023-10-12T05'));
    await waitFor('the folder watched', () =>
      serve!.logs().some((l) => l.msg === 'dataset folder appeared; watching it' && l.dataset === 'events'),
    );
    // An edited analyzer is not picked up by a running daemon: it says so.
    writeFileSync(join(p.dir, 'analyzers/hourly.ts'), HOURLY().replace('files: 2', 'files: 3'));
    await waitFor('the edit noticed', () =>
      serve!
        .logs()
        .some(
          (l) =>
            l.level === 40 &&
            String(l.msg).startsWith('a definition changed on disk; restart recount serve') &&
            l.file === 'analyzers/hourly.ts',
        ),
    );
    await landHour(p, '2023-10-12T06');
    // 'partition ready' is logged by the file watcher only, never by a rescan.
    await waitFor('the watcher saw _SUCCESS', () =>
      serve!.logs().some((l) => l.msg === 'partition ready' && l.partition === '2023-10-12T06'),
    );
    await waitFor('second publish', () => published('ad_impressions_hourly', '2023-10-12T06'));
    expect(await serve.stop()).toBe(0);
  });

  it('runs the daily rollup once all 24 hours of the hourly analyzer are published', async () => {
    const daily = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'daily', inputs: ['ad_impressions_hourly'], grain: 'day', start: '2023-10-12',
  sql: 'SELECT ad_id, user_segment, sum(impression_count)::BIGINT AS impression_count FROM ad_impressions_hourly GROUP BY ALL' });`;
    const p = await project({ hourly: HOURLY(), daily });
    for (let h = 0; h < 23; h++) await landHour(p, `2023-10-12T${String(h).padStart(2, '0')}`, h + 1, 500);
    serve = startServe(p);
    await waitFor(
      '23 hours published',
      async () =>
        (await store!.listPartitions('ad_impressions_hourly')).filter((x) => x.published_seq !== null).length === 23,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await published('daily', '2023-10-12')).toBeUndefined();
    await landHour(p, '2023-10-12T23', 24, 500);
    const d = await waitFor('daily published', () => published('daily', '2023-10-12'));
    expect(d.seq).toBe(1);
    // The attempt records its ending just after its publish: wait for it, then it must be the only one.
    const attempts = await waitFor('the daily attempt recorded', async () => {
      const all = await store!.listAttempts({ analyzer: 'daily' });
      return all.every((a) => a.status !== 'running') ? all : undefined;
    });
    expect(attempts.map((a) => a.status)).toEqual(['succeeded']);
    expect(await serve.stop()).toBe(0);
  });

  it('retries a transient failure with backoff, and never retries a permanent one', async () => {
    const broken = HOURLY({ name: 'broken', sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id HAVING' });
    const p = await project({ hourly: HOURLY(), broken });
    await landHour(p, '2023-10-12T01');
    const counter = join(p.dir, 'fault-counter');
    serve = startServe(p, ['--until-idle'], {
      RECOUNT_FAULT_TRANSIENT: '2',
      RECOUNT_FAULT_COUNTER: counter,
      RECOUNT_FAULT_ANALYZER: 'ad_impressions_hourly',
    });
    const { code } = await serve.exited();
    // Caught up, but one run failed for good: --until-idle exits 1 and says which.
    expect(code).toBe(1);
    expect(serve.logs().find((l) => String(l.msg).startsWith('idle: '))?.msg).toMatch(
      /^idle: 1 attempt\(s\) succeeded, 1 run\(s\) failed for good: broken 2023-10-12T01 \[SQL_INVALID\]/,
    );
    const hourly = await store!.listAttempts({ analyzer: 'ad_impressions_hourly', partitionId: '2023-10-12T01' });
    expect(hourly.map((a) => a.status).sort()).toEqual(['failed', 'failed', 'succeeded']);
    const q = (await store!.queue.list(['succeeded', 'failed'])).filter((x) => x.analyzer === 'ad_impressions_hourly');
    expect(q).toHaveLength(1);
    expect(q[0]!.attempts).toBe(3);
    const retries = serve
      .logs()
      .filter((l) => l.msg === 'attempt failed; will retry' && l.analyzer === 'ad_impressions_hourly');
    expect(retries.map((l) => l.try)).toEqual([1, 2]);
    expect(retries.every((l) => l.retryInMs >= 50 && l.retryInMs <= 400)).toBe(true);

    const b = await store!.listAttempts({ analyzer: 'broken' });
    expect(b.filter((a) => a.error_code === 'SQL_INVALID')).toHaveLength(1);
    const bq = (await store!.queue.list(['failed'])).filter((x) => x.analyzer === 'broken');
    expect(bq).toHaveLength(1);
    expect(bq[0]!.last_error_code).toBe('SQL_INVALID');
    // A rescan does not queue it again: same input, same SQL, failed for good.
    serve = startServe(p, ['--until-idle']);
    await serve.exited();
    expect(
      (await store!.listAttempts({ analyzer: 'broken' })).filter((a) => a.error_code === 'SQL_INVALID'),
    ).toHaveLength(1);
  });

  describe('warehouse loads owed', () => {
    const whRows = async (dir: string, table: string) =>
      (
        await duck<{ n: bigint }>(
          `ATTACH '${join(dir, 'wh/db/warehouse.duckdb')}' AS wh (READ_ONLY); SELECT count(*) AS n FROM wh.main.${table}`,
        )
      )[0]!.n;

    it('retries a load that failed (warehouse unreachable) with backoff until it loads, and the table then equals the manifest', async () => {
      const p = await project(
        { hourly: HOURLY({ load: 'ad_hourly' }) },
        "warehouse: 'duckdb:wh/db/warehouse.duckdb',",
        0,
        ', loadRetries: { backoffMs: 200, maxBackoffMs: 800 }',
      );
      // A regular file where the warehouse's folder should be: every open fails until someone removes it.
      mkdirSync(join(p.dir, 'wh'), { recursive: true });
      writeFileSync(join(p.dir, 'wh/db'), 'not a folder');
      await landHour(p, '2023-10-12T03');
      serve = startServe(p);
      const v = await waitFor('publish', () => published('ad_impressions_hourly', '2023-10-12T03'));
      // The publish stands; the load is owed (pending, with the error) and is retried, each try counted.
      const failing = await waitFor('two failed tries', async () => {
        const l = await store!.loads.get('ad_impressions_hourly', '2023-10-12T03', Number(v.seq));
        return l && l.status === 'pending' && l.tries >= 2 && l.finished_at !== null ? l : undefined;
      });
      expect(failing.error_code).toBeTruthy();
      // The daemon logs the failed try after the state store records it, through a pipe: wait for the line.
      await waitFor('the failed try logged', () =>
        serve!
          .logs()
          .some(
            (l) => l.msg === 'load retry failed; the table keeps its previous rows' && l.partition === '2023-10-12T03',
          ),
      );
      // Backoff: tries are spaced, not a tight loop (the first retry waits 200 ms, then 400, 800, 800 …).
      expect(serve.logs().filter((l) => l.msg === 'load retry started').length).toBeLessThanOrEqual(8);

      rmSync(join(p.dir, 'wh/db'));
      const loaded = await waitFor('loaded', async () => {
        const l = await store!.loads.get('ad_impressions_hourly', '2023-10-12T03', Number(v.seq));
        return l?.status === 'loaded' ? l : undefined;
      });
      expect(loaded.rows).toBe(Number(v.rows));
      await waitFor('done logged', () =>
        serve!.logs().some((l) => l.msg === 'load retried: done' && l.partition === '2023-10-12T03'),
      );
      expect(await serve.stop()).toBe(0);
      expect(Number(await whRows(p.dir, 'ad_hourly'))).toBe(Number(v.rows));
      // Exactly once: the load made no new attempt, and the monitor finds nothing wrong.
      expect(
        await store!.listAttempts({ analyzer: 'ad_impressions_hourly', partitionId: '2023-10-12T03' }),
      ).toHaveLength(1);
      const m = p.cli(['monitor', '--json']);
      expect(m.code, m.stdout + m.stderr).toBe(0);
    });

    it('loads a published version that was never loaded (a load never begun), without rerunning it', async () => {
      const p = await project(
        { hourly: HOURLY() },
        "warehouse: 'duckdb:wh/db/warehouse.duckdb',",
        0,
        ', loadRetries: { backoffMs: 100, maxBackoffMs: 400 }',
      );
      await landHour(p, '2023-10-12T04');
      const r = p.cli(['run', 'ad_impressions_hourly', '--partition', '2023-10-12T04']);
      expect(r.code, r.stderr).toBe(0);
      const v = (await published('ad_impressions_hourly', '2023-10-12T04'))!;
      expect(await store!.loads.get('ad_impressions_hourly', '2023-10-12T04', Number(v.seq))).toBeUndefined();
      // The analyzer gains a warehouse table (same SQL): what is published is owed to it.
      writeFileSync(join(p.dir, 'analyzers/hourly.ts'), HOURLY({ load: 'ad_hourly' }));
      serve = startServe(p);
      const loaded = await waitFor('loaded', async () => {
        const l = await store!.loads.get('ad_impressions_hourly', '2023-10-12T04', Number(v.seq));
        return l?.status === 'loaded' ? l : undefined;
      });
      expect(loaded.tries).toBe(1);
      expect(serve.logs().some((l) => l.msg === 'load owed: loading' && l.partition === '2023-10-12T04')).toBe(true);
      expect(await serve.stop()).toBe(0);
      expect(Number(await whRows(p.dir, 'ad_hourly'))).toBe(Number(v.rows));
      expect(
        await store!.listAttempts({ analyzer: 'ad_impressions_hourly', partitionId: '2023-10-12T04' }),
      ).toHaveLength(1);
    });
  });
});
