import type { DashboardContext, PageContext } from '../context.ts';
import { ago, when } from '../format.ts';
import { html } from '../html.ts';
import { alertHistogram } from '../charts.ts';
import { STATE_STYLE } from '../states.ts';
import { actionForm, badge, layout } from './layout.ts';

/** Alerts, open first: what, where, how often, since when; resolve by hand. */
export async function alertsPage(ctx: DashboardContext, pc: PageContext, filter: { status?: 'open' | 'resolved'; analyzer?: string }): Promise<string> {
  const alerts = await ctx.store.observe.alerts.list({ status: filter.status, analyzer: filter.analyzer, limit: 500 });
  const recent = await ctx.store.observe.alerts.list({ analyzer: filter.analyzer, limit: 2000 });
  const tab = (label: string, status: 'open' | 'resolved' | 'all') => {
    const q = new URLSearchParams();
    if (status !== 'open') q.set('status', status);
    if (filter.analyzer) q.set('analyzer', filter.analyzer);
    const on = (filter.status ?? 'all') === status;
    return html`<a href="/alerts${q.size ? `?${q}` : ''}" class="btn" style="${on ? 'background:#1d2330;color:#fff;border-color:#1d2330' : ''}">${label}</a> `;
  };
  const rows = alerts.map((a) => {
    const color = a.status === 'resolved' ? '#8a94a6' : a.severity === 'critical' ? STATE_STYLE.failed.color : STATE_STYLE.stale_failed.color;
    const where = a.analyzer
      ? html`<a href="/analyzers/${encodeURIComponent(a.analyzer)}">${a.analyzer}</a>${a.partition_id ? html` <a class="mono" href="/analyzers/${encodeURIComponent(a.analyzer)}/partitions/${encodeURIComponent(a.partition_id)}">${a.partition_id}</a>` : ''}`
      : html`<span class="muted">–</span>`;
    return html`<tr data-alert="${a.id}" data-kind="${a.kind}"><td>${badge(a.status === 'resolved' ? 'resolved' : a.severity, color)}</td><td><b>${shortTitle(a.title, a.analyzer, a.partition_id)}</b><div class="muted">${a.kind.replace('_', ' ')}${a.resolution ? ` · ${a.resolution}` : ''}</div>${a.detail ? html`<details><summary class="muted">details</summary><pre>${a.detail}</pre></details>` : ''}</td><td class="nowrap">${where}</td><td class="num">${a.count}×</td><td class="nowrap" title="${when(a.first_at)}">${ago(a.first_at)}</td><td class="nowrap" title="${when(a.last_at)}">${ago(a.last_at)}</td><td>${a.status === 'open' ? actionForm(pc, '/actions/resolve-alert', { id: Number(a.id) }, 'Resolve') : html`<span class="muted">${ago(a.resolved_at)}</span>`}</td></tr>`;
  });
  const body = html`<h1>Alerts</h1><div class="sub">Failed checks, runs that failed for good, out-of-memory kills, memory past ${Math.round(ctx.project.config.alerts.memoryWarn * 100)}% / ${Math.round(ctx.project.config.alerts.memoryCritical * 100)}% of a budget, lag and failed loads. One alert per cause while it is open; it resolves itself when the cause is gone.${filter.analyzer ? html` Showing <b>${filter.analyzer}</b> only (<a href="/alerts">all</a>).` : ''}</div>
<div class="chart" style="margin-bottom:14px">${alertHistogram(recent)}</div>
<p>${tab('Open', 'open')}${tab('Resolved', 'resolved')}${tab('All', 'all')}</p>
${alerts.length ? html`<table><thead><tr><th>severity</th><th>alert</th><th>where</th><th class="num">raised</th><th>first</th><th>last</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="muted">No alerts${filter.status ? ` ${filter.status}` : ''}.</p>`}`;
  return layout(pc, 'Alerts', 'alerts', body);
}

// The where column names the analyzer and partition already: drop them from the front of the title.
function shortTitle(title: string, analyzer: string | null, partition: string | null): string {
  const prefix = [analyzer, partition].filter(Boolean).join(' ') + ': ';
  return analyzer && title.startsWith(prefix) ? title.slice(prefix.length).replace(/^./, (c) => c.toUpperCase()) : title;
}
