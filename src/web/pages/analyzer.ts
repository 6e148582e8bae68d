import type { Analyzer } from '../../config/project.ts';
import { durationBars } from '../charts.ts';
import type { DashboardContext, PageContext } from '../context.ts';
import { ago, between, count, lag as lagText } from '../format.ts';
import { gridPayload, gridSection, partitionCells, stateCounts } from '../grid.ts';
import { html } from '../html.ts';
import { STATE_STYLE } from '../states.ts';
import { actionForm, badge, layout } from './layout.ts';
import { lagOf } from './overview.ts';

/** One analyzer: its partition grid (a year of hours on one screen), backfill, recent durations, failing partitions. */
export async function analyzerPage(ctx: DashboardContext, pc: PageContext, a: Analyzer): Promise<string> {
  const [cells, attempts, lagSeconds, alerts] = await Promise.all([
    partitionCells(ctx.project, ctx.store, a),
    ctx.store.listAttempts({ analyzer: a.name, limit: 80 }),
    lagOf(ctx, a),
    ctx.store.observe.alerts.list({ status: 'open', analyzer: a.name, limit: 50 }),
  ]);
  const base = `/analyzers/${encodeURIComponent(a.name)}/partitions/`;
  const counts = stateCounts(cells);
  const failing = cells
    .filter((c) => c.state === 'failed' || c.state === 'stale_failed')
    .reverse()
    .slice(0, 20);
  const active = (counts.get('running') ?? 0) + (counts.get('queued') ?? 0);
  const chart = attempts
    .filter((x) => x.finished_at)
    .reverse()
    .map((x) => ({
      id: x.attempt_id,
      label: x.partition_id,
      ms: between(x.started_at, x.finished_at),
      status: x.status,
    }));
  const first = cells[0]?.id ?? '';
  const last = cells.at(-1)?.id ?? '';
  const body = html`<div class="crumbs"><a href="/">Analyzers</a> /</div>
<h1>${a.name}</h1><div class="sub">${a.description ?? ''} ${a.description ? '·' : ''} ${a.grain} partitions · reads ${a.inputs.join(', ')} · ${a.fileCount === 'auto' ? 'auto' : a.fileCount} files · lag: <b>${lagText(lagSeconds)}</b>${alerts.length ? html` · <a href="/alerts?analyzer=${encodeURIComponent(a.name)}">${badge(`${alerts.length} open alert${alerts.length === 1 ? '' : 's'}`, alerts.some((x) => x.severity === 'critical') ? STATE_STYLE.failed.color : STATE_STYLE.stale_failed.color)}</a>` : ''}</div>
<h2>Partitions ${cells.length ? html`<span class="muted">${first} → ${last} · click a cell to open it</span>` : ''}</h2>
${cells.length ? gridSection(gridPayload(a.grain, cells, base), counts, pc.nonce) : html`<p class="muted">No input partitions found yet under ${a.inputs.join(', ')}.</p>`}
<div class="row" style="margin-top:18px">
<div class="grow"><h2>Recent attempts</h2>${chart.length ? html`<div class="chart">${durationBars(chart, { width: 560, height: 190 })}</div>` : html`<p class="muted">Nothing has run yet.</p>`}</div>
<div style="min-width:320px"><h2>Backfill a range</h2><div class="card">
<form method="post" action="/actions/backfill"><input type="hidden" name="_csrf" value="${pc.csrf}"><input type="hidden" name="analyzer" value="${a.name}">
<div class="kv"><label class="k" for="from">from</label><input type="text" id="from" name="from" value="${first}" class="mono"><label class="k" for="to">to</label><input type="text" id="to" name="to" value="${last}" class="mono">
<span></span><label><input type="checkbox" name="force" value="1"> rerun partitions already up to date</label></div>
<p class="muted" style="margin:8px 0">Queues every partition in the range whose inputs are ready; <code>recount serve</code> runs them with retries.</p>
<button type="submit" class="primary">Queue backfill</button></form></div></div></div>
<h2>Failing partitions</h2>${
    failing.length
      ? html`<table><thead><tr><th>partition</th><th>state</th><th></th></tr></thead><tbody>${failing.map((c) => html`<tr><td><a class="mono" href="${base}${encodeURIComponent(c.id)}">${c.id}</a></td><td>${badge(STATE_STYLE[c.state].label, STATE_STYLE[c.state].color)}</td><td>${actionForm(pc, '/actions/rerun', { analyzer: a.name, partition: c.id }, 'Rerun')}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">None.</p>`
  }
<h2>Definition</h2><details class="card"><summary>SQL and settings</summary><pre class="mono">${a.sql.trim()}</pre>
<div class="kv"><span class="k">keys</span><span class="mono">${a.keys?.join(', ') ?? 'inferred'}</span><span class="k">memory budget</span><span>${count(Math.round(a.memoryBytes / 1e6))} MB</span><span class="k">threads</span><span>${a.threadCount}</span><span class="k">checks</span><span>${a.checks.map((c) => c.name).join(', ') || 'built-in only'}</span><span class="k">file</span><span class="mono">${a.file}</span><span class="k">last attempt</span><span>${ago(attempts[0]?.started_at)}</span></div></details>`;
  return layout(pc, a.name, 'overview', body, { refreshSeconds: active ? 4 : undefined });
}
