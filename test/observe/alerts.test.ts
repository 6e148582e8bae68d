import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { waitFor } from '../helpers/serve.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { Alerter } from '../../src/observe/alerts/alerter.ts';
import { LogSink } from '../../src/observe/alerts/sinks/logSink.ts';
import { WebhookSink } from '../../src/observe/alerts/sinks/webhookSink.ts';
import type { AlertInput } from '../../src/state/alert.ts';
import { deadUrl, startReceiver, type Receiver } from './observeHelpers.ts';

function capture(): { log: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const log = createLogger({
    pretty: false,
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) } as unknown as NodeJS.WritableStream,
  });
  return { log, lines };
}

const failed = (partition = '2023-10-12T05', severity: 'warning' | 'critical' = 'critical'): AlertInput => ({
  kind: 'attempt_failed',
  severity,
  key: `failed:hourly/${partition}`,
  analyzer: 'hourly',
  partition,
  title: `hourly ${partition}: failed for good [SQL_INVALID]`,
  detail: 'Binder Error: column "x" not found',
});

describe('alerts', () => {
  let dir: string;
  let store: StateStore;
  let receiver: Receiver | undefined;

  beforeEach(async () => {
    dir = tempDir('recount-alerts-');
    store = await openStateStore(`sqlite:${join(dir, 'state.db')}`, dir);
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps one open alert per key: repeats are counted, a higher severity escalates, a resolved key opens anew', async () => {
    const alerts = store.observe.alerts;
    const a = await alerts.raise(failed('2023-10-12T05', 'warning'));
    const b = await alerts.raise(failed('2023-10-12T05', 'warning'));
    const c = await alerts.raise(failed('2023-10-12T05', 'critical'));
    expect([a.opened, b.opened, c.opened]).toEqual([true, false, false]);
    expect(c.escalated).toBe(true);
    expect(await alerts.list({ status: 'open' })).toEqual([
      expect.objectContaining({ key: 'failed:hourly/2023-10-12T05', count: 3, severity: 'critical' }),
    ]);
    await alerts.raise(failed('2023-10-12T06'));
    expect(await alerts.list({ status: 'open' })).toHaveLength(2);
    expect((await alerts.resolve('failed:hourly/2023-10-12T05', 'published'))?.status).toBe('resolved');
    expect(await alerts.resolve('failed:hourly/2023-10-12T05', 'again')).toBeUndefined();
    const again = await alerts.raise(failed('2023-10-12T05'));
    expect(again.opened).toBe(true);
    expect(await alerts.list()).toHaveLength(3);
    expect(await alerts.openCounts()).toEqual([{ analyzer: 'hourly', severity: 'critical', n: 2 }]);
  });

  it('tells the sinks once per alert (then again only when escalated, resolved, or still open after the repeat interval)', async () => {
    receiver = await startReceiver();
    const { log, lines } = capture();
    const hook = new WebhookSink({ url: receiver.url, log, baseDelayMs: 50 });
    const alerter = new Alerter(store.observe.alerts, {
      log: new LogSink(log),
      sinks: [hook],
      repeatMs: 60 * 60_000,
      maxPerMinute: 100,
      logger: log,
    });
    for (let i = 0; i < 5; i++) await alerter.raise(failed('2023-10-12T05', 'warning'));
    await alerter.raise(failed('2023-10-12T05', 'critical'));
    await alerter.resolve('failed:hourly/2023-10-12T05', 'published by attempt a2');
    await alerter.flush(5_000);
    expect(receiver.bodies.map((b) => [b.status, b.alert.severity, b.alert.count])).toEqual([
      ['firing', 'warning', 1],
      ['firing', 'critical', 6],
      ['resolved', 'critical', 6],
    ]);
    const first = receiver.bodies[0]!;
    expect(first._headers['content-type']).toBe('application/json');
    expect(first).toMatchObject({
      source: 'recount',
      text: expect.stringContaining('WARNING: hourly 2023-10-12T05: failed for good'),
      alert: {
        kind: 'attempt_failed',
        key: 'failed:hourly/2023-10-12T05',
        analyzer: 'hourly',
        partition: '2023-10-12T05',
        detail: expect.stringContaining('Binder Error'),
      },
    });
    expect(lines.filter((l) => String(l.msg).startsWith('alert'))).toHaveLength(3);
  });

  it('rate-limits webhook notifications across alerts, while the log and the store get every one; what it held back goes out as one digest at flush', async () => {
    receiver = await startReceiver();
    const { log, lines } = capture();
    const alerter = new Alerter(store.observe.alerts, {
      log: new LogSink(log),
      sinks: [new WebhookSink({ url: receiver.url, log })],
      repeatMs: 0,
      maxPerMinute: 2,
      logger: log,
    });
    for (const hour of ['00', '01', '02', '03']) await alerter.raise(failed(`2023-10-12T${hour}`));
    expect(lines.filter((l) => l.msg?.startsWith('alert notification held back by the rate limit'))).toHaveLength(2);
    await alerter.flush(5_000);
    expect(receiver.bodies.map((b) => b.alert.partition ?? b.alert.kind)).toEqual([
      '2023-10-12T00',
      '2023-10-12T01',
      'digest',
    ]);
    const digest = receiver.bodies[2]!;
    expect(digest.alert).toMatchObject({
      kind: 'digest',
      severity: 'critical',
      status: 'firing',
      count: 2,
      title: '2 alert notifications held back by the rate limit',
    });
    expect(digest.alert.detail).toContain('CRITICAL: hourly 2023-10-12T02: failed for good');
    expect(digest.alert.detail).toContain('CRITICAL: hourly 2023-10-12T03: failed for good');
    expect(lines.filter((l) => l.msg?.startsWith('alert: '))).toHaveLength(4);
    expect(await store.observe.alerts.list({ status: 'open' })).toHaveLength(4);
  });

  it('sends the held-back notifications as soon as the rate limit has room again: one digest, the latest state of each alert', async () => {
    receiver = await startReceiver();
    const { log } = capture();
    let clock = Date.parse('2026-12-02T12:00:00Z');
    const alerter = new Alerter(store.observe.alerts, {
      log: new LogSink(log),
      sinks: [new WebhookSink({ url: receiver.url, log })],
      repeatMs: 0,
      maxPerMinute: 1,
      logger: log,
      now: () => clock,
    });
    await alerter.raise(failed('2023-10-12T00'));
    await alerter.raise(failed('2023-10-12T01', 'warning'));
    await alerter.raise(failed('2023-10-12T01', 'critical'));
    await alerter.resolve('failed:hourly/2023-10-12T01', 'published');
    await waitFor('the first notification', () => receiver!.bodies.length === 1, 5_000, 20);
    expect(alerter.sendHeld()).toBe(false);
    clock += 60_000;
    expect(alerter.sendHeld()).toBe(true);
    await waitFor('the held one', () => receiver!.bodies.length === 2, 5_000, 20);
    // Three notices of one alert held back: only its latest state (resolved) is sent, as itself, not as a digest.
    expect(receiver.bodies[1]!.alert).toMatchObject({
      partition: '2023-10-12T01',
      status: 'resolved',
      severity: 'critical',
    });
    expect(alerter.sendHeld()).toBe(false);
    await alerter.flush(5_000);
    expect(receiver.bodies).toHaveLength(2);
  });

  it('retries a webhook that fails, with backoff, until it takes the notification', async () => {
    receiver = await startReceiver((n) => (n <= 2 ? 503 : 200));
    const { log, lines } = capture();
    const outcomes: string[] = [];
    const hook = new WebhookSink({ url: receiver.url, log, baseDelayMs: 20, onOutcome: (o) => outcomes.push(o) });
    const alerter = new Alerter(store.observe.alerts, {
      log: new LogSink(log),
      sinks: [hook],
      repeatMs: 0,
      maxPerMinute: 10,
      logger: log,
    });
    await alerter.raise(failed());
    // The receiver holds the body a moment before the sink has its answer: wait for the sink's outcome.
    await waitFor('delivery', () => receiver!.bodies.length === 1 && outcomes.includes('delivered'), 10_000, 20);
    expect(outcomes).toEqual(['retried', 'retried', 'delivered']);
    expect(lines.filter((l) => l.msg === 'webhook delivery failed; will retry').map((l) => l.problem)).toEqual([
      'HTTP 503',
      'HTTP 503',
    ]);
    expect(hook.pending()).toBe(0);
  });

  it('a dead receiver costs the caller nothing: send returns at once, retries go on in the background, flush gives up', async () => {
    const { log } = capture();
    const outcomes: string[] = [];
    const hook = new WebhookSink({
      url: await deadUrl(),
      log,
      tries: 50,
      baseDelayMs: 30,
      maxDelayMs: 60,
      onOutcome: (o) => outcomes.push(o),
    });
    const alerter = new Alerter(store.observe.alerts, {
      log: new LogSink(log),
      sinks: [hook],
      repeatMs: 0,
      maxPerMinute: 10,
      logger: log,
    });
    await alerter.raise(failed('2023-10-12T00'));
    await alerter.raise(failed('2023-10-12T01'));
    // The raises are done and stored while both notifications still wait in the sink.
    expect(await store.observe.alerts.list({ status: 'open' })).toHaveLength(2);
    expect(hook.pending()).toBe(2);
    await waitFor('background retries', () => outcomes.filter((o) => o === 'retried').length >= 3, 10_000, 20);
    expect(outcomes).not.toContain('delivered');
    await hook.flush(50);
    const after = outcomes.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(outcomes.length).toBeLessThanOrEqual(after + 1);
  });
});
