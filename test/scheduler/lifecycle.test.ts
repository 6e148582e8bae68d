import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { assertNoOrphans, assertPublishedComplete } from '../helpers/invariants.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { formatPartitionId } from '../../src/catalog/partition.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';

/**
 * The hour a schedule firing now queues (the newest closed one). These tests wait up to a minute for it; within
 * that of the next hour the schedule would move on to another hour mid-test (it failed so at 18:59), so they
 * start just after the hour turns instead.
 */
async function newestClosedHour(): Promise<string> {
  const toNextHour = 3_600_000 - (Date.now() % 3_600_000);
  if (toNextHour < 75_000) await new Promise((r) => setTimeout(r, toNextHour + 1_000));
  return formatPartitionId(new Date(Date.now() - 3_600_000), 'hour');
}

const CONFIG = (serve: string) => `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 1, scanIntervalMs: 400, lookbackHours: 1000000, ${serve} },
});
`;

const ANALYZER = (
  extra = '',
  sql = 'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ALL',
) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'a', inputs: ['events'], grain: 'hour', start: '2023-10-12T00', files: 2, retries: { max: 1 }, ${extra}
  sql: '${sql}' });
`;

describe('recount serve lifecycle', () => {
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
    serveConfig: string,
    analyzer: string,
    hours: number,
    rows: number,
    start = '2023-10-12T00',
  ): Promise<TestProject> {
    tp = await makeProject({ examples: false, config: CONFIG(serveConfig), analyzers: { a: analyzer }, hours: 0 });
    if (hours)
      await generateEvents({ out: join(tp.dir, 'data/events'), start, hours, rowsPerHour: rows, seed: 5, threads: 2 });
    store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    return tp;
  }

  it('SIGTERM drains: the running attempt finishes and publishes, nothing new starts, state is consistent', async () => {
    const p = await project(
      '',
      ANALYZER('', 'SELECT user_id, ad_id, count(*) AS n FROM events GROUP BY ALL'),
      3,
      1_000_000,
    );
    serve = startServe(p);
    const running = await waitFor(
      'a running attempt',
      async () => (await store!.listAttempts({ status: 'running' }))[0],
    );
    expect(await serve.stop()).toBe(0);
    const a = await store!.getAttempt(running.attempt_id);
    expect(a!.status).toBe('succeeded');
    const started = serve.logs().filter((l) => l.msg === 'attempt started');
    const stopAt = serve.logs().findIndex((l) => l.msg?.startsWith('stopping'));
    expect(
      serve
        .logs()
        .slice(stopAt)
        .filter((l) => l.msg === 'attempt started'),
    ).toHaveLength(0);
    expect(started).toHaveLength(1);
    expect(await store!.queue.list(['running'])).toHaveLength(0);
    expect((await store!.queue.list(['queued'])).length).toBe(2);
    await assertPublishedComplete(join(p.dir, 'data/out'), 'a', running.partition_id);
    await assertNoOrphans(store!, join(p.dir, 'data/out'));
  });

  it('a cron schedule queues the newest closed partition, and `start` keeps older history out', async () => {
    const previousHour = await newestClosedHour();
    const p = await project(
      'scanIntervalMs: 3600000',
      ANALYZER(`schedule: '* * * * * *',`).replace("start: '2023-10-12T00'", `start: '${previousHour}'`),
      0,
      0,
    );
    await generateEvents({
      out: join(p.dir, 'data/events'),
      start: '2023-10-12T00',
      hours: 1,
      rowsPerHour: 100,
      seed: 1,
    });
    await generateEvents({
      out: join(p.dir, 'data/events'),
      start: previousHour,
      hours: 1,
      rowsPerHour: 1000,
      seed: 1,
    });
    serve = startServe(p, ['--no-watch']);
    const v = await waitFor('the scheduled partition published', () => store!.publishedVersion('a', previousHour));
    expect(v.seq).toBe(1);
    // The schedule fires every second and queues the newest closed hour; up to date, it is not run again.
    await waitFor('a scheduled run', () =>
      serve!.logs().some((l) => l.msg === 'queued' && l.reason === 'schedule' && l.partition === previousHour),
    );
    await waitFor('the scheduled run skipped as up to date', () =>
      serve!.logs().some((l) => l.msg === 'already up to date; not rerun' && l.partition === previousHour),
    );
    expect(await serve.stop()).toBe(0);
    expect(await store!.publishedVersion('a', '2023-10-12T00')).toBeUndefined();
    expect((await store!.listVersions('a', previousHour)).map((x) => x.seq)).toEqual([1]);
  });

  it('a cron schedule whose partition has not landed waits for it: no failed run, no attempt', async () => {
    const previousHour = await newestClosedHour();
    const p = await project(
      'scanIntervalMs: 3600000',
      ANALYZER(`schedule: '* * * * * *',`).replace("start: '2023-10-12T00'", `start: '${previousHour}'`),
      0,
      0,
    );
    serve = startServe(p, ['--no-watch']);
    await waitFor('the schedule fired on a partition not ready', () =>
      serve!
        .logs()
        .some(
          (l) =>
            l.msg === 'scheduled partition not ready yet; it runs when its inputs land' && l.partition === previousHour,
        ),
    );
    expect(await serve.stop()).toBe(0);
    expect(await store!.queue.list(['queued', 'running', 'failed'])).toEqual([]);
    expect(await store!.listAttempts({ analyzer: 'a' })).toEqual([]);
  });

  it('recycles a worker process after its configured number of attempts', async () => {
    const p = await project('workerMaxAttempts: 2', ANALYZER(), 5, 2000);
    serve = startServe(p, ['--until-idle']);
    expect((await serve.exited()).code).toBe(0);
    const attempts = await store!.listAttempts({ analyzer: 'a' });
    expect(attempts.filter((a) => a.status === 'succeeded')).toHaveLength(5);
    const pids = new Set(attempts.map((a) => a.pid));
    expect(pids.size).toBe(3);
    expect(serve.logs().filter((l) => l.msg === 'worker recycled').length).toBeGreaterThanOrEqual(2);
  });

  it('a worker that runs out of V8 heap is recorded as oom and leaves a heap snapshot in the postmortem folder', async () => {
    const p = await project("postmortemDir: 'postmortem'", ANALYZER("memory: '1GB',"), 1, 100);
    serve = startServe(p, ['--until-idle'], { RECOUNT_FAULT: 'exhaust-heap' });
    expect((await serve.exited()).code).toBe(1);
    const [a] = await store!.listAttempts({ analyzer: 'a' });
    expect(a!.status, `${a!.error_code} ${a!.error_message}`).toBe('oom');
    expect(a!.error_message).toMatch(/V8 heap/);
    expect(readdirSync(join(p.dir, 'postmortem')).some((f) => f.endsWith('.heapsnapshot'))).toBe(true);
  });
});
