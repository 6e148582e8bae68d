import type { ConfigDefinition } from '../../config/schema.ts';
import type { StateStore } from '../../state/store.ts';
import type { Logger } from '../../log.ts';
import type { RecountMetrics } from '../metrics.ts';
import { Alerter } from './alerter.ts';
import { LogSink } from './sinks/logSink.ts';
import { WebhookSink } from './sinks/webhookSink.ts';

/** Build the alerter a project's `alerts` config describes: the log, plus one webhook sink per URL. */
export function alerterFromConfig(
  cfg: ConfigDefinition['alerts'],
  store: StateStore,
  log: Logger,
  metrics?: RecountMetrics,
  webhook: { tries?: number; baseDelayMs?: number; timeoutMs?: number } = {},
): Alerter {
  const sinks = cfg.webhooks.map((w) => {
    const { url, headers } = typeof w === 'string' ? { url: w, headers: undefined } : w;
    const sink: WebhookSink = new WebhookSink({
      url,
      headers,
      log,
      ...webhook,
      onOutcome: (o) => metrics?.notification(sink.name, o),
    });
    metrics?.watchSink(sink.name, () => sink.pending());
    return sink;
  });
  return new Alerter(store.observe.alerts, {
    log: new LogSink(log),
    sinks,
    repeatMs: cfg.repeatMinutes * 60_000,
    maxPerMinute: cfg.maxPerMinute,
    logger: log,
    onSuppressed: (s) => metrics?.notification(s, 'suppressed'),
  });
}
