/** What raised an alert. */
export type AlertKind = 'check_failed' | 'attempt_failed' | 'oom_kill' | 'memory' | 'lag' | 'load_failed' | 'monitor';

/** How urgent an alert is: critical outranks warning, so a raise can escalate an open alert. */
export type AlertSeverity = 'warning' | 'critical';

/** An alert as raised by an observer (the store adds id, status, count and times). */
export interface AlertInput {
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** Raises with the same key while it is open are one alert (counted, not repeated). */
  readonly key: string;
  readonly analyzer?: string;
  readonly partition?: string;
  readonly attemptId?: string;
  readonly title: string;
  readonly detail?: string;
}

/** An alert as sinks receive it. */
export interface AlertNotice {
  readonly id: number;
  readonly status: 'firing' | 'resolved';
  readonly kind: string;
  readonly severity: string;
  readonly key: string;
  readonly analyzer: string | null;
  readonly partition: string | null;
  readonly attemptId: string | null;
  readonly title: string;
  readonly detail: string | null;
  readonly count: number;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly resolution: string | null;
}

/** Rank of a severity, for escalation. */
export function severityRank(s: string): number {
  return s === 'critical' ? 2 : s === 'warning' ? 1 : 0;
}
