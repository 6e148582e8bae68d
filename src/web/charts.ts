import { escapeHtml, raw, type Html } from './html.ts';
import { duration } from './format.ts';
import { STATE_STYLE, statusColor, type PartitionState } from './states.ts';

// Small inline SVG charts: no library, no script, crisp at any zoom. Every label goes through escapeHtml.

const e = escapeHtml;
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Round numbers for an axis from 0 to at least `max`. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

/** A line of recent values (e.g. attempt durations) with its last point marked. */
export function sparkline(
  values: readonly number[],
  opts: { width?: number; height?: number; color?: string; title?: string } = {},
): Html {
  const w = opts.width ?? 120;
  const h = opts.height ?? 26;
  if (values.length === 0) return raw(`<svg width="${w}" height="${h}" role="img" aria-label="no data"></svg>`);
  const max = Math.max(...values, 1e-9);
  const step = values.length > 1 ? (w - 4) / (values.length - 1) : 0;
  const pts = values.map((v, i) => `${f1(2 + i * step)},${f1(h - 3 - (v / max) * (h - 6))}`);
  const last = pts.at(-1)!.split(',');
  const color = opts.color ?? '#3e7be6';
  return raw(
    `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${e(opts.title ?? 'trend')}"><title>${e(opts.title ?? '')}</title>` +
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round" points="${pts.join(' ')}"/>` +
      `<circle cx="${last[0]}" cy="${last[1]}" r="2.5" fill="${color}"/></svg>`,
  );
}

/** The last partitions of an analyzer as a strip of coloured cells, oldest left. */
export function stateStrip(
  cells: readonly { id: string; state: PartitionState }[],
  opts: { cell?: number } = {},
): Html {
  const c = opts.cell ?? 7;
  const w = Math.max(1, cells.length) * (c + 1);
  const rects = cells.map(
    (x, i) =>
      `<rect x="${i * (c + 1)}" y="0" width="${c}" height="${c * 2}" rx="1" fill="${STATE_STYLE[x.state].color}"><title>${e(`${x.id}: ${STATE_STYLE[x.state].label}`)}</title></rect>`,
  );
  return raw(
    `<svg width="${w}" height="${c * 2}" viewBox="0 0 ${w} ${c * 2}" role="img" aria-label="recent partitions">${rects.join('')}</svg>`,
  );
}

/** Attempt durations as bars coloured by outcome, oldest left, with a y axis. */
export function durationBars(
  attempts: readonly { id: string; label: string; ms: number; status: string }[],
  opts: { width?: number; height?: number } = {},
): Html {
  const W = opts.width ?? 900;
  const H = opts.height ?? 160;
  const left = 56;
  const bottom = 18;
  const top = 8;
  const max = Math.max(1, ...attempts.map((a) => a.ms));
  const ticks = niceTicks(max / 1000, 3);
  const ymax = ticks.at(-1)! * 1000;
  const plotW = W - left - 8;
  const bw = Math.max(2, Math.min(24, plotW / Math.max(attempts.length, 1) - 2));
  const y = (ms: number) => top + (H - top - bottom) * (1 - ms / ymax);
  let s = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="attempt durations">`;
  for (const t of ticks)
    s += `<line x1="${left}" x2="${W - 8}" y1="${f1(y(t * 1000))}" y2="${f1(y(t * 1000))}" stroke="#e3e6eb"/><text x="${left - 6}" y="${f1(y(t * 1000) + 4)}" font-size="11" text-anchor="end" fill="#5d6778">${e(duration(t * 1000))}</text>`;
  attempts.forEach((a, i) => {
    const x = left + 4 + i * (bw + 2);
    const yy = y(a.ms);
    s += `<rect x="${f1(x)}" y="${f1(yy)}" width="${f1(bw)}" height="${f1(Math.max(1, H - bottom - yy))}" rx="1.5" fill="${statusColor(a.status)}"><title>${e(`${a.label}: ${a.status}, ${duration(a.ms)}`)}</title></rect>`;
  });
  s += `<text x="${left}" y="${H - 4}" font-size="11" fill="#5d6778">older</text><text x="${W - 8}" y="${H - 4}" font-size="11" text-anchor="end" fill="#5d6778">newer</text></svg>`;
  return raw(s);
}

/** An attempt on the partition's timeline. */
export interface TimelineItem {
  readonly id: string;
  readonly label: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly status: string;
}

/**
 * Attempts of a partition left to right, oldest first, each bar as wide as its duration and coloured by
 * outcome; the idle time between attempts (backoff, hours until a rerun) is a labelled break, so a retry a
 * day later does not squeeze every bar into a sliver.
 */
export function timeline(items: readonly TimelineItem[], opts: { width?: number } = {}): Html {
  if (items.length === 0) return raw('');
  const W = opts.width ?? 900;
  const H = 62;
  const sorted = [...items].sort((a, b) => a.startMs - b.startMs);
  const n = sorted.length;
  const gapW = Math.max(14, Math.min(70, (W * 0.35) / Math.max(1, n - 1)));
  const minBar = 6;
  const barSpace = W - 8 - gapW * (n - 1);
  const total = sorted.reduce((s, it) => s + Math.max(1, it.endMs - it.startMs), 0);
  const widths = sorted.map((it) =>
    Math.max(minBar, (barSpace - minBar * n) * (Math.max(1, it.endMs - it.startMs) / total) + minBar),
  );
  const scale = barSpace / widths.reduce((a, b) => a + b, 0);
  let x = 4;
  let s = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="attempts timeline">`;
  sorted.forEach((it, i) => {
    const w = widths[i]! * Math.min(1, scale);
    const ms = it.endMs - it.startMs;
    s += `<rect x="${f1(x)}" y="8" width="${f1(w)}" height="22" rx="3" fill="${statusColor(it.status)}"><title>${e(`${it.label} ${it.id}: started ${new Date(it.startMs).toISOString().replace('T', ' ').slice(0, 19)} UTC, ${duration(ms)}`)}</title></rect>`;
    const text = w > 110 ? `${it.label} · ${duration(ms)}` : w > 34 ? it.label.split(' ')[0]! : '';
    if (text) s += `<text x="${f1(x + 5)}" y="23" font-size="11" fill="#fff">${e(text)}</text>`;
    if (w > 70 || n <= 8)
      s += `<text x="${f1(x)}" y="46" font-size="10.5" fill="#5d6778">${e(new Date(it.startMs).toISOString().slice(11, 19))}</text>`;
    x += w;
    const next = sorted[i + 1];
    if (next) {
      const idle = next.startMs - it.endMs;
      s += `<line x1="${f1(x + 2)}" x2="${f1(x + gapW - 2)}" y1="19" y2="19" stroke="#b8bec9" stroke-dasharray="2 3"/>`;
      if (gapW >= 40)
        s += `<text x="${f1(x + gapW / 2)}" y="${H - 4}" font-size="10" text-anchor="middle" fill="#8a94a6">${e(idle > 0 ? `+${duration(idle)}` : 'overlap')}</text>`;
      x += gapW;
    }
  });
  return raw(`${s}</svg>`);
}

