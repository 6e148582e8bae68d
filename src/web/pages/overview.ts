import type { Analyzer } from '../../config/project.ts';
import { maskUrl } from '../../config/secrets.ts';
import { analyzerLag } from '../../scheduler/lag.ts';
import type { AttemptRow } from '../../state/types.ts';
import { durationBars, sparkline, stateStrip } from '../charts.ts';
import type { DashboardContext, PageContext } from '../context.ts';
import { ago, between, count, duration, lag as lagText } from '../format.ts';
import { partitionCells } from '../grid.ts';
import { html, type Html } from '../html.ts';
import { statusColor, STATE_STYLE } from '../states.ts';
import { badge, layout } from './layout.ts';

/** Where an analyzer stands, for its badge. */
type Health = { label: string; color: string };

/** Lag per analyzer: the observer's cached figures, or computed now. */
export async function lagOf(ctx: DashboardContext, a: Analyzer): Promise<number> {
  const cached = ctx.lag?.().get(a.name);
  return cached ?? (await analyzerLag(ctx.project, ctx.store, a)).seconds;
}

/** The analyzers overview: tiles, one row per analyzer (state, lag, last run, open alerts, recent partitions and durations), recent attempts. */
export async function overviewPage(ctx: DashboardContext, pc: PageContext): Promise<string> {
  const { project, store } = ctx;
  const [alertCounts, queueCounts, recent] = await Promise.all([
    store.observe.alerts.openCounts(),
    store.observe.reads.queueCounts(),
    store.listAttempts({ limit: 40 }),
  ]);
  const openBy = (name: string, sev?: string) =>
    alertCounts.filter((c) => c.analyzer === name && (!sev || c.severity === sev)).reduce((s, c) => s + c.n, 0);
  const totalOpen = alertCounts.reduce((s, c) => s + c.n, 0);
  const critical = alertCounts.filter((c) => c.severity === 'critical').reduce((s, c) => s + c.n, 0);
  const queued = queueCounts.filter((q) => q.state === 'queued').reduce((s, q) => s + q.n, 0);
  const running = queueCounts.filter((q) => q.state === 'running').reduce((s, q) => s + q.n, 0);
  let failingTotal = 0;
  const rows: Html[] = [];
  for (const a of project.analyzers.values()) {
    const [cells, attempts, lagSeconds] = await Promise.all([
      partitionCells(project, store, a),
      store.listAttempts({ analyzer: a.name, limit: 30 }),
      lagOf(ctx, a),
    ]);
    const failing = cells.filter((c) => c.state === 'failed' || c.state === 'stale_failed').length;
    failingTotal += failing;
    const published = cells.filter((c) => c.state === 'published' || c.state === 'stale_failed').length;
    const runningHere = cells.filter((c) => c.state === 'running').length;
    const threshold = a.lagAlertSeconds ?? project.config.alerts.lagSeconds;
    const health: Health =
      failing > 0
        ? { label: `${failing} failing`, color: STATE_STYLE.failed.color }
        : runningHere > 0
          ? { label: 'running', color: STATE_STYLE.running.color }
          : threshold !== undefined && lagSeconds > threshold
            ? { label: 'lagging', color: STATE_STYLE.stale_failed.color }
            : attempts.length === 0
              ? { label: 'not run yet', color: '#8a94a6' }
              : { label: 'healthy', color: STATE_STYLE.published.color };
    const last = attempts[0];
    const durations = attempts
      .filter((x) => x.finished_at)
      .reverse()
      .map((x) => between(x.started_at, x.finished_at) / 1000);
    const open = openBy(a.name);
    rows.push(html`<tr>
<td><a href="/analyzers/${encodeURIComponent(a.name)}"><b>${a.name}</b></a><div class="muted">${a.grain} · reads ${a.inputs.join(', ')}</div></td>
<td>${badge(health.label, health.color)}</td>
<td>${lagText(lagSeconds)}</td>
<td>${last ? html`<span class="dot" style="background:${statusColor(last.status)}"></span>${last.status} <span class="muted">${ago(last.started_at)}</span><div class="muted mono">${last.partition_id}</div>` : html`<span class="muted">never</span>`}</td>
<td class="num">${count(published)} <span class="muted">/ ${count(cells.length)}</span></td>
<td class="num">${open ? html`<a href="/alerts?analyzer=${encodeURIComponent(a.name)}">${badge(String(open), openBy(a.name, 'critical') ? STATE_STYLE.failed.color : STATE_STYLE.stale_failed.color)}</a>` : html`<span class="muted">0</span>`}</td>
<td>${stateStrip(cells.slice(-48))}</td>
<td>${sparkline(durations, { title: 'duration of the last attempts (s)' })}</td>
</tr>`);
  }
  const tile = (n: number | string, label: string, cls = '') =>
    html`<div class="card tile ${cls}"><div class="n">${n}</div><div class="l">${label}</div></div>`;
  const body = html`<h1>Analyzers</h1><div class="sub">${project.analyzers.size} analyzers over ${[...project.datasets.values()].filter((d) => !d.producer).length} input dataset${[...project.datasets.values()].filter((d) => !d.producer).length === 1 ? '' : 's'} · state store <span class="mono">${maskUrl(project.stateUrl)}</span></div>
<div class="tiles">${tile(running, 'running now', running ? '' : '')}${tile(queued, 'queued')}${tile(failingTotal, 'failing partitions', failingTotal ? 'bad' : 'good')}${tile(totalOpen, `open alerts${critical ? ` (${critical} critical)` : ''}`, critical ? 'bad' : totalOpen ? 'warn' : 'good')}</div>
<table style="margin-top:12px"><thead><tr><th>analyzer</th><th>state</th><th>lag</th><th>last run</th><th class="num">published</th><th class="num">alerts</th><th>last 48 partitions</th><th>durations</th></tr></thead><tbody>${rows}</tbody></table>
${recentAttempts(recent)}`;
  return layout(pc, 'Analyzers', 'overview', body, { refreshSeconds: running || queued ? 5 : undefined });
}

function recentAttempts(recent: readonly AttemptRow[]): Html {
  if (recent.length === 0) return html`<h2>Recent attempts</h2><p class="muted">Nothing has run yet.</p>`;
  const chart = [...recent].reverse().map((x) => ({
    id: x.attempt_id,
    label: `${x.analyzer} ${x.partition_id}`,
    ms: between(x.started_at, x.finished_at),
    status: x.status,
  }));
  const rows = recent
    .slice(0, 12)
    .map(
      (x) =>
        html`<tr><td><span class="dot" style="background:${statusColor(x.status)}"></span>${x.status}</td><td><a href="/analyzers/${encodeURIComponent(x.analyzer)}">${x.analyzer}</a></td><td><a class="mono" href="/analyzers/${encodeURIComponent(x.analyzer)}/partitions/${encodeURIComponent(x.partition_id)}">${x.partition_id}</a></td><td>${ago(x.started_at)}</td><td class="num">${duration(between(x.started_at, x.finished_at))}</td><td class="num">${count(x.rows)}</td><td class="error">${x.error_code ?? ''}</td></tr>`,
    );
  return html`<h2>Recent attempts</h2><div class="chart">${durationBars(chart, { height: 130 })}</div>
<table style="margin-top:12px"><thead><tr><th>status</th><th>analyzer</th><th>partition</th><th>started</th><th class="num">duration</th><th class="num">rows</th><th>error</th></tr></thead><tbody>${rows}</tbody></table>`;
}
