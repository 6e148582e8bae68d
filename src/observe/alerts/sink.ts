import type { AlertNotice } from '../../state/alert.ts';

/** Where alert notifications go. `send` must return at once and never throw: a sink never blocks a run. */
export interface AlertSink {
  readonly name: string;
  send(notice: AlertNotice): void;
  /** Notifications not yet delivered (0 for sinks that deliver synchronously). */
  pending(): number;
  /** Wait up to `timeoutMs` for pending deliveries (at shutdown), then give up on them. */
  flush(timeoutMs: number): Promise<void>;
}
