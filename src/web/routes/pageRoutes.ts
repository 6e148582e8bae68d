import { parsePartition } from '../../catalog/partition.ts';
import { RecountError } from '../../errors.ts';
import type { DashboardContext, PageContext } from '../context.ts';
import { escapeHtml } from '../html.ts';
import { type AlertsView, alertsPage } from '../pages/alerts.ts';
import { analyzerPage } from '../pages/analyzer.ts';
import { overviewPage } from '../pages/overview.ts';
import { partitionPage } from '../pages/partition.ts';

/** One page of the dashboard: the paths it answers, and its HTML (undefined: no such page after all, a 404). */
interface PageRoute {
  readonly path: RegExp;
  render(ctx: DashboardContext, pc: PageContext, match: RegExpExecArray, url: URL): Promise<string | undefined>;
}

const PAGE_ROUTES: readonly PageRoute[] = [
  { path: /^\/$/, render: (ctx, pc) => overviewPage(ctx, pc) },
  { path: /^\/alerts$/, render: (ctx, pc, _match, url) => alertsPage(ctx, pc, alertsView(url)) },
  {
    path: /^\/analyzers\/([^/]+)$/,
    render: async (ctx, pc, match) => {
      const a = ctx.project.analyzers.get(decodeURIComponent(match[1]!));
      return a && analyzerPage(ctx, pc, a);
    },
  },
  {
    path: /^\/analyzers\/([^/]+)\/partitions\/([^/]+)$/,
    render: async (ctx, pc, match) => {
      const a = ctx.project.analyzers.get(decodeURIComponent(match[1]!));
      if (!a) return undefined;
      try {
        return await partitionPage(ctx, pc, a, parsePartition(decodeURIComponent(match[2]!), a.grain));
      } catch (err) {
        if (err instanceof RecountError && err.code === 'PARTITION_INVALID') return undefined;
        throw err;
      }
    },
  },
];

/** The page at `path`, or undefined when there is none. */
export async function renderPage(
  ctx: DashboardContext,
  pc: PageContext,
  path: string,
  url: URL,
): Promise<string | undefined> {
  for (const route of PAGE_ROUTES) {
    const match = route.path.exec(path);
    if (match) return route.render(ctx, pc, match, url);
  }
  return undefined;
}

/** The alerts page's filter from its query string (open alerts, page 1 by default). */
function alertsView(url: URL): AlertsView {
  const status = url.searchParams.get('status');
  const page = Number(url.searchParams.get('page') ?? 1);
  return {
    status: status === 'all' ? undefined : status === 'resolved' ? 'resolved' : 'open',
    analyzer: url.searchParams.get('analyzer') ?? undefined,
    kind: url.searchParams.get('kind') ?? undefined,
    page: Number.isInteger(page) && page > 0 ? page : 1,
  };
}

/** The page of a path that is none of the dashboard's. */
export function notFoundPage(path: string): string {
  return `<!doctype html><meta charset="utf-8"><title>not found · recount</title><body style="font:14px system-ui;padding:40px"><h1>Not found</h1><p>${escapeHtml(path)} is not a page of this dashboard (an unknown analyzer or a malformed partition id?).</p><p><a href="/">Back to the analyzers</a></p></body>`;
}