/** Alerts raised per hour over the last `hours`, stacked by severity (critical on the bottom), newest right. */
export function alertHistogram(
  alerts: readonly { first_at: string; severity: string }[],
  opts: { now?: number; hours?: number; width?: number; height?: number } = {},
): Html {
  const hours = opts.hours ?? 48;
  const W = opts.width ?? 900;
  const H = opts.height ?? 110;
  const left = 34;
  const bottom = 18;
  const now = opts.now ?? Date.now();
  const end = Math.ceil(now / 3_600_000) * 3_600_000;
  const buckets = Array.from({ length: hours }, () => ({ critical: 0, warning: 0 }));
  for (const a of alerts) {
    const i = hours - 1 - Math.floor((end - 1 - Date.parse(a.first_at)) / 3_600_000);
    if (i >= 0 && i < hours) buckets[i]![a.severity === 'critical' ? 'critical' : 'warning']++;
  }
  const max = Math.max(1, ...buckets.map((b) => b.critical + b.warning));
  const ticks = niceTicks(max, 2).filter((t) => Number.isInteger(t));
  const ymax = ticks.at(-1)!;
  const bw = (W - left - 6) / hours;
  const y = (v: number) => 6 + (H - 6 - bottom) * (1 - v / ymax);
  let s = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="alerts raised per hour">`;
  for (const t of ticks)
    s += `<line x1="${left}" x2="${W - 6}" y1="${f1(y(t))}" y2="${f1(y(t))}" stroke="#eceef2"/><text x="${left - 6}" y="${f1(y(t) + 4)}" font-size="11" text-anchor="end" fill="#5d6778">${t}</text>`;
  buckets.forEach((b, i) => {
    const x = left + i * bw + 1;
    const label = new Date(end - (hours - i) * 3_600_000).toISOString().slice(5, 13).replace('T', ' ') + ':00';
    if (b.critical)
      s += `<rect x="${f1(x)}" y="${f1(y(b.critical))}" width="${f1(bw - 2)}" height="${f1(y(0) - y(b.critical))}" fill="${STATE_STYLE.failed.color}"><title>${e(`${label}: ${b.critical} critical`)}</title></rect>`;
    if (b.warning)
      s += `<rect x="${f1(x)}" y="${f1(y(b.critical + b.warning))}" width="${f1(bw - 2)}" height="${f1(y(b.critical) - y(b.critical + b.warning))}" fill="${STATE_STYLE.stale_failed.color}"><title>${e(`${label}: ${b.warning} warning`)}</title></rect>`;
  });
  s += `<text x="${left}" y="${H - 4}" font-size="11" fill="#5d6778">${hours} h ago</text><text x="${W - 6}" y="${H - 4}" font-size="11" text-anchor="end" fill="#5d6778">now (UTC hours)</text></svg>`;
  return raw(s);
}
