import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { assertNoOrphans, assertPublishedComplete, assertUniqueKeys } from '../helpers/invariants.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 1, scanIntervalMs: 400, lookbackHours: 1000000 },
});
`;

/** An analyzer whose GROUP BY has about one group per event: its hash table outgrows a small DuckDB limit. */
const WIDE = (
  memory: string,
  retries = '{ max: 3, backoffMs: 50, maxBackoffMs: 200 }',
) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'wide', inputs: ['events'], grain: 'hour', start: '2023-10-12T00', memory: '${memory}', threads: 2, files: 2,
  retries: ${retries},
  sql: 'SELECT user_id, ad_id, count(*) AS n, sum(bid_price) AS total_bid FROM events GROUP BY ALL' });
`;

describe('recount serve worker processes', () => {
  let tp: TestProject | undefined;
  let serve: ServeProcess | undefined;
  let store: StateStore | undefined;

  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) await serve.kill();
    await store?.close();
    tp?.cleanup();
    tp = serve = store = undefined;
  });

  async function project(analyzer: string, hours: number, rowsPerHour: number): Promise<TestProject> {
    tp = await makeProject({ examples: false, config: CONFIG, analyzers: { wide: analyzer }, hours: 0 });
    await generateEvents({
      out: join(tp.dir, 'data/events'),
      start: '2023-10-12T00',
      hours,
      rowsPerHour,
      seed: 11,
      threads: 2,
    });
    store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    return tp;
  }

  it('a small memory budget makes DuckDB spill to disk and the attempt still succeeds within its budget', async () => {
    const p = await project(WIDE('300MB').replace('threads: 2', 'threads: 1'), 1, 1_000_000);
    serve = startServe(p, ['--until-idle']);
    expect((await serve.exited()).code).toBe(0);
    const [a] = await store!.listAttempts({ analyzer: 'wide' });
    expect(a!.status).toBe('succeeded');
    expect(Number(a!.spill_bytes)).toBeGreaterThan(0);
    expect(Number(a!.peak_rss_bytes)).toBeLessThanOrEqual(300 * 1e6);
    const view = await assertPublishedComplete(join(p.dir, 'data/out'), 'wide', '2023-10-12T00');
    await assertUniqueKeys(view!.path, ['user_id', 'ad_id']);
  });

  it('a budget too small to succeed ends as oom, retried each time with fewer threads and no higher DuckDB limit', async () => {
    // A worker process alone needs more than 100 MB, so the RSS watchdog kills every attempt.
    const p = await project(WIDE('100MB'), 1, 20_000);
    serve = startServe(p, ['--until-idle']);
    expect((await serve.exited()).code).toBe(1);
    const attempts = await store!.listAttempts({ analyzer: 'wide' });
    expect(
      attempts.map((a) => a.status),
      JSON.stringify(serve.logs().map((l) => l.msg + ' ' + (l.code ?? '') + (l.error ?? ''))),
    ).toEqual(['oom', 'oom', 'oom']);
    expect(attempts.every((a) => a.error_code === 'OUT_OF_MEMORY')).toBe(true);
    expect(attempts[0]!.error_message).toMatch(/RSS \d+ MB passed the memory budget of 100 MB/);
    expect(
      serve.logs().find((l) => l.level >= 40 && /memory budget of wide leaves DuckDB almost nothing/.test(l.msg)),
    ).toBeDefined();
    const started = serve.logs().filter((l) => l.msg === 'attempt started');
    expect(started.map((l) => l.threads)).toEqual([2, 1, 1]);
    // The watchdog killed it (the process passed its budget): DuckDB's limit goes down too, but never under its 16 MiB floor.
    expect(started[1]!.duckdbMB).toBeLessThanOrEqual(started[0]!.duckdbMB);
    expect(started.every((l) => l.duckdbMB >= 16)).toBe(true);
    const [q] = await store!.queue.list(['failed']);
    expect(q!.last_error_code).toBe('OUT_OF_MEMORY');
    expect(await store!.publishedVersion('wide', '2023-10-12T00')).toBeUndefined();
    await assertNoOrphans(store!, join(p.dir, 'data/out'));
  });

  it("DuckDB's own out-of-memory (here in a check) is recorded as oom and retried with fewer threads at the same limit; a drain keeps it queued", async () => {
    // The check aggregates a list of 30 M integers: no spill can hold it under DuckDB's limit of this budget.
    const hungry = WIDE('400MB', '{ max: 3, backoffMs: 50, maxBackoffMs: 100 }').replace(
      'files: 2,',
      "files: 2, checks: [{ name: 'hungry', sql: 'SELECT * FROM (SELECT list(i) AS l FROM range(30000000) t(i)) WHERE len(l) < 0' }],",
    );
    const p = await project(hungry, 1, 5_000);
    serve = startServe(p);
    await waitFor('the first attempt started', () => serve!.logs().find((l) => l.msg === 'attempt started'));
    // SIGTERM while the attempt runs: it fails during the drain with a retryable error, which must stay queued.
    expect(await serve.stop()).toBe(0);
    const [queued] = await store!.queue.list(['queued', 'running', 'failed']);
    expect(queued).toMatchObject({ state: 'queued', attempts: 1, last_error_code: 'OUT_OF_MEMORY' });
    // status shows the queue item with the smaller configuration its retry gets, and the attempt's memory figures.
    const st = p.cli(['--json', 'status', 'wide', '--partition', '2023-10-12T00']);
    expect(st.json.queue).toEqual([
      expect.objectContaining({
        state: 'queued',
        attempts: 1,
        maxAttempts: 3,
        nextThreads: 1,
        lastError: expect.objectContaining({ code: 'OUT_OF_MEMORY' }),
      }),
    ]);
    expect(st.json.attempts[0]).toMatchObject({ status: 'oom', threads: 2, duckdbLimitBytes: expect.any(Number) });
    expect(st.json.budgetBytes).toBe(400e6);
    serve = startServe(p, ['--until-idle']);
    await serve.exited();
    const attempts = await store!.listAttempts({ analyzer: 'wide' });
    expect(attempts.map((a) => [a.status, a.error_code])).toEqual([
      ['oom', 'OUT_OF_MEMORY'],
      ['oom', 'OUT_OF_MEMORY'],
      ['oom', 'OUT_OF_MEMORY'],
    ]);
    expect(attempts[0]!.error_message).toMatch(/check 'hungry' ran out of its memory budget/);
    const started = serve.logs().filter((l) => l.msg === 'attempt started');
    expect(started.map((l) => l.threads)).toEqual([1, 1]);
    // DuckDB's limit stays: lowering it would only make DuckDB fail sooner.
    expect(new Set(attempts.map((a) => Number(a.memory_bytes))).size).toBe(1);
    const [failed] = await store!.queue.list(['failed']);
    expect(failed).toMatchObject({ attempts: 3, last_error_code: 'OUT_OF_MEMORY' });
    expect(await store!.publishedVersion('wide', '2023-10-12T00')).toBeUndefined();
    await assertNoOrphans(store!, join(p.dir, 'data/out'));
  });

  it('a worker killed mid-attempt has its attempt recorded as crashed and requeued; the output ends correct', async () => {
    const p = await project(WIDE('2GB'), 1, 1_500_000);
    serve = startServe(p);
    const running = await waitFor(
      'a running attempt',
      async () => (await store!.listAttempts({ analyzer: 'wide', status: 'running' }))[0],
    );
    await new Promise((r) => setTimeout(r, 300));
    process.kill(running.pid, 'SIGKILL');
    const v = await waitFor('publish after the retry', () => store!.publishedVersion('wide', '2023-10-12T00'), 90_000);
    const attempts = await store!.listAttempts({ analyzer: 'wide' });
    const killed = attempts.find((a) => a.attempt_id === running.attempt_id)!;
    expect(killed.status).toBe('crashed');
    expect(killed.error_message).toMatch(/died/);
    expect(v.attempt_id).not.toBe(killed.attempt_id);
    // The publish is visible a moment before the worker records its attempt as succeeded.
    await waitFor(
      'the retry recorded succeeded',
      async () => (await store!.getAttempt(v.attempt_id))?.status === 'succeeded',
    );
    expect(await serve.stop()).toBe(0);
    // Recovery removed the killed worker's DuckDB spill folder (the worker itself never could).
    expect(existsSync(join(p.dir, '.recount/spill', killed.attempt_id))).toBe(false);
    const view = await assertPublishedComplete(join(p.dir, 'data/out'), 'wide', '2023-10-12T00');
    await assertUniqueKeys(view!.path, ['user_id', 'ad_id']);
    await assertNoOrphans(store!, join(p.dir, 'data/out'));
  });

  it('SIGKILL of the daemon and a restart lose no queued run and publish nothing twice', async () => {
    const hourly = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'wide', inputs: ['events'], grain: 'hour', start: '2023-10-12T00', files: 2,
  sql: 'SELECT ad_id, user_segment, count(*) AS n FROM events GROUP BY ALL' });`;
    const p = await project(hourly, 12, 20_000);
    serve = startServe(p);
    await waitFor(
      'three partitions published',
      async () => (await store!.listPartitions('wide')).filter((x) => x.published_seq !== null).length >= 3,
    );
    await serve.kill();
    const afterKill = await store!.queue.list(['queued', 'running']);
    expect(afterKill.length).toBeGreaterThan(0);
    serve = startServe(p, ['--until-idle']);
    expect((await serve.exited()).code).toBe(0);
    const partitions = await store!.listPartitions('wide');
    expect(partitions.filter((x) => x.published_seq !== null)).toHaveLength(12);
    for (const x of partitions) {
      const versions = (await store!.listVersions('wide', x.partition_id)).filter((v) => v.status !== 'deleted');
      expect(versions, `${x.partition_id} published more than once`).toHaveLength(1);
      const view = await assertPublishedComplete(join(p.dir, 'data/out'), 'wide', x.partition_id);
      await assertUniqueKeys(view!.path, ['ad_id', 'user_segment']);
    }
    expect(await store!.queue.list(['queued', 'running'])).toHaveLength(0);
    await assertNoOrphans(store!, join(p.dir, 'data/out'));
  });
});
