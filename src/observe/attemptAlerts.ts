import type { AttemptEvent } from '../scheduler/daemon.ts';
import type { AlertInput } from '../state/alert.ts';
import type { AttemptTable, CheckResultRow } from '../state/types.ts';

/** Where an attempt's alerts live: `<analyzer>/<partition>`, the middle of their keys. */
function placeOf(e: AttemptEvent): string {
  return `${e.analyzer}/${e.partition}`;
}

/** Key prefix of the check alerts of the attempt's partition (one alert per failing check). */
export function checkAlertPrefix(e: AttemptEvent): string {
  return `check:${placeOf(e)}/`;
}

/** Key of the out-of-memory alert of the attempt's partition. */
export function oomAlertKey(e: AttemptEvent): string {
  return `oom:${placeOf(e)}`;
}

/** Key of the failed-for-good alert of the attempt's partition. */
export function failedAlertKey(e: AttemptEvent): string {
  return `failed:${placeOf(e)}`;
}

/** The alert of a check that failed in the attempt: critical when it blocked the publish (severity error). */
export function checkFailedAlert(e: AttemptEvent, c: CheckResultRow): AlertInput {
  const sample = JSON.parse(c.sample_json) as unknown[];
  return {
    kind: 'check_failed',
    severity: c.severity === 'error' ? 'critical' : 'warning',
    key: `${checkAlertPrefix(e)}${c.name}`,
    analyzer: e.analyzer,
    partition: e.partition,
    attemptId: e.attemptId,
    title: `${e.analyzer} ${e.partition}: check ${c.name} failed on ${Number(c.failing)} row${Number(c.failing) === 1 ? '' : 's'}${c.severity === 'error' ? ' (not published)' : ''}`,
    detail:
      [c.message, sample.length ? `sample: ${JSON.stringify(sample.slice(0, 3))}` : ''].filter(Boolean).join('\n') ||
      undefined,
  };
}

/** The alert of an attempt ended for memory: critical when no retry is left. */
export function oomAlert(e: AttemptEvent): AlertInput {
  return {
    kind: 'oom_kill',
    severity: e.final ? 'critical' : 'warning',
    key: oomAlertKey(e),
    analyzer: e.analyzer,
    partition: e.partition,
    attemptId: e.attemptId,
    title: `${e.analyzer} ${e.partition}: out of memory (${e.oomReason ?? 'rss'})${e.final ? ', no retries left' : ', retrying smaller'}`,
    detail: e.error,
  };
}

/** The alert of a partition whose last attempt failed with no retry left; the stored error and hint are its detail. */
export function failedForGoodAlert(e: AttemptEvent, row: AttemptTable | undefined): AlertInput {
  return {
    kind: 'attempt_failed',
    severity: 'critical',
    key: failedAlertKey(e),
    analyzer: e.analyzer,
    partition: e.partition,
    attemptId: e.attemptId,
    title: `${e.analyzer} ${e.partition}: failed for good [${e.errorCode ?? e.outcome}]`,
    detail: `${row?.error_message ?? e.error ?? ''}${row?.error_hint ? `\nhint: ${row.error_hint}` : ''}` || undefined,
  };
}
