import { isFailedStatus } from '../state/types.ts';
import type { Analyzer, Project } from '../config/project.ts';
import { formatPartitionId, parsePartition } from '../catalog/partition.ts';
import { candidatePartitions } from '../scheduler/discovery.ts';
import type { StateStore } from '../state/store.ts';
import { html, jsonScript, raw, type Html } from './html.ts';
import { STATE_CODE, STATE_STYLE, type PartitionState } from './states.ts';

/** One cell of the partition grid. */
export interface GridCell {
  readonly id: string;
  readonly state: PartitionState;
}

/** The grid's payload: the first partition and one state letter per partition from there on, consecutive. */
export interface GridPayload {
  readonly grain: 'hour' | 'day';
  readonly first: string;
  readonly states: string;
  readonly base: string;
  readonly colors: Record<string, string>;
  readonly labels: Record<string, string>;
}

/** Most partitions the grid shows (the newest ones): a bit over a year of hours. */
export const GRID_MAX_CELLS = 400 * 24;

const STEP = { hour: 3_600_000, day: 86_400_000 } as const;

/**
 * Every partition of an analyzer from its first to its last known one (input on disk, or anything in the
 * store), with its state: three queries and one directory scan, whatever the number of partitions.
 */
export async function partitionCells(project: Project, store: StateStore, a: Analyzer): Promise<GridCell[]> {
  const [parts, latest, queue] = await Promise.all([
    store.listPartitions(a.name),
    store.observe.reads.latestAttempts(a.name),
    store.observe.reads.activeQueue(a.name),
  ]);
  const published = new Set(parts.filter((p) => p.published_seq !== null).map((p) => p.partition_id));
  const held = new Set(parts.filter((p) => p.held_seq != null).map((p) => p.partition_id));
  const onDisk = new Set(candidatePartitions(project, a, new Date(0)).map((p) => p.id));
  const ids = [...onDisk, ...parts.map((p) => p.partition_id), ...latest.keys(), ...queue.keys()].filter((id) => {
    try {
      parsePartition(id, a.grain);
      return true;
    } catch {
      return false;
    }
  });
  if (ids.length === 0) return [];
  ids.sort();
  const step = STEP[a.grain];
  const last = parsePartition(ids.at(-1)!, a.grain).start.getTime();
  const first = Math.max(parsePartition(ids[0]!, a.grain).start.getTime(), last - (GRID_MAX_CELLS - 1) * step);
  const cells: GridCell[] = [];
  for (let t = first; t <= last; t += step) {
    const id = formatPartitionId(new Date(t), a.grain);
    cells.push({
      id,
      state: stateOf(published.has(id), latest.get(id)?.status, queue.get(id), onDisk.has(id), held.has(id)),
    });
  }
  return cells;
}

function stateOf(
  published: boolean,
  last: string | undefined,
  queued: 'queued' | 'running' | undefined,
  onDisk: boolean,
  held = false,
): PartitionState {
  if (queued === 'running' || last === 'running') return 'running';
  if (queued === 'queued') return 'queued';
  if (isFailedStatus(last)) return published ? 'stale_failed' : 'failed';
  if (published) return held ? 'held' : 'published';
  return onDisk ? 'missing' : 'none';
}

/** Encode cells for the page (one character each). */
export function gridPayload(grain: 'hour' | 'day', cells: readonly GridCell[], base: string): GridPayload {
  const colors: Record<string, string> = {};
  const labels: Record<string, string> = {};
  for (const [state, code] of Object.entries(STATE_CODE)) {
    colors[code] = STATE_STYLE[state as PartitionState].color;
    labels[code] = STATE_STYLE[state as PartitionState].label;
  }
  return {
    grain,
    first: cells[0]?.id ?? '',
    states: cells.map((c) => STATE_CODE[c.state]).join(''),
    base,
    colors,
    labels,
  };
}

