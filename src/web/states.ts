/** A partition's state as the dashboard shows it. */
export type PartitionState =
  | 'published'
  | 'held'
  | 'stale_failed'
  | 'failed'
  | 'running'
  | 'queued'
  | 'missing'
  | 'none';

/** One-letter codes of states, for the grid's compact payload (one character per partition). */
export const STATE_CODE: Record<PartitionState, string> = {
  published: 'p',
  held: 'h',
  stale_failed: 'o',
  failed: 'f',
  running: 'r',
  queued: 'q',
  missing: 'm',
  none: '.',
};

/** Labels and colours of partition and attempt states (colour-blind-safe enough: hue and lightness both differ). */
export const STATE_STYLE: Record<PartitionState, { label: string; color: string }> = {
  published: { label: 'published', color: '#2f9e62' },
  held: { label: 'held by a rollback', color: '#7b5cc4' },
  stale_failed: { label: 'last run failed (older version published)', color: '#e8912d' },
  failed: { label: 'failed', color: '#d9414e' },
  running: { label: 'running', color: '#3e7be6' },
  queued: { label: 'queued', color: '#9db7ef' },
  missing: { label: 'not run yet', color: '#c3c8d1' },
  none: { label: 'no input', color: '#eef0f3' },
};

/** Colour of an attempt or version status. */
export function statusColor(status: string): string {
  switch (status) {
    case 'succeeded':
    case 'published':
    case 'loaded':
      return STATE_STYLE.published.color;
    case 'failed':
    case 'crashed':
    case 'oom':
      return STATE_STYLE.failed.color;
    case 'running':
    case 'publishing':
    case 'pending':
      return STATE_STYLE.running.color;
    case 'superseded':
    case 'replaced':
    case 'retained':
      return '#8a94a6';
    default:
      return '#b8bec9';
  }
}
