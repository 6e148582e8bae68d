import { SerialQueue } from '../../serialQueue.ts';
import type { Logger } from '../../log.ts';
import type { AlertRow } from '../../state/types.ts';
import type { AlertInput, AlertNotice } from '../../state/alert.ts';
import type { AlertStore } from '../../state/alertStore.ts';
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
  /** The clock of the rate limit (tests). */
  readonly now?: () => number;
}

/** Most notifications held back by the rate limit at once (the oldest go first past it; the store keeps them all). */
const MAX_HELD = 500;
/** Most alerts a digest lists one by one. */
const DIGEST_LINES = 30;

/**
 * One notification for many the rate limit held back: how many, the worst severity, and a line per alert, so a
 * receiver learns of every alert of a storm without being flooded by it.
 */
export function digestNotice(held: readonly AlertNotice[]): AlertNotice {
  const severity = held.some((n) => n.severity === 'critical') ? 'critical' : 'warning';
  const lines = held
    .slice(0, DIGEST_LINES)
    .map(
      (n) =>
        `${n.status === 'resolved' ? 'RESOLVED' : n.severity.toUpperCase()}: ${n.title}${n.count > 1 ? ` (x${n.count})` : ''}`,
    );
  if (held.length > DIGEST_LINES) lines.push(`… and ${held.length - DIGEST_LINES} more`);
  lines.push('every alert is in the state store and on the dashboard’s alerts page');
  const times = held.map((n) => n.lastAt).sort();
  return {
    id: 0,
    status: held.some((n) => n.status === 'firing') ? 'firing' : 'resolved',
    kind: 'digest',
    severity,
    key: 'digest',
    analyzer: null,
    partition: null,
    attemptId: null,
    title: `${held.length} alert notification${held.length === 1 ? '' : 's'} held back by the rate limit`,
    detail: lines.join('\n'),
    count: held.length,
    firstAt: times[0] ?? new Date().toISOString(),
    lastAt: times.at(-1) ?? new Date().toISOString(),
    resolution: null,
  };
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
 * Webhooks share a token bucket of `maxPerMinute`, so a storm of failures cannot flood a receiver; what the limit
 * holds back is sent as one digest as soon as the bucket has a token again (and at flush), never dropped unsaid.
 */
export class Alerter {
  private tokens: number;
  private refilledAt: number;
  private readonly queue = new SerialQueue();
  /** Held back by the rate limit: the latest notice per alert id, oldest first. */
  private readonly held = new Map<number, AlertNotice>();
  private heldTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: AlertStore,
    private readonly opts: AlerterOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.tokens = opts.maxPerMinute;
    this.refilledAt = this.now();
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

  /** Send what the rate limit held back, as one digest (or the notice itself, if only one), if a token is free; else wait for one. */
  sendHeld(opts: { force?: boolean } = {}): boolean {
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    if (this.held.size === 0) return false;
    if (!opts.force && !this.take()) {
      this.scheduleHeld();
      return false;
    }
    const notices = [...this.held.values()];
    this.held.clear();
    const n = notices.length === 1 ? notices[0]! : digestNotice(notices);
    this.opts.logger.info({ alerts: notices.length }, 'alert notifications held back by the rate limit: sent now');
    this.deliver(n);
    return true;
  }

  /** Wait for the sinks to deliver what they hold, up to `timeoutMs`; what the rate limit held back goes first, as a digest. */
  async flush(timeoutMs: number): Promise<void> {
    await this.queue.idle();
    this.sendHeld({ force: true });
    await Promise.all(this.opts.sinks.map((s) => s.flush(timeoutMs)));
  }

  /** Sinks other than the log, for metrics. */
  get sinks(): readonly AlertSink[] {
    return this.opts.sinks;
  }

  private notify(n: AlertNotice): void {
    this.opts.log.send(n);
    if (this.opts.sinks.length === 0) return;
    if (this.held.size > 0 || !this.take()) {
      for (const s of this.opts.sinks) this.opts.onSuppressed?.(s.name);
      this.held.delete(n.id);
      this.held.set(n.id, n);
      if (this.held.size > MAX_HELD) this.held.delete(this.held.keys().next().value!);
      this.opts.logger.warn(
        { alert: n.id, key: n.key, held: this.held.size },
        'alert notification held back by the rate limit (sent in a digest when the limit allows; kept in the store and on the dashboard)',
      );
      this.scheduleHeld();
      return;
    }
    this.deliver(n);
  }

  private scheduleHeld(): void {
    if (this.heldTimer) return;
    this.heldTimer = setTimeout(() => this.sendHeld(), Math.ceil(60_000 / this.opts.maxPerMinute));
    this.heldTimer.unref();
  }

  private deliver(n: AlertNotice): void {
    for (const s of this.opts.sinks) {
      try {
        s.send(n);
      } catch (err) {
        this.opts.logger.error({ err, sink: s.name }, 'alert sink failed');
      }
    }
  }

  private take(): boolean {
    const now = this.now();
    this.tokens = Math.min(
      this.opts.maxPerMinute,
      this.tokens + ((now - this.refilledAt) / 60_000) * this.opts.maxPerMinute,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }
}
