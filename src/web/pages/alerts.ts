import type { DashboardContext, PageContext } from '../context.ts';
import { ago, when } from '../format.ts';
import { html } from '../html.ts';
import { alertHistogram } from '../charts.ts';
import { STATE_STYLE } from '../states.ts';
import { actionForm, badge, layout } from './layout.ts';

/** Alerts a page shows at most. */
export const ALERTS_PER_PAGE = 50;

/** What the alerts page lists: a status tab, an analyzer, a kind, a page (1-based). */
export interface AlertsView {
  readonly status?: 'open' | 'resolved';
  readonly analyzer?: string;
  readonly kind?: string;
  readonly page?: number;
}

/** The address of an alerts view (`status` 'all' shows both). */
function alertsHref(v: Omit<AlertsView, 'status'> & { status?: 'open' | 'resolved' | 'all' }): string {
  const q = new URLSearchParams();
  if (v.status !== undefined && v.status !== 'open') q.set('status', v.status);
  if (v.analyzer) q.set('analyzer', v.analyzer);
  if (v.kind) q.set('kind', v.kind);
  if (v.page && v.page > 1) q.set('page', String(v.page));
  return `/alerts${q.size ? `?${q}` : ''}`;
}

/** Alerts, newest first, by status tab, kind and page: what, where, how often, since when; resolve by hand. */
export async function alertsPage(ctx: DashboardContext, pc: PageContext, filter: AlertsView): Promise<string> {
  const byKind = await ctx.store.observe.alerts.countByKind({ status: filter.status, analyzer: filter.analyzer });
  const total = filter.kind
    ? (byKind.find((k) => k.kind === filter.kind)?.n ?? 0)
    : byKind.reduce((s, k) => s + k.n, 0);
  const pages = Math.max(1, Math.ceil(total / ALERTS_PER_PAGE));
  const page = Math.min(Math.max(1, filter.page ?? 1), pages);
  const alerts = await ctx.store.observe.alerts.list({
    status: filter.status,
    analyzer: filter.analyzer,
    kind: filter.kind,
    limit: ALERTS_PER_PAGE,
    offset: (page - 1) * ALERTS_PER_PAGE,
  });
  const recent = await ctx.store.observe.alerts.list({ analyzer: filter.analyzer, limit: 2000 });
  const statusNow = filter.status ?? 'all';
  const on = 'background:#1d2330;color:#fff;border-color:#1d2330';
  const tab = (label: string, status: 'open' | 'resolved' | 'all') =>
    html`<a href="${alertsHref({ status, analyzer: filter.analyzer, kind: filter.kind })}" class="btn" style="${statusNow === status ? on : ''}">${label}</a> `;
  const kindChip = (kind: string | undefined, label: string, n: number) =>
    html`<a href="${alertsHref({ status: statusNow, analyzer: filter.analyzer, kind })}" class="btn" data-kind-filter="${kind ?? 'all'}" style="${filter.kind === kind ? on : ''}">${label} <span class="muted">${n}</span></a> `;
  const chips =
    byKind.length > 1 || filter.kind
      ? html`<p>${kindChip(
          undefined,
          'every kind',
          byKind.reduce((s, k) => s + k.n, 0),
        )}${byKind.map((k) => kindChip(k.kind, k.kind.replace('_', ' '), k.n))}</p>`
      : '';
  const first = total === 0 ? 0 : (page - 1) * ALERTS_PER_PAGE + 1;
  const pager =
    pages > 1
      ? html`<p class="muted" data-pager>${first}–${first + alerts.length - 1} of ${total} · ${page > 1 ? html`<a href="${alertsHref({ ...filter, status: statusNow, page: page - 1 })}">‹ newer</a>` : 'newer'} · page ${page} of ${pages} · ${page < pages ? html`<a href="${alertsHref({ ...filter, status: statusNow, page: page + 1 })}">older ›</a>` : 'older'}</p>`
      : '';
  const rows = alerts.map((a) => {
    const color =
      a.status === 'resolved'
        ? '#8a94a6'
        : a.severity === 'critical'
          ? STATE_STYLE.failed.color
          : STATE_STYLE.stale_failed.color;
    const where = a.analyzer
      ? html`<a href="/analyzers/${encodeURIComponent(a.analyzer)}">${a.analyzer}</a>${a.partition_id ? html` <a class="mono" href="/analyzers/${encodeURIComponent(a.analyzer)}/partitions/${encodeURIComponent(a.partition_id)}">${a.partition_id}</a>` : ''}`
      : html`<span class="muted">–</span>`;
    return html`<tr data-alert="${a.id}" data-kind="${a.kind}"><td>${badge(a.status === 'resolved' ? 'resolved' : a.severity, color)}</td><td><b>${shortTitle(a.title, a.analyzer, a.partition_id)}</b><div class="muted">${a.kind.replace('_', ' ')}${a.resolution ? ` · ${a.resolution}` : ''}</div>${a.detail ? html`<details><summary class="muted">details</summary><pre>${a.detail}</pre></details>` : ''}</td><td class="nowrap">${where}</td><td class="num">${a.count}×</td><td class="nowrap" title="${when(a.first_at)}">${ago(a.first_at)}</td><td class="nowrap" title="${when(a.last_at)}">${ago(a.last_at)}</td><td>${a.status === 'open' ? actionForm(pc, '/actions/resolve-alert', { id: Number(a.id) }, 'Resolve') : html`<span class="muted">${ago(a.resolved_at)}</span>`}</td></tr>`;
  });
  const body = html`<h1>Alerts</h1><div class="sub">Failed checks, runs that failed for good, out-of-memory kills, memory past ${Math.round(ctx.project.config.alerts.memoryWarn * 100)}% / ${Math.round(ctx.project.config.alerts.memoryCritical * 100)}% of a budget, lag and failed loads. One alert per cause while it is open; it resolves itself when the cause is gone.${filter.analyzer ? html` Showing <b>${filter.analyzer}</b> only (<a href="/alerts">all</a>).` : ''}</div>
<div class="chart" style="margin-bottom:14px">${alertHistogram(recent)}</div>
<p>${tab('Open', 'open')}${tab('Resolved', 'resolved')}${tab('All', 'all')}</p>
${chips}${pager}
${alerts.length ? html`<table><thead><tr><th>severity</th><th>alert</th><th>where</th><th class="num">raised</th><th>first</th><th>last</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="muted">No alerts${filter.status ? ` ${filter.status}` : ''}${filter.kind ? ` of kind ${filter.kind}` : ''}.</p>`}
${pager}`;
  return layout(pc, 'Alerts', 'alerts', body);
}

// The where column names the analyzer and partition already: drop them from the front of the title.
function shortTitle(title: string, analyzer: string | null, partition: string | null): string {
  const prefix = [analyzer, partition].filter(Boolean).join(' ') + ': ';
  return analyzer && title.startsWith(prefix)
    ? title.slice(prefix.length).replace(/^./, (c) => c.toUpperCase())
    : title;
}
