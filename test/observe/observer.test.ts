import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { waitFor } from '../helpers/serve.ts';
import { createLogger } from '../../src/log.ts';
import { Observer } from '../../src/observe/observer.ts';
import type { AttemptEvent } from '../../src/scheduler/daemon.ts';
import { hourlyAnalyzer, observeConfig, Scrape } from './observeHelpers.ts';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

// The observer's alert rules, driven with attempt events and worker samples shaped as the daemon emits them,
// over a real project and state store (the end-to-end path through `recount serve` is in serveObserve.test.ts).
describe('observer alert rules', () => {
  let tp: TestProject;
  let ctx: Awaited<ReturnType<TestProject['open']>>;
  let observer: Observer;

  beforeEach(async () => {
    tp = await makeProject({
      examples: false,
      hours: 3,
      rowsPerHour: 500,
      config: observeConfig('{ memoryWarn: 0.5, memoryCritical: 0.8 }'),
      analyzers: { hourly: hourlyAnalyzer('hourly', 'lagAlertSeconds: 3600,') },
    });
    ctx = await tp.open();
    observer = new Observer(ctx.project, ctx.store, {
      log: createLogger({ pretty: false, level: 'silent' }),
      processMetrics: false,
      healthIntervalMs: 60_000,
    });
  });
  afterEach(async () => {
    await observer.stop(100);
    await ctx.close();
    tp.cleanup();
  });

  const event = (e: Partial<AttemptEvent>): AttemptEvent => ({
    analyzer: 'hourly',
    partition: '2023-10-12T01',
    attemptId: 'a1',
    outcome: 'succeeded',
    final: true,
    durationMs: 1200,
    peakRssBytes: 100e6,
    budgetBytes: 1e9,
    ...e,
  });
  const open = async () =>
    (await ctx.store.observe.alerts.list({ status: 'open' })).map((a) => `${a.kind} ${a.severity} ${a.key}`).sort();
  const metrics = async () =>
    new Scrape(parsePrometheusTextFormat(await observer.metrics.render()), await observer.metrics.render());

  it('an OOM kill alerts (warning while retried, critical when final, with the failure); a later success resolves both', async () => {
    observer.hooks.onAttempt(
      event({
        attemptId: 'a1',
        outcome: 'oom',
        final: false,
        oomReason: 'rss',
        errorCode: 'OUT_OF_MEMORY',
        error: 'worker killed: RSS 1100 MB passed the memory budget of 1000 MB',
        peakRssBytes: 1.1e9,
      }),
    );
    await observer.settled();
    expect(await open()).toEqual([
      'memory critical memory:hourly/2023-10-12T01',
      'oom_kill warning oom:hourly/2023-10-12T01',
    ]);
    observer.hooks.onAttempt(
      event({
        attemptId: 'a2',
        outcome: 'oom',
        final: true,
        oomReason: 'duckdb',
        errorCode: 'OUT_OF_MEMORY',
        error: 'Out of Memory Error: failed to allocate',
      }),
    );
    await observer.settled();
    expect(await open()).toEqual([
      'attempt_failed critical failed:hourly/2023-10-12T01',
      'memory critical memory:hourly/2023-10-12T01',
      'oom_kill critical oom:hourly/2023-10-12T01',
    ]);
    const m = await metrics();
    expect(m.value('recount_oom_kills_total', { analyzer: 'hourly', reason: 'rss' })).toBe(1);
    expect(m.value('recount_oom_kills_total', { analyzer: 'hourly', reason: 'duckdb' })).toBe(1);
    expect(m.value('recount_attempts_total', { analyzer: 'hourly', outcome: 'oom' })).toBe(2);

    observer.hooks.onAttempt(event({ attemptId: 'a3', outcome: 'succeeded', peakRssBytes: 300e6 }));
    await observer.settled();
    expect(await open()).toEqual([]);
    const resolved = await ctx.store.observe.alerts.list({ status: 'resolved' });
    expect(resolved.find((a) => a.kind === 'memory')!.resolution).toBe('attempt a3 peaked at 30% of its budget');
  });

  it('worker samples past the warning and then the critical share make one alert, escalated once', async () => {
    let live = [4242];
    observer.start({ runningCount: 1, pool: { pids: () => live } });
    const memory = async () => (await open()).filter((a) => a.startsWith('memory'));
    const t0 = Date.now();
    let i = 0;
    // One sample every 250 ms, as workers send them.
    const sample = (rss: number) =>
      observer.monitor.sample(
        {
          pid: 4242,
          rss,
          heapUsed: 30e6,
          heapTotal: 50e6,
          external: 5e6,
          duckdbBytes: rss / 2,
          spillBytes: 0,
          attemptId: 'm1',
          analyzer: 'hourly',
          partition: '2023-10-12T02',
          budgetBytes: 1e9,
        },
        t0 + 250 * i++,
      );
    for (const rss of [200e6, 510e6, 600e6, 550e6, 700e6]) sample(rss);
    await waitFor('the warning', async () => (await memory()).length === 1, 5_000, 20);
    for (const rss of [810e6, 900e6, 850e6]) sample(rss);
    await waitFor(
      'the escalation',
      async () => (await memory())[0] === 'memory critical memory:hourly/2023-10-12T02',
      5_000,
      20,
    );
    const alerts = (await ctx.store.observe.alerts.list()).filter((a) => a.kind === 'memory');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      count: 2,
      attempt_id: 'm1',
      title: 'hourly 2023-10-12T02: worker memory at 81% of its 1000 MB budget',
    });
    // Every sample is kept for the attempt's chart (a young attempt keeps all of them).
    await observer.monitor.flush();
    expect((await ctx.store.observe.samples.forAttempt('m1')).map((s) => Number(s.rss_bytes))).toEqual([
      200e6, 510e6, 600e6, 550e6, 700e6, 810e6, 900e6, 850e6,
    ]);
    // The worker's gauges show its last sample while it lives, and go with it.
    expect((await metrics()).value('recount_worker_memory_bytes', { worker: '4242', kind: 'duckdb' })).toBe(425e6);
    live = [];
    expect((await metrics()).family('recount_worker_memory_bytes')?.metrics ?? []).toEqual([]);
  });

  it('raises a lag alert past the analyzer threshold and resolves it when the output catches up', async () => {
    const daemon = { runningCount: 0, pool: { pids: () => [] } };
    observer.start(daemon);
    // Nothing published, three hours of input ready: three hours behind, threshold one hour.
    await waitFor('the lag alert', async () => (await open()).includes('lag critical lag:hourly'), 10_000, 50);
    expect(observer.lagSeconds.get('hourly')).toBe(3 * 3600);
    const { runPartition } = await import('../../src/run/runPartition.ts');
    const { getAnalyzer } = await import('../../src/config/project.ts');
    for (const p of ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'])
      expect((await runPartition(ctx, getAnalyzer(ctx.project, 'hourly'), p)).status).toBe('succeeded');
    observer.hooks.onAttempt(event({ attemptId: 'x', partition: '2023-10-12T02' }));
    await waitFor('the lag resolved', async () => !(await open()).some((a) => a.startsWith('lag')), 15_000, 100);
    expect(observer.lagSeconds.get('hourly')).toBe(0);
  });
});
