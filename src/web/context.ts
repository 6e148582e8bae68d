import type { Project } from '../config/project.ts';
import type { StateStore } from '../state/store.ts';
import type { RecountMetrics } from '../observe/metrics.ts';
import type { Alerter } from '../observe/alerts/alerter.ts';

/** What the dashboard reads and acts on. */
export interface DashboardContext {
  readonly project: Project;
  readonly store: StateStore;
  /** Served on /metrics when present. */
  readonly metrics?: RecountMetrics;
  /** Resolving alerts from the alerts page tells the sinks through it. */
  readonly alerter?: Alerter;
  /** Ask the daemon to look at its queue now (after an action queued work). */
  readonly kick?: () => void;
  /** Lag per analyzer in seconds as the daemon's observer last computed it (computed on demand otherwise). */
  readonly lag?: () => ReadonlyMap<string, number>;
}

/** Per-request values a page needs. */
export interface PageContext {
  /** Nonce of this response's inline scripts (Content-Security-Policy). */
  readonly nonce: string;
  /** CSRF token for forms. */
  readonly csrf: string;
  readonly flash?: { kind: 'ok' | 'error'; text: string };
  /** Open alerts, for the badge in the top bar. */
  readonly openAlerts: number;
  /** Whether any of them is critical (the badge turns red). */
  readonly critical: boolean;
}
