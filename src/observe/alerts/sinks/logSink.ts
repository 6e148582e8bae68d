import type { Logger } from '../../../log.ts';
import type { AlertNotice } from '../../../state/alert.ts';
import type { AlertSink } from '../sink.ts';

/** The sink that is always there: one structured log line per notification. */
export class LogSink implements AlertSink {
  readonly name = 'log';

  constructor(private readonly log: Logger) {}

  send(n: AlertNotice): void {
    const fields = {
      alert: {
        id: n.id,
        kind: n.kind,
        severity: n.severity,
        key: n.key,
        count: n.count,
        detail: n.detail ?? undefined,
        resolution: n.resolution ?? undefined,
      },
      analyzer: n.analyzer ?? undefined,
      partition: n.partition ?? undefined,
      attempt: n.attemptId ?? undefined,
    };
    if (n.status === 'resolved') this.log.info(fields, `alert resolved: ${n.title}`);
    else if (n.severity === 'critical') this.log.error(fields, `alert: ${n.title}`);
    else this.log.warn(fields, `alert: ${n.title}`);
  }

  pending(): number {
    return 0;
  }

  async flush(): Promise<void> {}
}
