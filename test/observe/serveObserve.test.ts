import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import {
  dashboardUrl,
  deadUrl,
  hourlyAnalyzer,
  landHour,
  observeConfig,
  scrape,
  startReceiver,
  type Receiver,
} from './observeHelpers.ts';

// One real `recount serve` over three analyzers: `hourly` (fits its 2 GB budget easily), `hungry` (400 MB budget:
// a worker's ~200 MB is past the 20% warning share, far below the 99% critical one) and `checked` (2 GB, a blocking
// check that always fails). A worker's RSS (Node, DuckDB and its instance) is about 200 MB: the budgets of the two
// that must raise no memory alert are 2 GB, so their 20% share is well above it (at 1 GB they sat on the line). Alerts go to a live webhook receiver and to a dead one.
describe('recount serve: metrics, memory alerts, webhooks', () => {
  let tp: TestProject;
  let serve: ServeProcess;
  let store: StateStore;
  let receiver: Receiver;
  let dead: string;
  let base: string;

  const published = (a: string, p: string) => store.publishedVersion(a, p);

  beforeAll(async () => {
    receiver = await startReceiver();
    dead = await deadUrl();
    tp = await makeProject({
      examples: false,
      hours: 1,
      rowsPerHour: 3000,
      config: observeConfig(
        `{ webhooks: ['${receiver.url}', { url: '${dead}', headers: { 'x-team': 'data' } }], memoryWarn: 0.2, memoryCritical: 0.99 }`,
      ),
      analyzers: {
        hourly: hourlyAnalyzer('hourly', "memory: '2GB',"),
        hungry: hourlyAnalyzer('hungry', "memory: '400MB',"),
        checked: hourlyAnalyzer(
          'checked',
          "memory: '2GB', checks: [{ name: 'no_impressions', sql: 'SELECT ad_id, user_segment, impression_count FROM output WHERE impression_count > 0' }],",
        ),
      },
    });
    store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    serve = startServe(tp, ['--port', '0']);
    base = await dashboardUrl(serve);
    await waitFor(
      'the first hour published or failed',
      async () =>
        (await published('hourly', '2023-10-12T00')) &&
        (await published('hungry', '2023-10-12T00')) &&
        (await store.queue.list(['failed'], 'checked')).length === 1,
      90_000,
    );
  });

  afterAll(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop();
    await store?.close();
    await receiver?.close();
    tp?.cleanup();
  });

  it('/metrics parses as Prometheus text and its counters move with real attempts', async () => {
    const v0 = (await published('hourly', '2023-10-12T00'))!;
    const s1 = await waitFor('attempts counted', async () => {
      const s = await scrape(base);
      return s.value('recount_attempts_total', { analyzer: 'checked', outcome: 'failed' }) === 1 &&
        s.value('recount_attempts_total', { analyzer: 'hungry', outcome: 'succeeded' }) === 1
        ? s
        : undefined;
    });
    expect(s1.value('recount_attempts_total', { analyzer: 'hourly', outcome: 'succeeded' })).toBe(1);
    expect(s1.value('recount_rows_written_total', { analyzer: 'hourly' })).toBe(Number(v0.rows));
    expect(s1.value('recount_bytes_written_total', { analyzer: 'hourly' })).toBe(Number(v0.bytes));
    expect(s1.value('recount_files_written_total', { analyzer: 'hourly' })).toBe(2);
    expect(s1.value('recount_rows_written_total', { analyzer: 'checked' })).toBe(0);
    expect(
      s1.value('recount_check_failures_total', { analyzer: 'checked', check: 'no_impressions', severity: 'error' }),
    ).toBe(1);
    expect(s1.family('recount_attempt_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(
      s1.histogram('recount_attempt_duration_seconds', 'count', { analyzer: 'hourly', outcome: 'succeeded' }),
    ).toBe(1);
    expect(
      s1.histogram('recount_attempt_duration_seconds', 'sum', { analyzer: 'hourly', outcome: 'succeeded' }),
    ).toBeGreaterThan(0);
    expect(s1.family('recount_queue_depth')?.type).toBe('GAUGE');
    // Every analyzer has its series, 0 when nothing is queued or failing, so alert rules never watch an absent series.
    expect(s1.value('recount_queue_depth', { analyzer: 'hungry' })).toBe(0);
    expect(s1.value('recount_load_failures', { analyzer: 'hourly' })).toBe(0);
    expect(s1.value('recount_alerts_open', { analyzer: 'hourly', severity: 'critical' })).toBe(0);
    expect(s1.family('recount_attempts_running')?.type).toBe('GAUGE');
    expect(s1.family('recount_oom_kills_total')?.type).toBe('COUNTER');
    expect(s1.family('recount_loads')?.type).toBe('GAUGE');
    expect(s1.value('recount_alerts_open', { analyzer: 'checked', severity: 'critical' })).toBeGreaterThanOrEqual(2);
    // Every live worker reports its memory; DuckDB's own figure is there too (0 between attempts).
    const rss = s1.family('recount_worker_memory_bytes')!.metrics.filter((m) => m.labels?.kind === 'rss');
    expect(rss.length).toBeGreaterThan(0);
    expect(Number(rss[0]!.value)).toBeGreaterThan(50e6);
    expect(s1.family('recount_worker_memory_bytes')!.metrics.some((m) => m.labels?.kind === 'duckdb')).toBe(true);

    await landHour(tp.dir, '2023-10-12T01');
    const v1 = await waitFor('the second hour published', () => published('hourly', '2023-10-12T01'), 60_000);
    const s2 = await waitFor('the new attempt counted', async () => {
      const s = await scrape(base);
      return s.value('recount_attempts_total', { analyzer: 'hourly', outcome: 'succeeded' }) === 2 ? s : undefined;
    });
    expect(s2.value('recount_rows_written_total', { analyzer: 'hourly' })).toBe(Number(v0.rows) + Number(v1.rows));
    expect(
      s2.histogram('recount_attempt_duration_seconds', 'count', { analyzer: 'hourly', outcome: 'succeeded' }),
    ).toBe(2);
    await waitFor(
      'lag caught up',
      async () => (await scrape(base)).value('recount_lag_seconds', { analyzer: 'hourly' }) === 0 || undefined,
      30_000,
    );
  });

  it('logs JSON lines, with analyzer, partition and attempt ids on every line of an attempt', async () => {
    const lines = serve.logs();
    expect(lines.every((l) => !('raw' in l) || l.raw === '')).toBe(true);
    const ofAttempts = lines.filter((l) => l.attempt !== undefined);
    expect(
      ofAttempts.every(
        (l) =>
          typeof l.analyzer === 'string' &&
          typeof l.partition === 'string' &&
          typeof l.time === 'number' &&
          typeof l.level === 'number',
      ),
    ).toBe(true);
    const hourly = (await store.listAttempts({ analyzer: 'hourly', partitionId: '2023-10-12T00' }))[0]!.attempt_id;
    expect(ofAttempts.filter((l) => l.attempt === hourly).map((l) => l.msg)).toEqual([
      'attempt started',
      'attempt succeeded',
    ]);
    const checked = (await store.listAttempts({ analyzer: 'checked', partitionId: '2023-10-12T00' }))[0]!.attempt_id;
    expect(lines.filter((l) => l.attempt === checked && l.level >= 40).map((l) => l.msg)).toContain(
      'run failed for good',
    );
  });

  it('a worker pushed past its warning share raises exactly one alert, however many samples pass it', async () => {
    const key = 'memory:hungry/2023-10-12T00';
    const first = await store.listAttempts({ analyzer: 'hungry', partitionId: '2023-10-12T00' });
    const samples = await store.observe.samples.forAttempt(first[0]!.attempt_id);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => Number(s.budget_bytes) === 400e6)).toBe(true);
    expect(Math.max(...samples.map((s) => Number(s.rss_bytes)))).toBeGreaterThan(0.2 * 400e6);

    // Run the partition again: its second attempt passes the warning share too.
    const before = await store.listAttempts({ analyzer: 'hungry', partitionId: '2023-10-12T00' });
    await store.queue.enqueue(
      { analyzer: 'hungry', partitionId: '2023-10-12T00', reason: 'manual', maxAttempts: 1, sqlHash: 'x' },
      { force: true },
    );
    await waitFor(
      'the rerun',
      async () =>
        (await store.listAttempts({ analyzer: 'hungry', partitionId: '2023-10-12T00' })).filter(
          (a) => a.status === 'succeeded',
        ).length ===
        before.length + 1,
      60_000,
    );
    const memory = await waitFor('the rerun observed', async () => {
      const all = (await store.observe.alerts.list()).filter((a) => a.kind === 'memory');
      const mine = all.filter((a) => a.key === key);
      return mine.length === 1 && Number(mine[0]!.count) >= 2 ? all : undefined;
    });
    const mine = memory.filter((a) => a.key === key);
    expect(mine).toEqual([
      expect.objectContaining({
        status: 'open',
        severity: 'warning',
        analyzer: 'hungry',
        partition_id: '2023-10-12T00',
      }),
    ]);
    expect(mine[0]!.title).toMatch(/worker memory at \d+% of its 400 MB budget/);
    // Nothing for analyzers well within their budgets, and nothing critical.
    expect(memory.filter((a) => a.analyzer !== 'hungry')).toEqual([]);
    expect(memory.filter((a) => a.severity === 'critical')).toEqual([]);
  });

  it('a webhook receives alerts at a local receiver; a dead receiver is retried in the background while runs go on', async () => {
    const got = await waitFor('the webhook deliveries', () => {
      const kinds = receiver.bodies.map((b) => `${b.alert.kind} ${b.alert.analyzer} ${b.alert.partition}`);
      return kinds.includes('check_failed checked 2023-10-12T00') &&
        kinds.includes('attempt_failed checked 2023-10-12T00') &&
        kinds.includes('memory hungry 2023-10-12T00')
        ? receiver.bodies
        : undefined;
    });
    const check = got.find((b) => b.alert.kind === 'check_failed')!;
    expect(check).toMatchObject({
      source: 'recount',
      status: 'firing',
      alert: { severity: 'critical', key: 'check:checked/2023-10-12T00/no_impressions' },
    });
    expect(check.alert.detail).toMatch(/sample: \[\{"ad_id"/);
    // Each alert reached the live receiver once, despite the retries of the dead one.
    const keys = got.map((b) => `${b.status} ${b.alert.key}`);
    expect(new Set(keys).size).toBe(keys.length);

    // The dead receiver's notifications are still being retried in the background...
    const s = await scrape(base);
    const deadSink = s
      .family('recount_alert_notifications_pending')!
      .metrics.find((m) => dead.includes(m.labels!.sink!.replace('webhook ', '')))!;
    expect(Number(deadSink.value)).toBeGreaterThan(0);
    expect(
      s.value('recount_alert_notifications_total', { sink: deadSink.labels!.sink!, outcome: 'retried' }),
    ).toBeGreaterThan(0);
    expect(s.value('recount_alert_notifications_total', { sink: deadSink.labels!.sink!, outcome: 'delivered' })).toBe(
      0,
    );
    // ...while every run raised after those alerts has already finished and published.
    expect(await published('hourly', '2023-10-12T01')).toBeDefined();
    expect(await published('hungry', '2023-10-12T01')).toBeDefined();
    expect(
      serve.logs().some((l) => l.msg === 'webhook delivery failed; will retry' && l.problem === 'ECONNREFUSED'),
    ).toBe(true);
  });
});