/** Counts per state, for the legend. */
export function stateCounts(cells: readonly GridCell[]): Map<PartitionState, number> {
  const m = new Map<PartitionState, number>();
  for (const c of cells) m.set(c.state, (m.get(c.state) ?? 0) + 1);
  return m;
}

/** The grid: a legend, one canvas drawn by a small script from the compact payload, and a tooltip. */
export function gridSection(payload: GridPayload, counts: Map<PartitionState, number>, nonce: string): Html {
  const legend = (Object.keys(STATE_STYLE) as PartitionState[]).map(
    (s) =>
      html`<span><i style="background:${STATE_STYLE[s].color}${s === 'none' ? ';outline:1px solid #d5d9e0' : ''}"></i>${STATE_STYLE[s].label} <b>${(counts.get(s) ?? 0).toLocaleString('en-US')}</b></span>`,
  );
  return html`<div class="legend">${legend}</div>
<div class="card gridwrap" id="gridwrap"><canvas id="grid" data-cells="${payload.states.length}" aria-label="partition grid: ${payload.states.length} partitions"></canvas><div class="gridtip" id="gridtip"></div></div>
<script type="application/json" id="griddata">${jsonScript(payload)}</script>
<script nonce="${nonce}">${raw(GRID_SCRIPT)}</script>`;
}

