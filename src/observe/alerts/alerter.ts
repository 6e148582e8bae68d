import type { Logger } from '../log.ts';
import type { AlertRow } from '../../state/types.ts';
import type { AlertInput, AlertNotice } from './alert.ts';
import type { AlertStore } from './alertStore.ts';
import type { AlertSink } from './sink.ts';

/** How often alerts are told, and to whom. */
export interface AlerterOptions {
  /** The log sink: told of everything the other sinks are told, never rate-limited. */
  readonly log: AlertSink;
  /** Other sinks (webhooks): rate-limited together. */
  readonly sinks: readonly AlertSink[];
  /** An alert still open is re-sent at most this often. */
  readonly repeatMs: number;
  /** Most notifications per minute to the other sinks. */
  readonly maxPerMinute: number;
  readonly logger: Logger;
  readonly onSuppressed?: (sink: string) => void;
}

/** An alert row as the sinks see it. */
export function toNotice(a: AlertRow): AlertNotice {
  return {
    id: Number(a.id),
    status: a.status === 'resolved' ? 'resolved' : 'firing',
    kind: a.kind,
    severity: a.severity,
    key: a.key,
    analyzer: a.analyzer,
    partition: a.partition_id,
    attemptId: a.attempt_id,
    title: a.title,
    detail: a.detail,
    count: Number(a.count),
    firstAt: a.first_at,
    lastAt: a.last_at,
    resolution: a.resolution,
  };
}

/**
 * Raises and resolves alerts: stored first (open/resolved, one open alert per key), then told to the sinks
 * when new, escalated, resolved, or still open after `repeatMs`. Repeats in between are only counted.
 * Webhooks share a token bucket of `maxPerMinute`, so a storm of failures cannot flood a receiver.
 */
export class Alerter {
  private tokens: number;
  private refilledAt = Date.now();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: AlertStore,
    private readonly opts: AlerterOptions,
  ) {
    this.tokens = opts.maxPerMinute;
  }

  /** Raise an alert (serialized, so concurrent raises of one key stay one alert). */
  raise(a: AlertInput): Promise<AlertRow> {
    return this.serial(async () => {
      const r = await this.store.raise(a);
      const last = r.alert.notified_at ? Date.parse(r.alert.notified_at) : 0;
      if (r.opened || r.escalated || Date.now() - last >= this.opts.repeatMs) {
        this.notify(toNotice(r.alert));
        await this.store.markNotified(Number(r.alert.id));
      }
      return r.alert;
    });
  }

  /** Resolve the open alert with this key, if there is one, and tell the sinks. */
  resolve(key: string, resolution: string): Promise<AlertRow | undefined> {
    return this.serial(async () => {
      const a = await this.store.resolve(key, resolution);
      if (a) this.notify(toNotice(a));
      return a;
    });
  }

  /** Resolve every open alert whose key starts with `prefix` for which `keep` is false. */
  resolveWhere(prefix: string, resolution: string, keep: (a: AlertRow) => boolean = () => false): Promise<void> {
    return this.serial(async () => {
      for (const a of await this.store.openWithPrefix(prefix)) {
        if (keep(a)) continue;
        const r = await this.store.resolve(a.key, resolution);
        if (r) this.notify(toNotice(r));
      }
    });
  }

  /** Resolve an alert by id (someone acknowledged it on the dashboard). */
  resolveById(id: number, resolution: string): Promise<AlertRow | undefined> {
    return this.serial(async () => {
      const a = await this.store.resolveById(id, resolution);
      if (a) this.notify(toNotice(a));
      return a;
    });
  }

  /** Wait for the sinks to deliver what they hold, up to `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    await this.chain;
    await Promise.all(this.opts.sinks.map((s) => s.flush(timeoutMs)));
  }

  /** Sinks other than the log, for metrics. */
  get sinks(): readonly AlertSink[] {
    return this.opts.sinks;
  }

  private notify(n: AlertNotice): void {
    this.opts.log.send(n);
    if (this.opts.sinks.length === 0) return;
    if (!this.take()) {
      for (const s of this.opts.sinks) this.opts.onSuppressed?.(s.name);
      this.opts.logger.warn({ alert: n.id, key: n.key }, 'alert notification held back by the rate limit (kept in the store and on the dashboard)');
      return;
    }
    for (const s of this.opts.sinks) {
      try {
        s.send(n);
      } catch (err) {
        this.opts.logger.error({ err, sink: s.name }, 'alert sink failed');
      }
    }
  }

  private take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.opts.maxPerMinute, this.tokens + ((now - this.refilledAt) / 60_000) * this.opts.maxPerMinute);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
