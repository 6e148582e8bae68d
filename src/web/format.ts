import { formatBytes } from '../config/size.ts';

/** Bytes for people, '–' when unknown. */
export function bytes(n: number | string | null | undefined): string {
  return n === null || n === undefined ? '–' : formatBytes(Number(n));
}

/** A count with thousands separators, '–' when unknown. */
export function count(n: number | string | null | undefined): string {
  return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
}

/** A duration for people: 850 ms, 12.3 s, 4 min 10 s, 2.5 h. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A lag in seconds for people. */
export function lag(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  if (seconds === 0) return 'caught up';
  return seconds >= 3600
    ? `${(seconds / 3600).toFixed(1)} h behind`
    : `${Math.max(1, Math.round(seconds / 60))} min behind`;
}

/** How long ago an ISO instant was: 'just now', '5 min ago', '3 h ago', '2 d ago'. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${(s / 3600).toFixed(s < 36_000 ? 1 : 0)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** An ISO instant as 'YYYY-MM-DD HH:MM:SS' UTC (partitions are UTC, so the dashboard is too). */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').slice(0, 19) : '–';
}

/** Milliseconds between two ISO instants (to now when the end is missing). */
export function between(start: string, end: string | null | undefined, now = Date.now()): number {
  return (end ? Date.parse(end) : now) - Date.parse(start);
}
