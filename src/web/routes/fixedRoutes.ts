import type { ServerResponse } from 'node:http';
import type { DashboardContext } from '../context.ts';
import { send, TEXT } from '../http.ts';

// A partition-grid favicon: four cells, three green, one red.
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="7" height="7" fill="#2f9e62"/><rect x="9" width="7" height="7" fill="#2f9e62"/><rect y="9" width="7" height="7" fill="#2f9e62"/><rect x="9" y="9" width="7" height="7" fill="#d9414e"/></svg>';

/** A GET answered without a page around it (no session flash, no alert badge). */
type FixedRoute = (ctx: DashboardContext, res: ServerResponse) => void | Promise<void>;

/** The GET paths that are not pages: Prometheus metrics, a health probe, the favicon. */
export const FIXED_ROUTES: ReadonlyMap<string, FixedRoute> = new Map<string, FixedRoute>([
  [
    '/metrics',
    async (ctx, res) => {
      if (!ctx.metrics) return send(res, 404, TEXT, 'no metrics here\n');
      send(res, 200, ctx.metrics.contentType, await ctx.metrics.render());
    },
  ],
  ['/healthz', (_ctx, res) => send(res, 200, TEXT, 'ok\n')],
  ['/favicon.ico', (_ctx, res) => send(res, 200, 'image/svg+xml', FAVICON)],
]);
