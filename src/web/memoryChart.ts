import { escapeHtml, raw, type Html } from './html.ts';
import { niceTicks } from './charts.ts';

// An attempt's memory over time as an inline SVG: the worker's RSS against its budget for a DuckDB attempt, the
// Spark executors' memory against their max for a Spark attempt. Every label goes through escapeHtml.

const e = escapeHtml;
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();
const MB = (b: number) => `${Math.round(b / 1e6)} MB`;

/** One point of an attempt's memory chart. */
export interface MemoryPoint {
  readonly atMs: number;
  readonly rss: number;
  readonly heap: number;
  readonly external: number;
  readonly duckdb: number | null;
  readonly spill: number | null;
  /** A Spark attempt's executors, summed: storage in use (on and off heap), peak execution memory, and their max. */
  readonly sparkStorage?: number | null;
  readonly sparkExecution?: number | null;
  readonly sparkMax?: number | null;
}

/** Settings of an attempt's memory chart. */
export interface MemoryChartOptions {
  readonly budget?: number | null;
  readonly warnShare: number;
  readonly criticalShare: number;
  readonly startMs?: number;
  readonly endMs?: number;
  readonly peakRss?: number | null;
  readonly width?: number;
  readonly height?: number;
}

/** A line of the chart: its value at a point (null: not sampled then). */
interface Series {
  readonly label: string;
  readonly color: string;
  readonly value: (p: MemoryPoint) => number | null;
  readonly dash?: string;
  readonly bold?: boolean;
}

/** A horizontal line (a budget, a share of it, a peak) with its label. */
interface Reference {
  readonly bytes: number;
  readonly label: string;
  readonly color: string;
  readonly dash: string;
  readonly align: 'start' | 'middle' | 'end';
}

/** What one kind of attempt draws: its lines, the area under the first, and its horizontal references. */
interface ChartSpec {
  readonly kind: 'worker' | 'spark';
  readonly label: string;
  readonly series: readonly Series[];
  readonly references: readonly Reference[];
}

const positive = (v: number | null | undefined) => (v != null && v > 0 ? v : null);

const WORKER_SERIES: readonly Series[] = [
  { label: 'RSS', color: '#3e7be6', value: (p) => p.rss, bold: true },
  { label: 'DuckDB memory', color: '#e8912d', value: (p) => p.duckdb },
  { label: 'V8 heap', color: '#8e5bd6', value: (p) => positive(p.heap) },
  { label: 'external', color: '#2bb3a3', value: (p) => positive(p.external) },
  { label: 'spilled to disk', color: '#d9414e', value: (p) => p.spill, dash: '4 3' },
];

/** Memory in use as the executor alerts measure it: storage plus peak execution memory. */
function sparkInUse(p: MemoryPoint): number | null {
  return p.sparkMax ? (p.sparkStorage ?? 0) + (p.sparkExecution ?? 0) : null;
}

const SPARK_SERIES: readonly Series[] = [
  { label: 'Spark executors in use', color: '#3e7be6', value: sparkInUse, bold: true },
  { label: 'peak execution', color: '#e8912d', value: (p) => (p.sparkMax ? (p.sparkExecution ?? 0) : null) },
  { label: 'storage', color: '#2bb3a3', value: (p) => (p.sparkMax ? (p.sparkStorage ?? 0) : null) },
];

/** Budget-like lines: the limit itself (labelled left) and the critical and warning shares of it (labelled right). */
function shareLines(limit: number, name: string, o: MemoryChartOptions): Reference[] {
  if (!(limit > 0)) return [];
  const pct = (s: number) => Math.round(s * 100);
  return [
    { bytes: limit, label: name, color: '#1d2330', dash: '6 4', align: 'start' },
    {
      bytes: limit * o.criticalShare,
      label: `critical ${pct(o.criticalShare)}%`,
      color: '#d9414e',
      dash: '6 4',
      align: 'end',
    },
    { bytes: limit * o.warnShare, label: `warning ${pct(o.warnShare)}%`, color: '#e8912d', dash: '6 4', align: 'end' },
  ];
}

