import type { Logger } from '../../../log.ts';
import type { AlertNotice } from '../../../state/alert.ts';
import type { AlertSink } from '../sink.ts';

/** Delivery settings of a webhook. */
export interface WebhookOptions {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Tries per notification, the first included. */
  readonly tries?: number;
  /** First retry delay; doubled at each try (with jitter) up to `maxDelayMs`. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A try that gets no answer within this is abandoned (and retried). */
  readonly timeoutMs?: number;
  /** Most notifications waiting; past it the oldest is dropped (a dead receiver must not grow memory). */
  readonly maxQueue?: number;
  readonly log: Logger;
  readonly onOutcome?: (outcome: 'delivered' | 'retried' | 'failed' | 'dropped') => void;
}

/** The JSON a webhook receives: the alert, plus a `text` line chat tools (Slack, Mattermost) show as is. */
export function webhookPayload(n: AlertNotice): Record<string, unknown> {
  const where = [n.analyzer, n.partition].filter(Boolean).join(' ');
  const text = `${n.status === 'resolved' ? 'RESOLVED' : n.severity.toUpperCase()}: ${n.title}${where && !n.title.includes(where) ? ` (${where})` : ''}`;
  return { source: 'recount', status: n.status, text, alert: n };
}

/** Strip credentials and query strings from a URL before it is logged (webhook URLs often embed secrets). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 24 ? `${u.pathname.slice(0, 24)}…` : u.pathname}`;
  } catch {
    return 'webhook';
  }
}

/**
 * JSON POST of each notification to a URL, in the background: `send` only queues. One delivery at a time per
 * webhook (in order), each retried with exponential backoff and a timeout, so a slow or dead receiver costs
 * a bounded queue and nothing else.
 */
export class WebhookSink implements AlertSink {
  readonly name: string;
  private readonly queue: AlertNotice[] = [];
  private inFlight = 0;
  private pumping: Promise<void> | undefined;
  private closed = false;
  private readonly wake = new Set<() => void>();

  constructor(private readonly opts: WebhookOptions) {
    this.name = `webhook ${redact(opts.url)}`;
  }

  send(n: AlertNotice): void {
    if (this.closed) return;
    if (this.queue.length >= (this.opts.maxQueue ?? 1000)) {
      this.queue.shift();
      this.opts.onOutcome?.('dropped');
      this.opts.log.warn({ sink: this.name }, 'webhook queue full: dropped the oldest notification');
    }
    this.queue.push(n);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  pending(): number {
    return this.queue.length + this.inFlight;
  }

  async flush(timeoutMs: number): Promise<void> {
    const done = this.pumping ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.closed = true;
    for (const w of this.wake) w();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const n = this.queue.shift()!;
      this.inFlight = 1;
      try {
        await this.deliver(n);
      } finally {
        this.inFlight = 0;
      }
    }
  }

  private async deliver(n: AlertNotice): Promise<void> {
    const tries = this.opts.tries ?? 5;
    const body = JSON.stringify(webhookPayload(n));
    for (let attempt = 1; attempt <= tries && !this.closed; attempt++) {
      let problem: string;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'recount-alerts', ...this.opts.headers },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          this.opts.onOutcome?.('delivered');
          return;
        }
        problem = `HTTP ${res.status}`;
        // A 4xx other than 408/429 will not get better by retrying.
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) attempt = tries;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        problem = e.cause?.code ?? e.name ?? 'error';
      }
      if (attempt >= tries || this.closed) {
        this.opts.onOutcome?.('failed');
        this.opts.log.error(
          { sink: this.name, alert: n.id, tries: attempt, problem },
          'webhook delivery failed; giving up on this notification',
        );
        return;
      }
      const base = Math.min(this.opts.maxDelayMs ?? 60_000, (this.opts.baseDelayMs ?? 1_000) * 2 ** (attempt - 1));
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      this.opts.onOutcome?.('retried');
      this.opts.log.warn(
        { sink: this.name, alert: n.id, try: attempt, of: tries, problem, retryInMs: delay },
        'webhook delivery failed; will retry',
      );
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      t.unref();
      this.wake.add(done);
    });
  }
}
