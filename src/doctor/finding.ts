/** How bad a doctor finding is: a problem makes `recount doctor` exit 1. */
export type FindingStatus = 'ok' | 'info' | 'warning' | 'problem';

/** One thing `recount doctor` checked, and what it found. */
export interface Finding {
  /** The check's name: config, compile, lint, disk, interrupted-publish, version-files-missing, engine-bug, ... */
  readonly check: string;
  readonly status: FindingStatus;
  /** The thing at fault: an analyzer file, a partition, a folder, an engine version. */
  readonly subject?: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
  readonly details?: Record<string, unknown>;
}