/** A Spark attempt (its samples carry the executors' max) is drawn against the executors; any other against the worker's budget. */
function chartSpec(points: readonly MemoryPoint[], o: MemoryChartOptions): ChartSpec {
  const sparkMax = Math.max(0, ...points.map((p) => p.sparkMax ?? 0));
  if (sparkMax > 0)
    return {
      kind: 'spark',
      label: "Spark executors' memory against their max",
      series: SPARK_SERIES,
      references: shareLines(sparkMax, `executors' max ${MB(sparkMax)}`, o),
    };
  // The attempt's recorded peak (sampled every 20 ms in the worker): what a 250 ms sample may miss.
  const peak: Reference[] = o.peakRss
    ? [{ bytes: o.peakRss, label: `peak RSS ${MB(o.peakRss)}`, color: '#3e7be6', dash: '2 3', align: 'middle' }]
    : [];
  return {
    kind: 'worker',
    label: 'worker memory against its budget',
    series: WORKER_SERIES,
    references: [...shareLines(o.budget ?? 0, 'budget', o), ...peak],
  };
}

/** Why there is no chart: samples still to come, or none kept. */
function noSamples(o: MemoryChartOptions): Html {
  const peak = o.peakRss
    ? ` Its peak RSS was <b>${e(MB(o.peakRss))}</b>${o.budget ? e(` (${Math.round((100 * o.peakRss) / o.budget)}% of its budget)`) : ''}.`
    : '';
  const recent = o.endMs !== undefined && Date.now() - o.endMs < 10_000;
  return raw(
    `<p class="muted">${recent ? 'Memory samples are stored every 2 s: reload in a moment for the chart.' : 'No memory samples were kept for this attempt (it ran outside <code>recount serve</code>, or finished between two samples).'}${peak}</p>`,
  );
}

/** Where things go on the chart. */
interface Frame {
  readonly W: number;
  readonly H: number;
  readonly left: number;
  readonly right: number;
  readonly bottom: number;
  readonly t0: number;
  readonly t1: number;
  readonly ticks: readonly number[];
  readonly x: (t: number) => number;
  readonly y: (b: number) => number;
}

function frameOf(points: readonly MemoryPoint[], spec: ChartSpec, o: MemoryChartOptions): Frame {
  const [W, H, left, right, top, bottom] = [o.width ?? 900, o.height ?? 230, 62, 12, 10, 40];
  // The axis spans the attempt (samples arrive every 250 ms, so a short attempt has few of them), at least 100 ms.
  const t0 = Math.min(points[0]!.atMs, o.startMs ?? Infinity);
  const t1 = Math.max(points.at(-1)!.atMs, o.endMs ?? 0, t0 + 100);
  const values = points.flatMap((p) => spec.series.map((s) => s.value(p) ?? 0));
  const top1 = Math.max(...values, ...spec.references.map((r) => r.bytes));
  // Headroom over the highest line, so its label is never cut by the chart's top edge.
  const ticks = niceTicks((top1 * 1.08) / 1e6, 4);
  const ymax = ticks.at(-1)! * 1e6;
  return {
    ...{ W, H, left, right, bottom, t0, t1, ticks },
    x: (t) => left + ((W - left - right) * (t - t0)) / (t1 - t0),
    y: (b) => top + (H - top - bottom) * (1 - b / ymax),
  };
}

function axes(f: Frame): string {
  let s = '';
  for (const t of f.ticks)
    s += `<line x1="${f.left}" x2="${f.W - f.right}" y1="${f1(f.y(t * 1e6))}" y2="${f1(f.y(t * 1e6))}" stroke="#eceef2"/><text x="${f.left - 6}" y="${f1(f.y(t * 1e6) + 4)}" font-size="11" text-anchor="end" fill="#5d6778">${t} MB</text>`;
  const secs = (f.t1 - f.t0) / 1000;
  for (const t of niceTicks(secs, 5)) {
    if (t > secs * 1.001) break;
    if (secs < 2 && t !== 0 && t * 10 !== Math.round(t * 10)) continue;
    const xx = f1(f.x(f.t0 + t * 1000));
    s += `<line x1="${xx}" x2="${xx}" y1="${f.H - f.bottom}" y2="${f.H - f.bottom + 4}" stroke="#8a94a6"/><text x="${xx}" y="${f.H - f.bottom + 15}" font-size="11" text-anchor="middle" fill="#5d6778">${t} s</text>`;
  }
  return s;
}