// Drawn in the browser: months (hour grain) or years (day grain) as panels, days as rows and hours as columns
// (months as rows and days as columns). One canvas, so a year of hourly partitions is 8,760 fillRect calls.
const GRID_SCRIPT = `(() => {
  const data = JSON.parse(document.getElementById('griddata').textContent);
  const canvas = document.getElementById('grid'), tip = document.getElementById('gridtip'), wrap = document.getElementById('gridwrap');
  if (!data.states.length) { canvas.height = 0; return; }
  const HOUR = 3600000, DAY = 86400000, hourly = data.grain === 'hour';
  const t0 = Date.parse(hourly ? data.first.slice(0, 10) + 'T' + data.first.slice(11, 13) + ':00:00Z' : data.first + 'T00:00:00Z');
  const step = hourly ? HOUR : DAY, n = data.states.length;
  const pad = (x) => String(x).padStart(2, '0');
  const idAt = (i) => { const d = new Date(t0 + i * step); const day = d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()); return hourly ? day + 'T' + pad(d.getUTCHours()) : day; };
  const days = hourly ? Math.ceil((n + new Date(t0).getUTCHours()) / 24) : n;
  // Cells shrink with the range so a year of hours (12 month panels, 4 a row) stays about one laptop screen.
  const cw = hourly ? (days <= 7 ? 30 : days <= 62 ? 16 : 8) : 15, ch = hourly ? (days <= 7 ? 22 : days <= 62 ? 13 : 6) : 15;
  const cols = hourly ? 24 : 31, labelW = hourly ? 46 : 40, headH = 30, gap = 1, panelGap = 22;
  const MONTHS = ['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];
  // Panels: one per month (hourly) or year (daily); rows: the days (months) of it that are in range.
  const panels = [], where = new Array(n);
  for (let i = 0; i < n; i++) {
    const d = new Date(t0 + i * step);
    const key = hourly ? d.getUTCFullYear() * 12 + d.getUTCMonth() : d.getUTCFullYear();
    let p = panels[panels.length - 1];
    if (!p || p.key !== key) { p = { key, title: hourly ? MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear() : String(d.getUTCFullYear()), rows: [], rowOf: {} }; panels.push(p); }
    const rk = hourly ? d.getUTCDate() : d.getUTCMonth();
    if (!(rk in p.rowOf)) { p.rowOf[rk] = p.rows.length; p.rows.push(hourly ? pad(d.getUTCDate()) + ' ' + ['Sun','Mon','Tue','Wed','Thu','Fri','Sat'][d.getUTCDay()] : MONTHS[d.getUTCMonth()]); }
    where[i] = { p: panels.length - 1, row: p.rowOf[rk], col: hourly ? d.getUTCHours() : d.getUTCDate() - 1 };
  }
  const panelW = labelW + cols * (cw + gap), avail = Math.max(panelW, wrap.clientWidth - 32);
  const perRow = Math.max(1, Math.floor((avail + panelGap) / (panelW + panelGap)));
  let y = 0, rowH = 0;
  panels.forEach((p, k) => {
    if (k % perRow === 0 && k > 0) { y += rowH + panelGap; rowH = 0; }
    p.x = (k % perRow) * (panelW + panelGap); p.y = y; p.h = headH + p.rows.length * (ch + gap); rowH = Math.max(rowH, p.h);
  });
  const W = Math.min(avail, perRow * (panelW + panelGap) - panelGap) + 10, H = y + rowH, dpr = window.devicePixelRatio || 1;
  canvas.width = W * dpr; canvas.height = H * dpr; canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
  const g = canvas.getContext('2d'); g.scale(dpr, dpr);
  g.font = '11px system-ui, sans-serif'; g.textBaseline = 'middle';
  for (const p of panels) {
    g.fillStyle = '#1d2330'; g.font = '600 12px system-ui, sans-serif'; g.textAlign = 'left'; g.fillText(p.title, p.x, p.y + 8);
    g.font = '10.5px system-ui, sans-serif'; g.fillStyle = '#5d6778';
    if (hourly) { g.textAlign = 'center'; for (const h of [0, 6, 12, 18, 23]) g.fillText(String(h), p.x + labelW + h * (cw + gap) + cw / 2, p.y + 22); }
    else { g.textAlign = 'center'; for (const dd of [1, 10, 20, 31]) g.fillText(String(dd), p.x + labelW + (dd - 1) * (cw + gap) + cw / 2, p.y + 22); }
    g.textAlign = 'right';
    const every = ch < 8 ? 3 : p.rows.length > 20 && ch < 11 ? 2 : 1;
    p.rows.forEach((r, i) => { if (i % every === 0) g.fillText(r, p.x + labelW - 6, p.y + headH + i * (ch + gap) + ch / 2); });
  }
  const rect = (i) => { const w = where[i], p = panels[w.p]; return [p.x + labelW + w.col * (cw + gap), p.y + headH + w.row * (ch + gap)]; };
  for (let i = 0; i < n; i++) { const [x, yy] = rect(i); g.fillStyle = data.colors[data.states[i]] || '#eee'; g.fillRect(x, yy, cw, ch); }
  const cellAt = (mx, my) => { for (let i = 0; i < n; i++) { const [x, yy] = rect(i); if (mx >= x && mx < x + cw && my >= yy && my < yy + ch) return i; } return -1; };
  canvas.addEventListener('mousemove', (ev) => {
    const b = canvas.getBoundingClientRect(), i = cellAt(ev.clientX - b.left, ev.clientY - b.top);
    canvas.style.cursor = i >= 0 ? 'pointer' : 'default';
    if (i < 0) { tip.style.display = 'none'; return; }
    tip.textContent = idAt(i) + ' — ' + data.labels[data.states[i]];
    tip.style.display = 'block'; tip.style.left = (ev.clientX - wrap.getBoundingClientRect().left + wrap.scrollLeft + 12) + 'px'; tip.style.top = (ev.clientY - wrap.getBoundingClientRect().top + 12) + 'px';
  });
  canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  canvas.addEventListener('click', (ev) => { const b = canvas.getBoundingClientRect(), i = cellAt(ev.clientX - b.left, ev.clientY - b.top); if (i >= 0) location.href = data.base + encodeURIComponent(idAt(i)); });
  // For tests and deep links: where a partition's cell is, in page coordinates.
  window.recountGrid = { cells: n, cellCenter(id) { for (let i = 0; i < n; i++) if (idAt(i) === id) { const [x, yy] = rect(i), b = canvas.getBoundingClientRect(); return { x: b.left + window.scrollX + x + cw / 2, y: b.top + window.scrollY + yy + ch / 2 }; } return null; } };
})();`;