function references(f: Frame, refs: readonly Reference[]): string {
  let s = '';
  for (const r of refs) {
    const yy = f1(f.y(r.bytes));
    const tx = r.align === 'start' ? f.left + 4 : r.align === 'end' ? f.W - f.right - 4 : (f.left + f.W - f.right) / 2;
    s += `<line x1="${f.left}" x2="${f.W - f.right}" y1="${yy}" y2="${yy}" stroke="${r.color}" stroke-dasharray="${r.dash}" stroke-opacity=".7"/><text x="${tx}" y="${Number(yy) - 4}" font-size="10.5" text-anchor="${r.align}" fill="${r.color}">${e(r.label)}</text>`;
  }
  return s;
}

function lines(f: Frame, points: readonly MemoryPoint[], spec: ChartSpec): string {
  let s = '';
  const main = points.filter((p) => spec.series[0]!.value(p) !== null);
  if (main.length > 1)
    s += `<polygon fill="#3e7be6" fill-opacity=".10" points="${f1(f.x(main[0]!.atMs))},${f1(f.y(0))} ${main.map((p) => `${f1(f.x(p.atMs))},${f1(f.y(spec.series[0]!.value(p)!))}`).join(' ')} ${f1(f.x(main.at(-1)!.atMs))},${f1(f.y(0))}"/>`;
  for (const series of spec.series) {
    const pts = points.flatMap((p) => {
      const v = series.value(p);
      return v === null ? [] : [{ atMs: p.atMs, v }];
    });
    if (pts.every((p) => !p.v)) continue;
    s += `<polyline fill="none" stroke="${series.color}" stroke-width="${series.bold ? 2 : 1.5}"${series.dash ? ` stroke-dasharray="${series.dash}"` : ''} stroke-linejoin="round" points="${pts.map((p) => `${f1(f.x(p.atMs))},${f1(f.y(p.v))}`).join(' ')}"/>`;
    // Few samples (a short attempt): mark each, so a single one is still seen.
    if (pts.length <= 40)
      for (const p of pts)
        s += `<circle cx="${f1(f.x(p.atMs))}" cy="${f1(f.y(p.v))}" r="2.5" fill="${series.color}"><title>${e(`${series.label} ${MB(p.v)} at +${((p.atMs - f.t0) / 1000).toFixed(2)} s`)}</title></circle>`;
  }
  return s;
}

function legend(f: Frame, series: readonly Series[]): string {
  let s = '';
  let lx = f.left;
  for (const x of series) {
    s += `<rect x="${lx}" y="${f.H - 13}" width="14" height="3" fill="${x.color}"/><text x="${lx + 18}" y="${f.H - 8}" font-size="11" fill="#3b4353">${e(x.label)}</text>`;
    lx += 40 + x.label.length * 6.6;
  }
  return s;
}

/**
 * An attempt's memory over time: the worker's (RSS, DuckDB, V8 heap, spill) against its budget, or for a Spark
 * attempt its executors' (in use, peak execution, storage) against their max; with the warning and critical shares.
 */
export function memoryChart(points: readonly MemoryPoint[], opts: MemoryChartOptions): Html {
  if (points.length === 0) return noSamples(opts);
  const spec = chartSpec(points, opts);
  const f = frameOf(points, spec, opts);
  const body = axes(f) + references(f, spec.references) + lines(f, points, spec) + legend(f, spec.series);
  return raw(
    `<svg viewBox="0 0 ${f.W} ${f.H}" role="img" aria-label="memory over time" data-memory="${spec.kind}"><title>${e(spec.label)}</title>${body}</svg>`,
  );
}
